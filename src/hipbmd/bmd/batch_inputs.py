"""Which radiographs a batch run of ``hipbmd estimate`` handles, under which record names, in which part.

* **Inputs** are files, folders (every radiograph inside, recursively) and manifest CSVs (a ``file`` or
  ``xray`` column, paths relative to the CSV's folder, e.g. a simulated cohort's ``manifest.csv``).
  In a folder a file is a radiograph when its name says PNG/JPEG/TIFF/BMP, or when it is DICOM (named
  ``.dcm``/``.dicom``/``.dcm.gz``, or with the ``DICM`` preamble at byte 128, PS3.10 §7.1) and its
  Modality is a projection radiograph's (CR, DX, …), OT or empty; CT slices and volumes are left out.
  The inputs are de-duplicated (same file) and sorted by path, whatever order they were given in.
* **Record names** come from each input's path relative to the folder common to all inputs, suffixes
  dropped and folders joined by ``_`` (``cases/case_00007/xray.dcm`` → ``case_00007_xray``); a name
  still shared by two inputs gets a hash of the path appended. They are computed over all inputs before
  a part is taken, so every part of a sharded run names a file the same way.
* **Parts**: ``k/N`` takes every N-th input starting at the k-th (1-based) of the sorted list, so the N
  parts are disjoint, cover all inputs and each get a mix of the folders.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from hipbmd.errors import InputError
from hipbmd.io.dicom_series import RADIOGRAPH_MODALITIES
from hipbmd.io.image_file import IMAGE_SUFFIXES
from hipbmd.io.volume_files import volume_format

DICOM_SUFFIXES = (".dcm", ".dicom", ".dcm.gz", ".dicom.gz")
NAME_SUFFIXES = (*IMAGE_SUFFIXES, ".dcm", ".dicom", ".gz")
MANIFEST_COLUMNS = ("file", "xray")
Item = TypeVar("Item")


def collect_inputs(
    paths: Sequence[Path], manifest: Path | None = None, exclude: Path | None = None
) -> list[Path]:
    """The radiographs named by files, folders and a manifest: de-duplicated and sorted by path.

    A file is taken as given (reading it decides whether it is usable); ``exclude`` (the output folder)
    is never searched.
    """
    found: list[Path] = []
    for path in paths:
        found += folder_radiographs(path, exclude) if path.is_dir() else [path]
    if manifest is not None:
        found += manifest_radiographs(manifest)
    unique = {path.resolve(): path for path in sorted(found, key=str)}
    return sorted(unique.values(), key=str)


def folder_radiographs(folder: Path, exclude: Path | None = None) -> list[Path]:
    """Every radiograph under ``folder`` (hidden files and folders and ``exclude`` skipped), sorted."""
    skipped = exclude.resolve() if exclude is not None else None
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if skipped is not None and path.resolve().is_relative_to(skipped):
            continue
        if is_radiograph_file(path):
            found.append(path)
    if not found:
        raise InputError(folder, "holds no radiographs (DICOM, PNG, TIFF, JPEG)")
    return found


def is_radiograph_file(path: Path) -> bool:
    """Whether a file found in a folder is a radiograph (see the module docstring)."""
    from pydicom.misc import is_dicom

    if volume_format(path) is not None:
        return False
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return True
    try:
        dicom = path.name.lower().endswith(DICOM_SUFFIXES) or is_dicom(path)
    except OSError:
        return False
    return dicom and _radiograph_modality(path)


def _radiograph_modality(path: Path) -> bool:
    """A DICOM file's Modality is a radiograph's; a file too damaged to tell is kept (its record says why)."""
    from hipbmd.io.dicom_file import read_dicom

    try:
        modality = str(read_dicom(path, stop_before_pixels=True).get("Modality", "")).upper()
    except InputError:
        return True
    return modality in RADIOGRAPH_MODALITIES or modality in ("", "OT")


def manifest_radiographs(manifest: Path) -> list[Path]:
    """The radiographs a manifest CSV lists in its ``file`` (else ``xray``) column, relative to its folder."""
    try:
        with manifest.open(newline="") as stream:
            reader = csv.DictReader(stream)
            rows, columns = list(reader), reader.fieldnames or []
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(manifest, f"not a readable CSV ({error.__class__.__name__})") from None
    column = next((name for name in MANIFEST_COLUMNS if name in columns), None)
    if column is None:
        raise InputError(manifest, "has no 'file' or 'xray' column")
    if not rows:
        raise InputError(manifest, "lists no radiographs")
    paths = []
    for number, row in enumerate(rows, start=2):
        value = (row[column] or "").strip()
        if not value:
            raise InputError(manifest, f"line {number}: empty {column!r}")
        paths.append(manifest.parent / value)
    return paths


def record_names(paths: Sequence[Path]) -> list[str]:
    """One distinct record name per input (see the module docstring)."""
    absolute = [Path(os.path.abspath(path)) for path in paths]
    if not absolute:
        return []
    root = Path(os.path.commonpath([path.parent for path in absolute]))
    relative = [path.relative_to(root) for path in absolute]
    names = [_flat_name(path) for path in relative]
    return [
        f"{name}-{path_digest(path)}" if names.count(name) > 1 else name
        for name, path in zip(names, relative, strict=True)
    ]


def path_digest(path: Path) -> str:
    """Eight hex digits of the SHA-256 of a path: a stable suffix that tells same-named files apart."""
    return hashlib.sha256(path.as_posix().encode()).hexdigest()[:8]


def _flat_name(relative: Path) -> str:
    """``a/b/xray.dcm`` → ``a_b_xray``: suffixes of radiograph files dropped, unsafe characters replaced."""
    stem = relative.name
    while stem.lower().endswith(NAME_SUFFIXES) and "." in stem:
        stem = stem[: stem.rindex(".")]
    flat = "_".join((*relative.parent.parts, stem or relative.name))
    return re.sub(r"[^A-Za-z0-9._-]", "_", flat)


def parse_part(spec: str) -> tuple[int, int]:
    """``"k/N"`` (1 ≤ k ≤ N) as (k, N); ValueError for anything else."""
    first, slash, second = spec.partition("/")
    try:
        part, parts = int(first), int(second)
    except ValueError:
        part = parts = 0
    if not slash or parts < 1 or not 1 <= part <= parts:
        raise ValueError(f"--part {spec!r}: expected k/N with 1 <= k <= N, e.g. 2/4")
    return part, parts


def select_part(items: Sequence[Item], part: tuple[int, int]) -> list[Item]:
    """Part k of N: the items at positions k-1, k-1+N, k-1+2N, … (see the module docstring)."""
    k, n = part
    if n < 1 or not 1 <= k <= n:
        raise ValueError(f"part {k}/{n}: expected 1 <= k <= N")
    return list(items[k - 1 :: n])
