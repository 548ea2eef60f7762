"""Reading the two tables ``hipbmd evaluate`` compares: the estimates and the reference DXA.

* Estimates: ``results.csv`` of ``hipbmd estimate``, read through
  :class:`~hipbmd.bmd.results_table.ResultRow`; needed columns
  :data:`~hipbmd.bmd.results_table.REQUIRED_COLUMNS`. A row with an ``error`` is a radiograph that
  could not be read; a row with an empty ``abmd_g_cm2`` is a withheld estimate; a row without ``roi``
  a hip not measured.
* Reference: a simulated cohort's ``manifest.csv`` or a user's CSV, one row per index hip, with
  ``file`` (or ``xray``, the radiograph, relative to the CSV's folder), ``side`` and at least one
  ``dxa_<roi>_g_cm2``; optionally ``case_id``, ``site``, ``sex``, ``age`` and ``dxa_<roi>_yam_percent``.

Any problem (unreadable file, missing column, a value that is not a number) is an
:class:`~hipbmd.errors.InputError` naming the file, the line and the column.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from hipbmd.bmd.results_table import REQUIRED_COLUMNS, CellReader, ResultRow
from hipbmd.errors import InputError
from hipbmd.femur.roi import ROI_NAMES

SIDES = ("right", "left")
# A guard against a reference written in mg/cm² (or as a T-score), not a clinical range.
PLAUSIBLE_DXA_G_CM2 = (0.05, 3.0)
SEX_NAMES = {"f": "F", "female": "F", "w": "F", "m": "M", "male": "M"}


@dataclass(frozen=True)
class ReferenceCase:
    """One row of the reference: the index hip of a case and its DXA aBMD (g/cm²) per ROI."""

    line: int
    file: str
    side: str
    dxa_g_cm2: Mapping[str, float]
    yam_percent: Mapping[str, float]
    case_id: str | None = None
    site: str | None = None
    sex: str | None = None
    age_years: float | None = None

    @property
    def name(self) -> str:
        """The case id, else the file and side."""
        return self.case_id or f"{self.file} ({self.side})"


@dataclass(frozen=True)
class ResultsTable:
    """The rows of a results file."""

    path: Path
    rows: tuple[ResultRow, ...]


@dataclass(frozen=True)
class ReferenceTable:
    """The rows of a reference file, the ROIs it has DXA columns for and its optional columns."""

    path: Path
    cases: tuple[ReferenceCase, ...]
    rois: tuple[str, ...]
    columns: tuple[str, ...]


def read_results(path: Path) -> ResultsTable:
    """The rows of a ``results.csv`` (module docstring)."""
    fields, rows = _read_csv(path)
    _require(path, fields, REQUIRED_COLUMNS, "a results.csv of 'hipbmd estimate'")
    estimates = []
    for line, row in rows:
        try:
            estimates.append(ResultRow.from_csv(row, line))
        except ValueError as error:
            raise InputError(path, f"line {line}: {error}") from None
    return ResultsTable(path, tuple(estimates))


def read_reference(path: Path) -> ReferenceTable:
    """The rows of a reference CSV (module docstring)."""
    fields, rows = _read_csv(path)
    file_column = "file" if "file" in fields else "xray"
    _require(path, fields, (file_column, "side"), "a reference needs file (or xray) and side")
    rois = tuple(roi for roi in ROI_NAMES if f"dxa_{roi}_g_cm2" in fields)
    if not rois:
        wanted = ", ".join(f"dxa_{roi}_g_cm2" for roi in ROI_NAMES)
        raise InputError(path, f"no DXA column (one of {wanted})")
    cases = [_reference_case(path, line, row, file_column, rois) for line, row in rows]
    seen: dict[tuple[str, str], int] = {}
    for case in cases:
        earlier = seen.setdefault((case.file, case.side), case.line)
        if earlier != case.line:
            raise InputError(path, f"line {case.line}: {case.file} {case.side} repeats line {earlier}")
    return ReferenceTable(path, tuple(cases), rois, tuple(fields))


def _reference_case(
    path: Path, line: int, row: Mapping[str, str | None], file_column: str, rois: tuple[str, ...]
) -> ReferenceCase:
    cells = _Cells(path, line, row)
    file = cells.text(file_column)
    side = (cells.text("side") or "").lower()
    if not file:
        raise InputError(path, f"line {line}: {file_column} is empty")
    if side not in SIDES:
        raise InputError(path, f"line {line}: side must be right or left, not {side!r}")
    dxa: dict[str, float] = {}
    for roi in rois:
        value = cells.number(f"dxa_{roi}_g_cm2")
        low, high = PLAUSIBLE_DXA_G_CM2
        if value is not None and not low <= value <= high:
            raise InputError(path, f"line {line}: dxa_{roi}_g_cm2 = {value:g} is not in g/cm2")
        if value is not None:
            dxa[roi] = value
    yam = {roi: v for roi in rois if (v := cells.number(f"dxa_{roi}_yam_percent")) is not None}
    sex = cells.text("sex")
    return ReferenceCase(
        line,
        file,
        side,
        MappingProxyType(dxa),
        MappingProxyType(yam),
        cells.text("case_id"),
        cells.text("site"),
        None if sex is None else SEX_NAMES.get(sex.lower(), sex),
        cells.number("age") if "age" in row else cells.number("age_years"),
    )


def _read_csv(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str | None]]]]:
    """Header names and (line number, row) pairs; InputError if the file cannot be read as CSV."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as stream:
            reader = csv.DictReader(stream)
            fields = [name.strip() for name in reader.fieldnames or []]
            reader.fieldnames = fields
            rows = [(reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(path, f"cannot read as CSV ({error})") from error
    if not fields:
        raise InputError(path, "empty file, no header row")
    for line, row in rows:
        if None in row:
            raise InputError(path, f"line {line} has more cells than the header")
    if not rows:
        raise InputError(path, "no rows below the header")
    return fields, rows


def _require(path: Path, fields: list[str], needed: tuple[str, ...], what: str) -> None:
    missing = [name for name in needed if name not in fields]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)} ({what})")


@dataclass(frozen=True)
class _Cells:
    """Typed access to the cells of one CSV row, with errors that name the file, line and column."""

    path: Path
    line: int
    row: Mapping[str, str | None]

    def text(self, column: str) -> str | None:
        value = (self.row.get(column) or "").strip()
        return value or None

    def number(self, column: str) -> float | None:
        try:
            return CellReader(self.row).number(column)
        except ValueError as error:
            raise InputError(self.path, f"line {self.line}: {error}") from None
