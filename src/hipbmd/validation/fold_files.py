"""The files of a cross-validation folder that record its folds: ``splits.json`` and the reference CSVs.

The folder's layout and the driver that trains, estimates and evaluates each fold are in
:mod:`hipbmd.api.validate`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hipbmd.errors import InputError
from hipbmd.io.records import write_json, write_text_atomic
from hipbmd.validation.splits import Splits

PATH_COLUMNS = ("ct", "labels", "xray")


@dataclass(frozen=True)
class CrossvalRequest:
    """What ``hipbmd crossval`` was asked for, besides the split itself."""

    cohort: Path
    folder: Path
    config: Path | None = None
    samples: int = 8
    command: str | None = None


def record_splits(request: CrossvalRequest, splits: Splits) -> Path:
    """Write ``splits.json``, or check that the one already there holds the same splits."""
    path = request.folder / "splits.json"
    record = {
        **splits.to_dict(),
        "cohort": str(request.cohort.resolve()),
        "config": None if request.config is None else str(request.config),
        "command": request.command,
    }
    if path.is_file():
        try:
            saved = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise InputError(path, f"not a splits file ({error.__class__.__name__})") from None
        if {key: saved.get(key) for key in splits.to_dict()} != splits.to_dict():
            raise InputError(request.folder, "holds a cross-validation with other splits (use a new folder)")
        return path
    request.folder.mkdir(parents=True, exist_ok=True)
    return write_json(path, record)


def write_reference(
    path: Path, rows: Sequence[dict[str, str]], cohort: Path, fold_of: dict[str, str]
) -> Path:
    """The manifest rows with absolute paths, the radiograph repeated as ``file``, and each case's fold."""
    absolute = cohort.resolve()
    table = []
    for row in rows:
        entry = {**row, **{key: str(absolute / row[key]) for key in PATH_COLUMNS if row.get(key)}}
        table.append({**entry, "file": entry["xray"], "fold": fold_of[row["case_id"]]})
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(table[0]))
    writer.writeheader()
    writer.writerows(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, text.getvalue())
