"""``hipbmd info``: what hipbmd reads from each input."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from hipbmd.errors import InputError
from hipbmd.io.ct import read_ct, read_labels, read_volume
from hipbmd.io.radiograph import read_radiograph
from hipbmd.io.records import json_ready
from hipbmd.io.summary import detect_kind, radiograph_summary, volume_summary

InputKind = Literal["auto", "ct", "labels", "radiograph"]
FailureHandler = Callable[[Path, Exception], dict[str, Any]]


def info_one(
    path: str | Path,
    series_uid: str | None = None,
    spacing_mm: float | None = None,
    kind: InputKind = "auto",
) -> dict[str, Any]:
    """Read one CT folder/volume, label map or radiograph and summarise what was read.

    Args:
        path: a DICOM series folder, a NIfTI/NRRD/MetaImage volume, a DICOM radiograph or an image file.
        series_uid: the series to read from a folder that holds several.
        spacing_mm: detector pixel spacing to assume for a radiograph, mm.
        kind: "auto" to detect, or what the input must be: "ct", "labels" or "radiograph".

    Returns:
        A JSON-ready dict (see :mod:`hipbmd.io.summary`) with ``path`` and the ``warnings`` raised on reading.

    Raises:
        InputError: the path cannot be read; the message names it and the problem.
    """
    path = Path(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        detected = detect_kind(path) if kind == "auto" else kind
        if detected == "radiograph":
            summary = radiograph_summary(read_radiograph(path, spacing_mm))
        elif detected == "volume":
            summary = volume_summary(read_volume(path))
        elif detected == "labels":
            summary = volume_summary(read_labels(path))
        else:
            summary = volume_summary(read_ct(path, series_uid))
    record = {"path": str(path), **summary, "warnings": [str(w.message) for w in caught]}
    return dict(json_ready(record))  # a JSON-ready record: NaN and infinities are None


def info(
    paths: Sequence[str | Path],
    series_uid: str | None = None,
    spacing_mm: float | None = None,
    kind: InputKind = "auto",
    on_failure: FailureHandler | None = None,
) -> list[dict[str, Any]]:
    """Summarise several inputs; an unreadable one yields ``{"path", "error"}`` instead of stopping.

    Mirrors ``hipbmd info PATH... [--series UID] [--spacing-mm S] [--kind K] --json``.

    Args:
        paths, series_uid, spacing_mm, kind: as for :func:`info_one`.
        on_failure: called with (path, error) for an input that fails, returning its record; default:
            an :class:`InputError` gives ``{"path", "error"}`` and any other exception propagates.
    """
    if spacing_mm is not None and not (math.isfinite(spacing_mm) and spacing_mm > 0):
        raise ValueError(f"--spacing-mm must be a positive finite number of mm, not {spacing_mm}")
    results = []
    for path in paths:
        try:
            results.append(info_one(path, series_uid, spacing_mm, kind))
        except Exception as error:
            if on_failure is not None:
                results.append(on_failure(Path(path), error))
            elif isinstance(error, InputError):
                results.append({"path": str(path), "error": error.problem})
            else:
                raise
    return results
