"""Named arrays in one compressed ``.npz`` file that is byte-for-byte reproducible (no timestamps).

``numpy.savez_compressed`` stamps each member with the current time, so two runs differ; this writer uses
a fixed date, and ``numpy.load`` reads the result as usual.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def save_arrays(path: str | Path, arrays: Mapping[str, npt.ArrayLike]) -> Path:
    """Write ``arrays`` (name → array) to ``path`` as a deflated .npz; returns the path."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, values in arrays.items():
            buffer = io.BytesIO()
            np.save(buffer, np.asarray(values), allow_pickle=False)
            member = zipfile.ZipInfo(f"{name}.npy", date_time=FIXED_DATE)
            member.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(member, buffer.getvalue())
    os.replace(partial, path)
    return path
