"""``hipbmd evaluate``: read, compute every number, draw, then write the report folder.

The folder receives ``report.json`` (the record of :mod:`hipbmd.stats.evaluate` plus ``provenance``
and ``figures``), ``report.html`` (:mod:`hipbmd.stats.html`) and one PNG per figure
(:mod:`hipbmd.stats.plots`). Nothing is written before everything has been computed and rendered, and
each file is written via ``<name>.partial`` and a rename, so a failed run leaves no half-written file.
"""

from __future__ import annotations

import hashlib
import json
import platform
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from hipbmd import __version__
from hipbmd.errors import InputError

JSON_NAME = "report.json"
HTML_NAME = "report.html"
LIBRARIES = ("numpy", "scipy", "scikit-learn", "matplotlib")


def write_report(
    results_csv: Path, reference_csv: Path, output_dir: Path, yam_table: Path | None = None
) -> dict[str, Any]:
    """Evaluate ``results_csv`` against ``reference_csv`` and write the report into ``output_dir``.

    Returns the record written to ``report.json``.

    Raises:
        InputError: an input cannot be used (nothing is written), or the folder cannot be written.
    """
    from hipbmd.bmd.reference import load_yam_table
    from hipbmd.stats.evaluate import evaluation
    from hipbmd.stats.html import render_html
    from hipbmd.stats.inputs import read_reference, read_results
    from hipbmd.stats.plots import figures

    results = read_results(results_csv)
    reference = read_reference(reference_csv)
    yam = None if yam_table is None else load_yam_table(yam_table)
    record = evaluation(results, reference, yam)
    inputs = {"results": results_csv, "reference": reference_csv}
    if yam_table is not None:
        inputs["yam_table"] = yam_table
    pictures = figures(record)
    record = {
        "schema": record["schema"],
        "provenance": provenance(inputs),
        **{key: value for key, value in record.items() if key != "schema"},
        "figures": sorted(pictures),
    }
    text = json.dumps(record, indent=2, allow_nan=False)
    page = render_html(record, pictures)
    _write_folder(output_dir, pictures, text, page)
    return record


def provenance(inputs: dict[str, Path]) -> dict[str, Any]:
    """hipbmd and library versions, the UTC time, and each input file with its sha256."""
    return {
        "hipbmd_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "libraries": {name: _version(name) for name in LIBRARIES},
        "inputs": {role: {"path": str(path), "sha256": sha256(path)} for role, path in inputs.items()},
    }


def sha256(path: Path) -> str:
    """The hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        raise InputError(path, f"cannot read ({error})") from error
    return digest.hexdigest()


def _write_folder(folder: Path, pictures: dict[str, bytes], text: str, page: str) -> None:
    """PNGs first, then the JSON, the HTML last (its presence means the report is complete)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in pictures.items():
            _write_atomic(folder / name, data)
        _write_atomic(folder / JSON_NAME, text.encode("utf-8"))
        _write_atomic(folder / HTML_NAME, page.encode("utf-8"))
    except OSError as error:
        raise InputError(folder, f"cannot write the report ({error})") from error


def _write_atomic(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None
