"""Import femur and pelvis masks made elsewhere as a hipbmd label map on a CT's voxel grid.

Three kinds of source, told apart by the path and the table given:

* a TotalSegmentator output folder: one binary NIfTI per structure (``femur_left.nii.gz``, …);
  only the structures hipbmd knows are read, and an empty mask is a structure not in the scan;
* a label file (e.g. TotalSegmentator ``--ml`` output) with a label table naming its values
  (``totalsegmentator_v1``, ``totalsegmentator_v2``, ``hipbmd`` or a TSV file);
* a label file with the values given directly, e.g. ``{"femur_right": 3, "femur_left": 4}``.

The result holds the built-in ``hipbmd`` values (femur_right 1, femur_left 2, hip_right 3, hip_left 4,
sacrum 5, implant 6, pelvis 7). A mask on another grid is resampled to the CT's (nearest neighbour).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from hipbmd.errors import InputError
from hipbmd.io.ct import read_labels
from hipbmd.io.label_tables import load_label_table
from hipbmd.io.orientation import labels_on_grid, same_grid
from hipbmd.types import Volume

MaskFormat = Literal["totalsegmentator_folder", "label_file"]
LabelTable = str | Path | Mapping[str, int]

TOTALSEGMENTATOR_TABLES = ("totalsegmentator_v1", "totalsegmentator_v2")
FEMURS = ("femur_right", "femur_left")
# Drawing order in a folder, where masks may overlap: the later structure wins (an implant over bone).
STRUCTURES = ("pelvis", "hip_right", "hip_left", "sacrum", "femur_right", "femur_left", "implant")
MASK_SUFFIXES = (".nii.gz", ".nii")


def hipbmd_values() -> dict[str, int]:
    """Name → value of the built-in ``hipbmd`` label table, for the structures hipbmd knows."""
    return dict(_hipbmd_items())


@cache
def _hipbmd_items() -> tuple[tuple[str, int], ...]:
    table = load_label_table("hipbmd")
    return tuple((name, table[name]) for name in STRUCTURES)


def import_masks(source: str | Path, like: Volume, label_table: LabelTable | None = None) -> Volume:
    """A hipbmd label map on ``like``'s voxel grid (RAS index order) from masks made elsewhere.

    Args:
        source: a TotalSegmentator output folder, or a label file (NIfTI, NRRD, MetaImage).
        like: the CT whose grid the labels must share (world RAS+ mm).
        label_table: for a label file, the table naming its values (built-in name or TSV path) or a
            mapping structure name → value in the file; ignored for a folder.

    Returns:
        A Volume with unit "label" and hipbmd values; ``meta`` records the source, its format, the
        table used, whether the masks were resampled and the voxel count of each structure found.

    Raises:
        InputError: a source that cannot be read, values the table does not name, no femur at all,
            or masks that do not overlap the CT.
    """
    source = Path(source)
    fmt: MaskFormat
    if source.is_dir():
        raw, names, fmt = _folder_labels(source), hipbmd_values(), "totalsegmentator_folder"
    elif source.is_file():
        raw, names, fmt = _file_labels(source, label_table)
    else:
        raise InputError(source, "no such mask folder or label file")
    relabelled = _relabel(raw, names)
    _require_femur(relabelled.array, source, "no femur (femur_right or femur_left) in the masks")
    on_grid = labels_on_grid(relabelled, like, source)
    _require_femur(on_grid.array, source, "no femur inside the CT's field of view")
    meta = _import_record(source, fmt, label_table, on_grid.array, resampled=not same_grid(raw, on_grid))
    return Volume(on_grid.array, on_grid.affine, "label", meta)


def _file_labels(path: Path, label_table: LabelTable | None) -> tuple[Volume, dict[str, int], MaskFormat]:
    """The raw label file and the values of the structures hipbmd knows in it."""
    if label_table is None:
        raise InputError(path, "a label file needs a label table (hipbmd, totalsegmentator_v1/v2, a TSV)")
    raw = read_labels(path)
    if isinstance(label_table, Mapping):
        names = _explicit_values(label_table)
    else:
        table = load_label_table(label_table)
        _refuse_unnamed_values(raw, set(table.values()), path, str(label_table))
        names = {name: value for name, value in table.items() if name in STRUCTURES}
    return raw, names, "label_file"


def _explicit_values(values: Mapping[str, int]) -> dict[str, int]:
    """Structure name → label value given by the user, checked against the names hipbmd knows."""
    unknown = sorted(set(values) - set(STRUCTURES))
    if unknown:
        raise ValueError(f"unknown structure {', '.join(unknown)} (known: {', '.join(STRUCTURES)})")
    if not any(name in values for name in FEMURS):
        raise ValueError("label values must include femur_right or femur_left")
    if any(int(value) <= 0 for value in values.values()):
        raise ValueError("label values must be positive (0 is the background)")
    return {name: int(value) for name, value in values.items()}


def _refuse_unnamed_values(raw: Volume, named: set[int], path: Path, table: str) -> None:
    """A value the table does not name means the table is not the file's (e.g. v1 for a v2 file)."""
    present = {int(value) for value in np.unique(raw.array)} - {0}
    unnamed = sorted(present - named)
    if unnamed:
        shown = ", ".join(str(value) for value in unnamed[:8]) + (", …" if len(unnamed) > 8 else "")
        raise InputError(path, f"label values {shown} are not in the label table {table}")


