"""Small result files written whole or not at all: text and JSON via ``<name>.partial`` and a rename,
and the check that an output meant as NIfTI is named so."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any


def write_text_atomic(path: Path, text: str) -> Path:
    """Write via ``<name>.partial`` and a rename, so a reader never sees half a file."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)
    return path


def write_json(path: Path, record: dict[str, Any]) -> Path:
    """A JSON record (indented), written atomically; NaN and infinities are written as null."""
    return write_text_atomic(path, json_text(record))


def json_text(record: Any) -> str:
    """Indented JSON of a record; NaN and infinities, which JSON does not have, become null."""
    return json.dumps(json_ready(record), indent=2, allow_nan=False)


def json_ready(value: Any) -> Any:
    """The value with every NaN or infinite float (which JSON does not have) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    return value


def nifti_path(path: str | Path) -> Path:
    """``path`` if it names a NIfTI file (.nii or .nii.gz); ValueError otherwise."""
    path = Path(path)
    if not path.name.lower().endswith((".nii", ".nii.gz")):
        raise ValueError(f"{path}: written as NIfTI, name it .nii or .nii.gz")
    return path
