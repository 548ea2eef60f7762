"""CT and label volumes from NIfTI, NRRD and MetaImage: orientation, spacing, HU."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from hipbmd.errors import InputError
from hipbmd.io import read_ct, read_labels
from hipbmd.io.ct import read_volume


def _marked_ct(shape: tuple[int, int, int] = (6, 7, 8)) -> np.ndarray:
    values = np.full(shape, -1000.0, dtype=np.float32)
    values[1, 2, 3] = 1500.0  # a bright marker voxel
    return values


def _marker_world(volume) -> np.ndarray:  # type: ignore[no-untyped-def]
    index = np.argwhere(volume.array == volume.array.max())[0]
    return volume.voxel_to_world_mm(index)


def test_nifti_in_lps_order_reorients_to_ras_keeping_world_positions(tmp_path: Path) -> None:
    affine = np.array([[-0.7, 0, 0, 50], [0, -0.9, 0, 60], [0, 0, 2.5, -100], [0, 0, 0, 1]])
    nib.save(nib.Nifti1Image(_marked_ct(), affine), tmp_path / "ct.nii.gz")
    volume = read_ct(tmp_path / "ct.nii.gz")
    assert volume.orientation == "RAS"
    assert volume.meta["source_orientation"] == "LPS"
    assert volume.spacing_mm == pytest.approx((0.7, 0.9, 2.5))
    expected = affine @ np.array([1, 2, 3, 1.0])
    assert _marker_world(volume) == pytest.approx(expected[:3])


def test_nrrd_lps_space_is_converted_to_ras(tmp_path: Path) -> None:
    image = sitk.GetImageFromArray(_marked_ct().transpose(2, 1, 0))  # sitk arrays are (z, y, x)
    image.SetSpacing((0.7, 0.9, 2.5))
    image.SetOrigin((10.0, 20.0, 30.0))
    sitk.WriteImage(image, str(tmp_path / "ct.nrrd"))
    volume = read_ct(tmp_path / "ct.nrrd")
    lps = np.array([10 + 0.7, 20 + 2 * 0.9, 30 + 3 * 2.5])
    assert _marker_world(volume) == pytest.approx([-lps[0], -lps[1], lps[2]])
    assert volume.orientation == "RAS"


def test_label_map_in_another_orientation_lands_on_the_same_voxels(tmp_path: Path) -> None:
    ras = np.diag([0.8, 0.8, 2.0, 1.0])
    ct = _marked_ct()
    nib.save(nib.Nifti1Image(ct, ras), tmp_path / "ct.nii.gz")
    labels = (ct > 0).astype(np.uint8)
    flip_j = np.diag([1.0, -1.0, 1.0, 1.0])
    flip_j[1, 3] = ct.shape[1] - 1
    las_affine = ras @ flip_j  # same grid, j axis reversed (LAS-like storage)
    nib.save(nib.Nifti1Image(labels[:, ::-1, :].copy(), las_affine), tmp_path / "labels.nii.gz")
    volume = read_ct(tmp_path / "ct.nii.gz")
    aligned = read_labels(tmp_path / "labels.nii.gz", like=volume)
    assert np.array_equal(aligned.array == 1, volume.array > 0)


def test_label_map_on_a_different_grid_is_resampled_with_a_warning(tmp_path: Path) -> None:
    nib.save(nib.Nifti1Image(_marked_ct((8, 8, 8)), np.diag([1.0, 1, 1, 1])), tmp_path / "ct.nii")
    coarse = np.zeros((4, 4, 4), np.uint8)
    coarse[1, 1, 1] = 5
    nib.save(nib.Nifti1Image(coarse, np.diag([2.0, 2, 2, 1])), tmp_path / "labels.nii")
    volume = read_ct(tmp_path / "ct.nii")
    with pytest.warns(UserWarning, match="resampled"):
        aligned = read_labels(tmp_path / "labels.nii", like=volume)
    assert aligned.shape == volume.shape
    assert aligned.array[2, 2, 2] == 5 and aligned.array[0, 0, 0] == 0


def test_label_file_given_as_ct_is_refused(tmp_path: Path) -> None:
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4), np.uint8), np.eye(4)), tmp_path / "seg.nii.gz")
    with pytest.raises(InputError, match="label map"):
        read_ct(tmp_path / "seg.nii.gz")
    assert read_volume(tmp_path / "seg.nii.gz").unit == "label"


@pytest.mark.parametrize("shape", [(16, 16), (16, 16, 1)])
def test_two_dimensional_nifti_is_not_a_ct(tmp_path: Path, shape: tuple[int, ...]) -> None:
    nib.save(nib.Nifti1Image(np.full(shape, -5.0, np.float32), np.eye(4)), tmp_path / "flat.nii")
    with pytest.raises(InputError, match="2-D image"):
        read_ct(tmp_path / "flat.nii")


def test_corrupt_nifti_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.nii.gz"
    path.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(InputError, match=r"broken\.nii\.gz: cannot read NIfTI"):
        read_ct(path)


def test_real_abdomen_pelvis_ct(real: Path) -> None:
    path = real / "totalsegmentator_example_ct" / "example_ct.nii.gz"
    volume = read_ct(path)
    raw = np.asarray(nib.load(str(path)).dataobj)
    assert volume.orientation == "RAS" and volume.meta["source_orientation"] == "RAS"
    assert volume.spacing_mm == pytest.approx((3.0, 3.0, 3.0))
    assert volume.shape == (122, 101, 112)
    assert (volume.array.min(), volume.array.max()) == (raw.min(), raw.max())


def test_real_femur_labels_sit_on_the_patients_sides(real: Path) -> None:
    folder = real / "totalsegmentator_example_ct"
    ct = read_ct(folder / "example_ct.nii.gz")
    labels = read_labels(folder / "example_seg_v1.nii.gz", like=ct)
    left = ct.voxel_to_world_mm(np.argwhere(labels.array == 88).mean(axis=0))
    right = ct.voxel_to_world_mm(np.argwhere(labels.array == 89).mean(axis=0))
    assert right[0] > 50 and left[0] < -50  # RAS+: x grows towards the patient's right
    assert np.median(ct.array[labels.array == 89]) > 100  # bone, not soft tissue
