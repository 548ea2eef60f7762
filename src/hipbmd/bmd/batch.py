"""The per-file work of ``hipbmd estimate``: the inputs of a part, what is finished, one record per file.

Inputs, record names and parts: :mod:`hipbmd.bmd.batch_inputs`; what counts as finished (and is skipped
unless ``overwrite``): :func:`hipbmd.bmd.report.is_finished`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def named_inputs(
    inputs: Sequence[str | Path],
    manifest: str | Path | None,
    part: str | tuple[int, int] | None,
    output: Path,
) -> list[tuple[Path, str]]:
    """(path, record name) of the inputs of this part, sorted by path (:mod:`hipbmd.bmd.batch_inputs`)."""
    from hipbmd.bmd.batch_inputs import collect_inputs, parse_part, record_names, select_part

    chosen = parse_part(part) if isinstance(part, str) else part
    paths = collect_inputs([Path(p) for p in inputs], None if manifest is None else Path(manifest), output)
    if not paths:
        raise ValueError("no radiographs given: name files, folders or a --manifest")
    named = list(zip(paths, record_names(paths), strict=True))
    return named if chosen is None else select_part(named, chosen)


class Batch:
    """The per-file step of :func:`estimate`: skip what is finished, else estimate and write the record."""

    def __init__(
        self,
        folder: Path,
        model: Any,
        localiser: Any,
        yam: Any,
        spacing_mm: float | None,
        options: dict[str, Any],
        overwrite: bool,
    ) -> None:
        from hipbmd.bmd.report import read_records

        self.folder, self.model, self.localiser, self.yam = folder, model, localiser, yam
        self.spacing_mm, self.options, self.overwrite = spacing_mm, options, overwrite
        self.localiser_sha256 = localiser.manifest.get("weights", {}).get("sha256")
        existing = read_records(folder)
        self.by_source = {_same_file(record["source"]): (name, record) for name, record in existing}
        self.sources = {name: _same_file(record["source"]) for name, record in existing}

    def run(self, path: Path, name: str) -> tuple[dict[str, Any], str, str]:
        """(record, status, record name) of one input."""
        from hipbmd.bmd.batch_inputs import path_digest
        from hipbmd.bmd.report import is_finished

        key = _same_file(str(path))
        previous = self.by_source.get(key)
        if previous is not None and not self.overwrite:
            old_name, record = previous
            finished = is_finished(record, self.options, self.model.sha256, self.localiser_sha256)
            if finished and (self.folder / str(record.get("overlay"))).is_file():
                return record, "skipped", old_name
        if self.sources.get(name, key) != key:  # the name holds another file's record: keep both
            name = f"{name}-{path_digest(key)}"
        record = _estimate_one(
            path, name, self.folder, self.model, self.localiser, self.yam, self.spacing_mm, self.options
        )
        if previous is not None and previous[0] != name:  # the file's old record, under another name
            for suffix in (".json", ".png"):
                (self.folder / f"{previous[0]}{suffix}").unlink(missing_ok=True)
        return record, "failed" if "error" in record else "done", name


def _same_file(source: str) -> Path:
    """The path a record's source names, resolved, so that two spellings of one file compare equal."""
    return Path(source).resolve()


def _estimate_one(
    path: Path,
    stem: str,
    folder: Path,
    model: Any,
    localiser: Any,
    yam: Any,
    spacing_mm: float | None,
    options: dict[str, Any],
) -> dict[str, Any]:
    from hipbmd.bmd.estimate import EstimateSettings, estimate_hips
    from hipbmd.bmd.overlay import save_overlay
    from hipbmd.bmd.report import error_record, estimate_record
    from hipbmd.errors import InputError
    from hipbmd.io.magnification import magnification_of
    from hipbmd.io.radiograph import read_radiograph
    from hipbmd.io.records import write_json

    try:
        radiograph = read_radiograph(path, spacing_mm)
        settings = EstimateSettings(
            options["samples"], options["seed"], options["side"], options["center_mm"], yam
        )
        hips = estimate_hips(radiograph, model, localiser, settings)
    except (InputError, ValueError, OSError) as error:
        record = error_record(str(path), str(error))
        write_json(folder / f"{stem}.json", record)
        return record
    magnification = magnification_of(radiograph)[0]
    record = estimate_record(str(path), radiograph, hips, model, localiser, options, magnification)
    record["overlay"] = f"{stem}.png"
    save_overlay(
        folder / f"{stem}.png",
        radiograph,
        hips,
        model.grid,
        f"{path.name}: hipbmd {record['hipbmd_version']}",
    )
    write_json(folder / f"{stem}.json", record)
    return record
