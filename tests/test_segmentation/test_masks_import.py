"""Importing masks made elsewhere: TotalSegmentator folders, label files, explicit values, other grids."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from hipbmd import api
from hipbmd.cli import main
from hipbmd.errors import InputError, InputWarning
from hipbmd.io.ct import read_labels
from hipbmd.io.label_tables import load_label_table
from hipbmd.io.volume_writers import write_labels, write_nifti
from hipbmd.segmentation.masks import import_masks, labels_for_ct
from hipbmd.types import Volume

SHAPE = (20, 16, 12)
SPACING_MM = 1.5
ORIGIN_MM = np.array([-15.0, -12.0, 40.0])
V2 = load_label_table("totalsegmentator_v2")
HIPBMD = load_label_table("hipbmd")
# Boxes (voxel index ranges on the CT grid), even-aligned so that a 2x coarser grid holds them exactly.
BOXES = {
    "femur_right": np.s_[12:16, 4:8, 2:10],
    "femur_left": np.s_[4:8, 4:8, 2:10],
    "hip_right": np.s_[12:18, 8:12, 8:12],
    "hip_left": np.s_[2:8, 8:12, 8:12],
}


def ct_affine(spacing_mm: float = SPACING_MM, shift_mm: float = 0.0) -> np.ndarray:
    affine = np.diag([spacing_mm, spacing_mm, spacing_mm, 1.0])
    affine[:3, 3] = ORIGIN_MM + shift_mm
    return affine


@pytest.fixture
def ct() -> Volume:
    array = np.full(SHAPE, -1000.0, np.float32)
    array[2:18, 2:14, :] = 300.0
    return Volume(array, ct_affine(), "HU", {"source": "ct"})


def box_mask(name: str) -> np.ndarray:
    mask = np.zeros(SHAPE, np.uint8)
    mask[BOXES[name]] = 1
    return mask


def save(array: np.ndarray, path: Path, affine: np.ndarray | None = None) -> Path:
    nib.save(nib.Nifti1Image(array, ct_affine() if affine is None else affine), path)
    return path


def totalsegmentator_folder(folder: Path, names: tuple[str, ...] = tuple(BOXES)) -> Path:
    """One binary mask per structure, an empty sacrum and a structure hipbmd does not read."""
    folder.mkdir()
    for name in names:
        save(box_mask(name), folder / f"{name}.nii.gz")
    save(np.zeros(SHAPE, np.uint8), folder / "sacrum.nii.gz")
    save(np.ones(SHAPE, np.uint8), folder / "liver.nii.gz")
    return folder


def multilabel_v2() -> np.ndarray:
    array = np.zeros(SHAPE, np.uint8)
    for name, box in BOXES.items():
        array[box] = V2[name]
    array[0:2, 0:2, 0:2] = V2["liver"]
    return array


def expected_hipbmd() -> np.ndarray:
    array = np.zeros(SHAPE, np.int32)
    for name, box in BOXES.items():
        array[box] = HIPBMD[name]
    return array


def test_the_hipbmd_table_has_the_merged_pelvis() -> None:
    assert HIPBMD["pelvis"] == 7 and HIPBMD["femur_right"] == 1 and HIPBMD["implant"] == 6


def test_a_totalsegmentator_folder_gets_hipbmd_values(ct: Volume, tmp_path: Path) -> None:
    labels = import_masks(totalsegmentator_folder(tmp_path / "seg"), ct)
    assert labels.unit == "label" and np.allclose(labels.affine, ct.affine)
    np.testing.assert_array_equal(labels.array, expected_hipbmd())  # liver ignored, empty sacrum fine
    assert labels.meta["format"] == "totalsegmentator_folder"
    assert labels.meta["source"] == str(tmp_path / "seg")
    assert labels.meta["structures_voxels"]["femur_left"] == 4 * 4 * 8 and not labels.meta["resampled"]


def test_a_folder_with_one_femur_is_enough(ct: Volume, tmp_path: Path) -> None:
    labels = import_masks(totalsegmentator_folder(tmp_path / "seg", ("femur_left",)), ct)
    assert set(np.unique(labels.array)) == {0, HIPBMD["femur_left"]}


def test_a_multilabel_v2_file_gets_hipbmd_values(ct: Volume, tmp_path: Path) -> None:
    path = save(multilabel_v2(), tmp_path / "seg.nii.gz")
    labels = import_masks(path, ct, "totalsegmentator_v2")
    np.testing.assert_array_equal(labels.array, expected_hipbmd())
    assert labels.meta["format"] == "label_file"
    assert labels.meta["source_label_table"] == "totalsegmentator_v2"


def test_explicit_values_name_a_file_from_another_tool(ct: Volume, tmp_path: Path) -> None:
    array = np.zeros(SHAPE, np.int16)
    array[BOXES["femur_right"]], array[BOXES["femur_left"]], array[BOXES["hip_left"]] = 31, 32, 40
    labels = import_masks(save(array, tmp_path / "other.nii.gz"), ct, {"femur_right": 31, "femur_left": 32})
    assert (labels.array[BOXES["femur_right"]] == 1).all() and (labels.array[BOXES["femur_left"]] == 2).all()
    assert set(np.unique(labels.array)) == {0, 1, 2}  # the unnamed 40 is left out
    with pytest.raises(ValueError, match="unknown structure liver"):
        import_masks(tmp_path / "other.nii.gz", ct, {"femur_right": 31, "liver": 40})


def test_a_mask_on_a_twice_coarser_grid_lands_on_the_right_voxels(ct: Volume, tmp_path: Path) -> None:
    coarse = np.zeros((10, 8, 6), np.uint8)
    coarse[6:8, 2:4, 1:5] = V2["femur_right"]  # CT voxels 12:16, 4:8, 2:10 at half the spacing
    # a coarse voxel centre sits between two CT voxel centres: origin + 0.75 mm on each axis
    affine = ct_affine(2 * SPACING_MM, shift_mm=SPACING_MM / 2)
    path = save(coarse, tmp_path / "coarse.nii.gz", affine)
    with pytest.warns(InputWarning, match="resampled"):
        labels = import_masks(path, ct, "totalsegmentator_v2")
    np.testing.assert_array_equal(labels.array == HIPBMD["femur_right"], box_mask("femur_right") == 1)
    assert labels.shape == SHAPE and labels.meta["resampled"]


def test_the_real_totalsegmentator_v1_labels(real: Path) -> None:
    folder = real / "totalsegmentator_example_ct"
    from hipbmd.io.ct import read_ct

    ct = read_ct(folder / "example_ct.nii.gz")
    labels = import_masks(folder / "example_seg_v1.nii.gz", ct, "totalsegmentator_v1")
    raw = read_labels(folder / "example_seg_v1.nii.gz").array
    v1 = load_label_table("totalsegmentator_v1")
    for name in ("femur_right", "femur_left", "hip_right", "hip_left", "sacrum"):
        assert np.count_nonzero(labels.array == HIPBMD[name]) == np.count_nonzero(raw == v1[name]) > 0


def bad_empty_folder(tmp_path: Path) -> tuple[Path, str | None]:
    (tmp_path / "seg").mkdir()
    return tmp_path / "seg", None


def bad_no_femur_in_folder(tmp_path: Path) -> tuple[Path, str | None]:
    folder = totalsegmentator_folder(tmp_path / "seg", ("hip_left",))
    save(np.zeros(SHAPE, np.uint8), folder / "femur_left.nii.gz")
    return folder, None


def bad_no_femur_in_file(tmp_path: Path) -> tuple[Path, str | None]:
    array = multilabel_v2()
    array[np.isin(array, [V2["femur_right"], V2["femur_left"]])] = 0
    return save(array, tmp_path / "seg.nii.gz"), "totalsegmentator_v2"


def bad_values_not_in_table(tmp_path: Path) -> tuple[Path, str | None]:
    array = multilabel_v2()
    array[0, 0, 0] = 200
    return save(array, tmp_path / "seg.nii.gz"), "totalsegmentator_v2"


def bad_grid_elsewhere(tmp_path: Path) -> tuple[Path, str | None]:
    affine = ct_affine(shift_mm=500.0)
    return save(multilabel_v2(), tmp_path / "seg.nii.gz", affine), "totalsegmentator_v2"


def bad_no_table(tmp_path: Path) -> tuple[Path, str | None]:
    return save(multilabel_v2(), tmp_path / "seg.nii.gz"), None


def bad_missing(tmp_path: Path) -> tuple[Path, str | None]:
    return tmp_path / "absent", None


BAD = {
    "empty folder": (bad_empty_folder, "no femur_right or femur_left"),
    "no femur in folder": (bad_no_femur_in_folder, "no femur"),
    "no femur in file": (bad_no_femur_in_file, "no femur"),
    "values not in table": (bad_values_not_in_table, "label values 200 are not in"),
    "grid elsewhere": (bad_grid_elsewhere, "do not overlap"),
    "no table": (bad_no_table, "needs a label table"),
    "missing": (bad_missing, "no such"),
}


@pytest.mark.filterwarnings("ignore::hipbmd.errors.InputWarning")
@pytest.mark.parametrize("name", list(BAD))
def test_bad_masks_are_refused_with_their_path(name: str, ct: Volume, tmp_path: Path) -> None:
    make, problem = BAD[name]
    path, table = make(tmp_path)
    with pytest.raises(InputError, match=problem) as error:
        import_masks(path, ct, table)
    assert error.value.path == str(path) and str(path) in str(error.value)


def test_labels_for_ct_imports_folders_and_totalsegmentator_files_only(ct: Volume, tmp_path: Path) -> None:
    folder = totalsegmentator_folder(tmp_path / "seg")
    _, table = labels_for_ct(folder, ct, "hipbmd")
    assert table == "hipbmd"
    labels, table = labels_for_ct(save(multilabel_v2(), tmp_path / "ml.nii.gz"), ct, "totalsegmentator_v2")
    assert table == "hipbmd" and labels.array.max() == HIPBMD["femur_right"] + 3
    raw, table = labels_for_ct(tmp_path / "ml.nii.gz", ct, "my_table.tsv")
    assert table == "my_table.tsv" and raw.array.max() == V2["hip_right"]  # read as it is


def test_write_labels_round_trips_and_refuses_what_is_not_labels(ct: Volume, tmp_path: Path) -> None:
    labels = Volume(expected_hipbmd(), ct.affine, "label")
    path = write_labels(labels, tmp_path / "labels.nii.gz")
    np.testing.assert_array_equal(read_labels(path).array, labels.array)
    with pytest.raises(ValueError, match="label volume"):
        write_labels(ct, tmp_path / "ct.nii.gz")
    with pytest.raises(ValueError, match=r"\.nii"):
        write_labels(labels, tmp_path / "labels.nrrd")
    with pytest.raises(ValueError, match=r"0\.\.255"):
        write_labels(Volume(np.full(SHAPE, 300), ct.affine, "label"), tmp_path / "big.nii.gz")


def run(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["hipbmd", *args])
    with pytest.raises(SystemExit) as stopped:
        main()
    captured = capsys.readouterr()
    code = stopped.value.code
    return (0 if code is None else int(code)), captured.out, captured.err


def test_import_masks_command_writes_hipbmd_labels(
    ct: Volume, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ct_path = write_nifti(ct, tmp_path / "ct.nii.gz")
    folder = totalsegmentator_folder(tmp_path / "seg")
    output = tmp_path / "out" / "labels.nii.gz"
    code, out, _ = run(
        ["import-masks", str(folder), "--like", str(ct_path), "-o", str(output)], capsys, monkeypatch
    )
    assert code == 0 and f"wrote {output}" in out and "femur_right 128" in out
    np.testing.assert_array_equal(read_labels(output).array, expected_hipbmd())
    assert not list(output.parent.glob("*.partial"))


def test_import_masks_command_with_explicit_values(
    ct: Volume, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ct_path = write_nifti(ct, tmp_path / "ct.nii.gz")
    path = save(multilabel_v2(), tmp_path / "seg.nii.gz")
    output = tmp_path / "labels.nii.gz"
    args = ["import-masks", str(path), "--like", str(ct_path), "-o", str(output), "--value", "femur_left=75"]
    code, _, _ = run(args, capsys, monkeypatch)
    assert code == 0 and set(np.unique(read_labels(output).array)) == {0, HIPBMD["femur_left"]}
    code, _, err = run([*args, "--value", "femur_right"], capsys, monkeypatch)
    assert code == 2 and "expected NAME=VALUE" in err


def test_import_masks_command_error_is_one_line(
    ct: Volume, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ct_path = write_nifti(ct, tmp_path / "ct.nii.gz")
    (tmp_path / "seg").mkdir()
    output = tmp_path / "labels.nii.gz"
    args = ["import-masks", str(tmp_path / "seg"), "--like", str(ct_path), "-o", str(output)]
    code, _, err = run(args, capsys, monkeypatch)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"hipbmd: error: {tmp_path / 'seg'}: ")
    assert not output.exists()


def test_ct_bmd_takes_a_totalsegmentator_folder(
    ct: Volume, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ct_path = write_nifti(ct, tmp_path / "ct.nii.gz")
    folder = totalsegmentator_folder(tmp_path / "seg")
    args = ["ct-bmd", str(ct_path), "--labels", str(folder), "--slope", "1", "--intercept", "0"]
    code, _, _ = run([*args, "-o", str(tmp_path / "out")], capsys, monkeypatch)
    record = json.loads((tmp_path / "out" / "ct_bmd.json").read_text())
    assert code == 1  # boxes have no femoral head: both sides refused with reasons, not an input error
    assert all("no spherical femoral head" in " ".join(side["flags"]) for side in record["sides"])
    assert record["labels_format"] == "totalsegmentator_folder" and record["label_table"] == "hipbmd"


def test_api_import_masks_returns_its_record(ct: Volume, tmp_path: Path) -> None:
    ct_path = write_nifti(ct, tmp_path / "ct.nii.gz")
    path = save(multilabel_v2(), tmp_path / "seg.nii.gz")
    record = api.import_masks(path, ct_path, tmp_path / "labels.nii.gz", "totalsegmentator_v2")
    assert record["labels"] == str(tmp_path / "labels.nii.gz") and record["format"] == "label_file"
    assert record["structures_voxels"]["hip_right"] == 6 * 4 * 4 and record["warnings"] == []
