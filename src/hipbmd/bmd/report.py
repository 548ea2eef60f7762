"""The machine-readable result of ``hipbmd estimate``: one JSON record per radiograph, rows of a CSV.

Schema ``hipbmd-estimate/1`` (docs/estimate.md): ``schema``, ``hipbmd_version``, ``source``,
``radiograph`` (spacing and its source, magnification used, view, laterality, presentation, age, sex),
``model`` and ``localiser`` (name, sha256), ``settings``, ``hips`` (per side: location, flags, the raw ROI
means on the predicted DRR, and per ROI the DXA-equivalent aBMD with its 95 % interval, T-score,
%YAM and categories), ``qc_flags`` (every hip's flags, prefixed by side), ``overlay``. A file that could
not be read or measured has a record of ``schema``, ``source`` and ``error`` only.

A record is *finished* (a rerun skips its file) when it has this schema, no error, its overlay beside it,
and the same model and localiser (sha256) and settings as the run; anything else is redone.
``results.csv`` is rebuilt from all records in a folder and replaced whole, under a name of its own per
writer, so runs writing into one folder at once never leave half a table.
"""

from __future__ import annotations

import csv
import io
import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hipbmd import __version__

SCHEMA = "hipbmd-estimate/1"
CSV_COLUMNS = (
    "file",
    "side",
    "roi",
    "abmd_g_cm2",
    "interval_low_g_cm2",
    "interval_high_g_cm2",
    "t_score",
    "yam_percent",
    "who_category",
    "jos_category",
    "raw_roi_mean_g_cm2",
    "flags",
    "error",
)


def estimate_record(
    source: str,
    radiograph: Any,
    hips: list[Any],
    model: Any,
    localiser: Any,
    settings: dict[str, Any],
    magnification: float,
) -> dict[str, Any]:
    """The JSON record of one radiograph."""
    return {
        "schema": SCHEMA,
        "hipbmd_version": __version__,
        "source": source,
        "radiograph": {
            "pixel_spacing_mm": radiograph.pixel_spacing_mm,
            "spacing_source": radiograph.spacing_source,
            "magnification_used": round(magnification, 4),
            "view": radiograph.view,
            "laterality": radiograph.laterality,
            "presentation": radiograph.presentation,
            "age_years": radiograph.age_years,
            "sex": radiograph.sex,
        },
        "model": {"name": model.manifest.get("name"), "sha256": model.sha256},
        "localiser": {
            "name": localiser.manifest.get("name"),
            "sha256": localiser.manifest.get("weights", {}).get("sha256"),
        },
        "settings": settings,
        "hips": [_hip_record(hip) for hip in hips],
        "qc_flags": [f"{hip.side}: {flag}" for hip in hips for flag in hip.flags],
    }


def _hip_record(hip: Any) -> dict[str, Any]:
    return {
        "side": hip.side,
        "location": hip.location.to_dict(),
        "flags": list(hip.flags),
        "raw_roi_mean_g_cm2": {k: round(v, 5) for k, v in hip.raw_abmd_g_cm2.items()},
        "measurements": [asdict(m) for m in hip.measurements],
        "femur": None if hip.femur is None else hip.femur.to_dict(),
    }


def error_record(source: str, error: str) -> dict[str, Any]:
    """The record of a file that could not be read or measured."""
    return {"schema": SCHEMA, "source": source, "error": error}


def is_finished(
    record: dict[str, Any], settings: dict[str, Any], model_sha256: str | None, localiser_sha256: str | None
) -> bool:
    """Whether a record read back is a finished estimate with this model, localiser and settings."""
    return (
        record.get("schema") == SCHEMA
        and "error" not in record
        and isinstance(record.get("hips"), list)
        and (record.get("model") or {}).get("sha256") == model_sha256
        and (record.get("localiser") or {}).get("sha256") == localiser_sha256
        and record.get("settings") == json.loads(json.dumps(settings))
    )


def read_records(folder: Path) -> list[tuple[str, dict[str, Any]]]:
    """(name, record) of every estimate record in ``folder``, by name; other or unreadable JSON left out."""
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(record, dict) and record.get("schema") == SCHEMA and "source" in record:
            found.append((path.stem, record))
    return found


def write_results_csv(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    """Write the rows of ``records`` as ``path`` in one rename (a temporary name of its own per writer)."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(row for record in records for row in csv_rows(record))
    temporary = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial")
    try:
        with temporary.open("x", newline="") as stream:
            stream.write(text.getvalue())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def csv_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """One CSV row per hip and ROI (one row per hip without measurements, one for a failed file)."""
    if "error" in record:
        return [{"file": record["source"], "error": record["error"]}]
    rows = []
    for hip in record["hips"]:
        flags = "; ".join(hip["flags"])
        base = {"file": record["source"], "side": hip["side"], "flags": flags, "error": ""}
        if not hip["measurements"]:
            rows.append(base)
        for m in hip["measurements"]:
            interval = m["interval_g_cm2"] or (None, None)
            rows.append(
                {
                    **base,
                    "roi": m["roi"],
                    "abmd_g_cm2": m["abmd_g_cm2"],
                    "interval_low_g_cm2": interval[0],
                    "interval_high_g_cm2": interval[1],
                    "t_score": m["t_score"],
                    "yam_percent": m["yam_percent"],
                    "who_category": m["who_category"],
                    "jos_category": m["jos_category"],
                    "raw_roi_mean_g_cm2": hip["raw_roi_mean_g_cm2"].get(m["roi"]),
                }
            )
    return rows
