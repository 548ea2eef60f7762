"""CT DICOM series: ordering, LPS→RAS, HU, several series, gaps, tilt, uneven spacing, codecs."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from pydicom.uid import JPEG2000Lossless, RLELossless

from dicom_factory import ct_slice, radiograph, save, write_ct_series
from hipbmd.errors import InputError
from hipbmd.io import read_ct, read_labels

ROWS, COLUMNS, SLICES = 32, 32, 5
SPACING = (0.5, 0.8)  # (row, column) mm


def _stored(marker: tuple[int, int, int] = (3, 7, 2)) -> np.ndarray:
    stored = np.full((ROWS, COLUMNS, SLICES), 24, dtype=np.uint16)  # -1000 HU after the intercept
    stored[marker] = 2524  # +1500 HU
    return stored


def _positions(step: float = 2.0, origin=(10.0, 20.0, -50.0)) -> list[tuple[float, float, float]]:  # type: ignore[no-untyped-def]
    return [(origin[0], origin[1], origin[2] + step * k) for k in range(SLICES)]


def test_marker_lands_at_its_world_position_in_ras(tmp_path: Path) -> None:
    write_ct_series(tmp_path, _stored(), _positions(), pixel_spacing_mm=SPACING)
    volume = read_ct(tmp_path)
    assert volume.orientation == "RAS" and volume.meta["source_orientation"] == "LPS"
    assert volume.spacing_mm == pytest.approx((0.8, 0.5, 2.0))
    assert volume.array.min() == pytest.approx(-1000.0) and volume.array.max() == pytest.approx(1500.0)
    row, column, k = 3, 7, 2
    lps = np.array([10.0 + column * 0.8, 20.0 + row * 0.5, -50.0 + 2.0 * k])
    marker = volume.voxel_to_world_mm(np.argwhere(volume.array == volume.array.max())[0])
    assert marker == pytest.approx([-lps[0], -lps[1], lps[2]])


def test_slices_are_ordered_by_position_not_by_name(tmp_path: Path) -> None:
    positions = _positions()
    shuffled = [positions[i] for i in (3, 0, 4, 1, 2)]
    stored = _stored()[:, :, [3, 0, 4, 1, 2]]
    write_ct_series(tmp_path, stored, shuffled, names=[f"{n}.dcm" for n in "abcde"])
    volume = read_ct(tmp_path)
    assert volume.meta["files_in_order"] == ["b.dcm", "d.dcm", "e.dcm", "a.dcm", "c.dcm"]
    marker_k = np.argwhere(volume.array == volume.array.max())[0][2]
    assert marker_k == 2


def test_rescale_slope_and_intercept_give_hu(tmp_path: Path) -> None:
    stored = np.full((ROWS, COLUMNS, SLICES), 100, dtype=np.uint16)
    write_ct_series(tmp_path, stored, _positions(), slope=0.5, intercept=-100.0)
    assert np.allclose(read_ct(tmp_path).array, -50.0)


@pytest.mark.parametrize("syntax", [JPEG2000Lossless, RLELossless], ids=["jpeg2000", "rle"])
def test_compressed_series_read_like_uncompressed(tmp_path: Path, syntax: str) -> None:
    write_ct_series(tmp_path / "plain", _stored(), _positions())
    write_ct_series(tmp_path / "packed", _stored(), _positions(), compress=syntax)
    packed = read_ct(tmp_path / "packed")
    assert np.array_equal(packed.array, read_ct(tmp_path / "plain").array)
    assert packed.meta["transfer_syntax"] == syntax.name


def test_several_series_need_a_choice(tmp_path: Path) -> None:
    write_ct_series(tmp_path / "a", _stored(), _positions(), series_uid="1.1")
    write_ct_series(tmp_path / "b", _stored(), _positions(), series_uid="2.2")
    with pytest.raises(InputError, match=r"2 series in folder.*--series.*1\.1.*2\.2"):
        read_ct(tmp_path)
    assert read_ct(tmp_path, series_uid="2.2").meta["series_uid"] == "2.2"
    with pytest.raises(InputError, match=r"no series with UID 9\.9"):
        read_ct(tmp_path, series_uid="9.9")


def test_stray_non_dicom_files_are_ignored(tmp_path: Path) -> None:
    write_ct_series(tmp_path, _stored(), _positions())
    (tmp_path / "README.txt").write_text("not an image")
    assert read_ct(tmp_path).shape == (COLUMNS, ROWS, SLICES)


def test_missing_slice_is_reported(tmp_path: Path) -> None:
    positions = _positions()
    del positions[2]
    write_ct_series(tmp_path, _stored()[:, :, [0, 1, 3, 4]], positions)
    with pytest.raises(InputError, match=r"1 slice\(s\) missing.*4\.00 mm gap"):
        read_ct(tmp_path)


def test_duplicate_positions_are_refused(tmp_path: Path) -> None:
    positions = _positions()
    positions[3] = positions[2]
    write_ct_series(tmp_path, _stored(), positions)
    with pytest.raises(InputError, match="same position"):
        read_ct(tmp_path)


def test_uneven_spacing_is_resampled_linearly_with_a_warning(tmp_path: Path) -> None:
    z = np.array([0.0, 2.0, 3.0, 5.0, 6.0])  # steps 2, 1, 2, 1 mm: regular step 1.5 mm
    stored = np.zeros((ROWS, COLUMNS, SLICES), np.uint16)
    stored[:] = (1024 + 10 * z).astype(np.uint16)  # HU = 10 × z
    write_ct_series(tmp_path, stored, [(0.0, 0.0, float(v)) for v in z])
    with pytest.warns(UserWarning, match="uneven slice spacing"):
        volume = read_ct(tmp_path)
    step = volume.spacing_mm[2]
    assert step == pytest.approx(1.5)
    z_of_k = volume.voxel_to_world_mm(
        np.c_[np.zeros(volume.shape[2]), np.zeros(volume.shape[2]), np.arange(volume.shape[2])]
    )[:, 2]
    assert volume.array[0, 0, :] == pytest.approx(10 * z_of_k, abs=1e-3)


def test_gantry_tilt_is_removed_with_a_warning(tmp_path: Path) -> None:
    tilt_shift_mm = 0.8  # each slice origin moves 0.8 mm (one row) along LPS +y per 2 mm step
    positions = [(0.0, tilt_shift_mm * k, 2.0 * k) for k in range(SLICES)]
    stored = np.full((ROWS, COLUMNS, SLICES), 24, dtype=np.uint16)
    for k in range(SLICES):
        stored[10, 12, k] = 2524  # the same row in every slice: a rod tilted with the gantry
    write_ct_series(tmp_path, stored, positions, pixel_spacing_mm=(0.8, 0.8))
    with pytest.warns(UserWarning, match="gantry tilt of 21.80 deg"):
        volume = read_ct(tmp_path)
    for k in range(SLICES):
        expected_lps = np.array([12 * 0.8, 10 * 0.8 + tilt_shift_mm * k, 2.0 * k])
        index = volume.world_mm_to_voxel([-expected_lps[0], -expected_lps[1], expected_lps[2]])
        assert volume.array[tuple(np.round(index).astype(int))] == pytest.approx(1500.0)


def test_mr_series_is_not_a_ct(tmp_path: Path) -> None:
    write_ct_series(tmp_path, _stored(), _positions(), modality="MR")
    with pytest.raises(InputError, match="is a MR series, not CT"):
        read_ct(tmp_path)


def test_radiograph_given_as_ct_is_refused(tmp_path: Path) -> None:
    path = save(radiograph(np.zeros((8, 8), np.uint16)), tmp_path / "xray.dcm")
    with pytest.raises(InputError, match=r"radiograph \(DX\), not a CT"):
        read_ct(path)
    with pytest.raises(InputError, match=r"radiograph \(DX\), not a CT series"):
        read_ct(tmp_path)


def test_single_ct_slice_file_asks_for_the_folder(tmp_path: Path) -> None:
    path = save(ct_slice(np.zeros((8, 8), np.uint16), (0, 0, 0)), tmp_path / "one.dcm")
    with pytest.raises(InputError, match="single CT slice"):
        read_ct(path)


def test_multi_frame_ct_is_refused(tmp_path: Path) -> None:
    ds = ct_slice(np.zeros((8, 8), np.uint16), (0, 0, 0))
    ds.NumberOfFrames = 2
    ds.PixelData = ds.PixelData * 2
    save(ds, tmp_path / "enhanced.dcm")
    with pytest.raises(InputError, match="multi-frame"):
        read_ct(tmp_path)


def test_empty_folder_and_folder_without_dicom(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="empty folder"):
        read_ct(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="no DICOM images"):
        read_ct(tmp_path)


def test_truncated_slice_names_the_file(tmp_path: Path) -> None:
    paths = write_ct_series(tmp_path, _stored(), _positions())
    paths[1].write_bytes(paths[1].read_bytes()[:-700])
    with pytest.raises(InputError, match=paths[1].name):
        read_ct(tmp_path)


def test_real_jpeg2000_series_reads_all_slices_in_position_order(real: Path) -> None:
    folder = real / "totalsegmentator_example_ct_dicom" / "dicom"
    volume = read_ct(folder)
    assert volume.shape == (512, 512, 20)
    assert volume.spacing_mm == pytest.approx((0.9765625, 0.9765625, 2.0))
    z = volume.voxel_to_world_mm(np.c_[np.zeros(20), np.zeros(20), np.arange(20)])[:, 2]
    assert z[0] == pytest.approx(-804.5) and z[-1] == pytest.approx(-766.5)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    reference = sitk.GetArrayFromImage(reader.Execute())  # (z, row, column), LPS, sorted by z
    assert np.array_equal(volume.array, reference.transpose(2, 1, 0)[::-1, ::-1, :])


def test_real_las_labels_land_on_the_dicom_voxels(real: Path, tmp_path: Path) -> None:
    folder = real / "totalsegmentator_example_ct_dicom"
    ct = read_ct(folder / "dicom")
    labels = read_labels(folder / "example_seg_dicom_v2.nii.gz", like=ct)
    assert labels.meta["source_orientation"] == "LAS"
    liver, spleen = labels.array == 5, labels.array == 1
    assert 30 < np.median(ct.array[liver]) < 250  # soft tissue HU where the liver label is
    inside_body = ct.array[labels.array > 0] > -300
    assert inside_body.mean() > 0.95  # an anterior-posterior flip leaves ~28 % of labels in air
    liver_x = ct.voxel_to_world_mm(np.argwhere(liver).mean(axis=0))[0]
    spleen_x = ct.voxel_to_world_mm(np.argwhere(spleen).mean(axis=0))[0]
    assert liver_x > 0 > spleen_x  # liver on the patient's right (+x in RAS)
    shuffled = tmp_path / "series"
    shutil.copytree(folder / "dicom", shuffled)
    for index, path in enumerate(sorted(shuffled.iterdir())):
        path.rename(shuffled / f"{(index * 7) % 20:02d}_{index}.dcm")
    assert np.array_equal(read_ct(shuffled).array, ct.array)


def test_slice_cut_inside_its_header_is_named(tmp_path: Path) -> None:
    paths = write_ct_series(tmp_path, _stored(), _positions())
    paths[0].write_bytes(paths[0].read_bytes()[:300])  # keeps the DICM prefix, loses the rest
    with pytest.raises(InputError, match=paths[0].name):
        read_ct(tmp_path)


@pytest.mark.parametrize(
    ("keyword", "value", "message"),
    [
        ("PixelSpacing", [0.5], "PixelSpacing must hold 2"),
        ("PixelSpacing", [0.0, 0.5], "must be positive"),
        ("ImageOrientationPatient", [1, 0, 0, 1, 0, 0], "degenerate"),
    ],
)
def test_malformed_geometry_tags_are_named(
    tmp_path: Path, keyword: str, value: list[float], message: str
) -> None:
    paths = write_ct_series(tmp_path, _stored(), _positions())
    import pydicom

    for path in paths:
        ds = pydicom.dcmread(path)
        setattr(ds, keyword, value)
        ds.save_as(path)
    with pytest.raises(InputError, match=message):
        read_ct(tmp_path)


def test_density_flag_on_a_dicom_series_is_refused(tmp_path: Path) -> None:
    write_ct_series(tmp_path, _stored(), _positions())
    with pytest.raises(InputError, match="calibrate"):
        read_ct(tmp_path, unit="mg/cm3")
