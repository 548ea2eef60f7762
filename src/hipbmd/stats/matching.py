"""Pairing each reference hip with its estimates in ``results.csv``, on (radiograph, side).

A reference ``file`` is resolved against the reference CSV's folder. A results ``file`` (the path as
given to ``hipbmd estimate``) is tried against the results CSV's folder and the working directory.
When no resolved path is equal, the reference path is shortened to its fewest trailing parts that no
other reference file shares (``xray.dcm``, else ``case_00012/xray.dcm``, …) and matched to the one
results file ending in those parts; two or more candidates make the row ambiguous, not matched.

Every reference hip with a DXA value for a ROI becomes a :class:`Pair`; when the estimate is missing
the pair says why (:data:`WITHHELD_REASONS`) rather than being dropped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePath

from hipbmd.bmd.results_table import ResultRow
from hipbmd.errors import InputError
from hipbmd.stats.inputs import ReferenceCase, ReferenceTable, ResultsTable

WITHHELD_REASONS = {
    "withheld": "estimate withheld (empty abmd_g_cm2)",
    "not_measured": "hip found but not measured",
    "side_missing": "no estimate for the reference side",
    "file_error": "radiograph could not be read or measured",
    "refused": "radiograph outside the bounds hipbmd accepts (reason column)",
    "no_hip_found": "no femoral head found on the radiograph (reason column)",
}


@dataclass(frozen=True)
class Pair:
    """A reference hip's DXA aBMD of one ROI and its estimate (None with the reason when there is none)."""

    case: ReferenceCase
    roi: str
    reference_g_cm2: float
    estimate: ResultRow | None
    withheld: str | None

    @property
    def estimate_g_cm2(self) -> float | None:
        """The estimated aBMD (g/cm²), None when withheld."""
        return None if self.estimate is None else self.estimate.abmd_g_cm2


@dataclass(frozen=True)
class Matching:
    """The pairs, how their files were matched, and what was left unmatched."""

    pairs: tuple[Pair, ...]
    matched_by_path: int
    matched_by_name: int
    unmatched_reference: tuple[str, ...]
    ambiguous_reference: tuple[str, ...]
    unmatched_results: tuple[str, ...]


def match(results: ResultsTable, reference: ReferenceTable, cwd: Path | None = None) -> Matching:
    """Pair the reference with the results (module docstring).

    Raises:
        InputError: (naming the results file) when no reference hip finds its radiograph, or a hip's
            ROI is estimated twice.
    """
    rows_of: dict[str, list[ResultRow]] = {}
    for row in results.rows:
        rows_of.setdefault(row.file, []).append(row)
    files = [file for file in rows_of if file]
    finder = _Finder(files, results.path.parent, (cwd or Path.cwd()).resolve(), reference)
    pairs: list[Pair] = []
    how: dict[str, list[str]] = {"path": [], "name": [], "unmatched": [], "ambiguous": []}
    used: set[str] = set()
    for case in reference.cases:
        file, status = finder.find(case)
        how[status].append(case.name)
        if file is not None:
            used.add(file)
            pairs += [_pair(case, roi, v, rows_of[file], results.path) for roi, v in case.dxa_g_cm2.items()]
    if not used:
        problem = f"no row matches a radiograph of the reference {reference.path} (by path or name)"
        raise InputError(results.path, problem)
    left = tuple(sorted(set(files) - used))
    return Matching(
        tuple(pairs),
        len(how["path"]),
        len(how["name"]),
        tuple(how["unmatched"]),
        tuple(how["ambiguous"]),
        left,
    )


class _Finder:
    """Finds the results file of a reference hip: by resolved path, else by a unique tail."""

    def __init__(self, files: list[str], results_folder: Path, cwd: Path, reference: ReferenceTable) -> None:
        self.by_path: dict[Path, str] = {}
        for file in files:
            for candidate in _result_paths(file, results_folder, cwd):
                self.by_path.setdefault(candidate, file)
        self.folder = reference.path.parent
        paths = {_resolved(case.file, self.folder) for case in reference.cases}
        self.reference_parts = [path.parts for path in paths]
        self.result_parts = {file: _parts(file) for file in files}
        self.reference_tails: dict[int, Counter[tuple[str, ...]]] = {}
        self.result_tails: dict[int, dict[tuple[str, ...], list[str]]] = {}

    def find(self, case: ReferenceCase) -> tuple[str | None, str]:
        """The results file and how it was found ("path", "name"), or None and "unmatched"/"ambiguous"."""
        path = _resolved(case.file, self.folder)
        file = self.by_path.get(path)
        if file is not None:
            return file, "path"
        candidates = self._candidates(path.parts)
        if len(candidates) == 1:
            return candidates[0], "name"
        return None, "ambiguous" if candidates else "unmatched"

    def _candidates(self, parts: tuple[str, ...]) -> list[str]:
        """The results files ending in the shortest tail of ``parts`` no other reference path shares."""
        for length in range(1, len(parts) + 1):
            if length not in self.reference_tails:
                self._index_tails(length)
            if self.reference_tails[length][parts[-length:]] == 1:
                return self.result_tails[length].get(parts[-length:], [])
        return []

    def _index_tails(self, length: int) -> None:
        """Count the distinct reference paths and list the results files by their last ``length`` parts."""
        self.reference_tails[length] = Counter(parts[-length:] for parts in self.reference_parts)
        index: dict[tuple[str, ...], list[str]] = {}
        for file, parts in self.result_parts.items():
            if len(parts) >= length:
                index.setdefault(parts[-length:], []).append(file)
        self.result_tails[length] = index


def _pair(case: ReferenceCase, roi: str, dxa_g_cm2: float, rows: list[ResultRow], source: Path) -> Pair:
    """The pair of one ROI of a matched hip, with the reason when there is no estimate."""
    failed = next((row for row in rows if row.error or row.reason), None)
    if failed is not None:
        kind = failed.reason.split(":")[0] if failed.reason else "error"
        return Pair(case, roi, dxa_g_cm2, None, "file_error" if kind == "error" else kind)
    hip = [row for row in rows if row.side == case.side]
    if not hip:
        return Pair(case, roi, dxa_g_cm2, None, "side_missing")
    found = [row for row in hip if row.roi == roi]
    if len(found) > 1:
        lines = ", ".join(str(row.line) for row in found)
        problem = f"{found[0].file} {case.side} {roi} is estimated more than once (lines {lines})"
        raise InputError(source, problem)
    if not found:
        return Pair(case, roi, dxa_g_cm2, None, "not_measured")
    estimate = found[0]
    return Pair(case, roi, dxa_g_cm2, estimate, None if estimate.abmd_g_cm2 is not None else "withheld")


def withheld_counts(pairs: list[Pair]) -> dict[str, int]:
    """Reason → number of pairs without an estimate."""
    return dict(Counter(pair.withheld for pair in pairs if pair.withheld is not None))


def _parts(file: str) -> tuple[str, ...]:
    return PurePath(file.replace("\\", "/")).parts


def _resolved(file: str, folder: Path) -> Path:
    path = Path(file.replace("\\", "/"))
    return (path if path.is_absolute() else folder / path).resolve()


def _result_paths(file: str, folder: Path, cwd: Path) -> set[Path]:
    """A results file's candidate paths: against the results CSV's folder and the working directory."""
    return {_resolved(file, folder.resolve()), _resolved(file, cwd)}