def _folder_labels(folder: Path) -> Volume:
    """The known masks of a TotalSegmentator output folder, combined with hipbmd values on their grid."""
    files = _mask_files(folder)
    if not any(name in files for name in FEMURS):
        raise InputError(folder, "no femur_right or femur_left .nii.gz mask: not a TotalSegmentator output")
    values = hipbmd_values()
    combined: Volume | None = None
    for name in (n for n in STRUCTURES if n in files):
        mask = read_labels(files[name])
        if combined is None:
            combined = Volume(np.zeros(mask.shape, np.int32), mask.affine, "label", {})
        elif not same_grid(mask, combined):
            raise InputError(files[name], "mask grid differs from the other masks of its folder")
        combined.array[mask.array > 0] = values[name]
    assert combined is not None  # a femur mask was found
    return combined


def _mask_files(folder: Path) -> dict[str, Path]:
    """Structure name → mask file, for the structures hipbmd knows that the folder holds."""
    files = {}
    for name in STRUCTURES:
        found = [path for path in (folder / f"{name}{suffix}" for suffix in MASK_SUFFIXES) if path.is_file()]
        if found:
            files[name] = found[0]
    return files


def _relabel(raw: Volume, names: Mapping[str, int]) -> Volume:
    """The raw label map with the structures in ``names`` (name → raw value) set to hipbmd values."""
    values = hipbmd_values()
    out = np.zeros(raw.shape, np.int32)
    for name, raw_value in names.items():
        out[raw.array == raw_value] = values[name]
    return Volume(out, raw.affine, "label", dict(raw.meta))


def _require_femur(array: np.ndarray, source: Path, problem: str) -> None:
    femur_values = [hipbmd_values()[name] for name in FEMURS]
    if not np.isin(array, femur_values).any():
        raise InputError(source, problem)


def _import_record(
    source: Path, fmt: MaskFormat, label_table: LabelTable | None, array: np.ndarray, resampled: bool
) -> dict[str, Any]:
    """What ``meta`` says about an import: source, format, tables, resampling, voxels per structure."""
    if fmt == "totalsegmentator_folder":
        source_table = "file names"
    elif isinstance(label_table, Mapping):
        source_table = "explicit values"
    else:
        source_table = str(label_table)
    counts = {name: int(np.count_nonzero(array == value)) for name, value in hipbmd_values().items()}
    return {
        "source": str(source),
        "format": fmt,
        "source_label_table": source_table,
        "label_table": "hipbmd",
        "resampled": resampled,
        "structures_voxels": {name: count for name, count in counts.items() if count},
    }


def labels_for_ct(
    labels: str | Path, like: Volume, label_table: str | Path = "hipbmd"
) -> tuple[Volume, str | Path]:
    """A label map on ``like``'s grid and the table naming its values, for measuring a CT.

    A folder, or a file named by a TotalSegmentator table, is imported (hipbmd values, table
    "hipbmd"); any other label file is read as it is, with ``label_table`` kept.
    """
    if Path(labels).is_dir():
        return import_masks(labels, like), "hipbmd"
    if str(label_table) in TOTALSEGMENTATOR_TABLES:
        return import_masks(labels, like, label_table), "hipbmd"
    return read_labels(labels, like=like), label_table
