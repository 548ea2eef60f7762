"""Partial-volume-aware CT-aBMD on the analytic femur scanned by a blurring CT inside soft tissue.

The "scan" is the phantom's density (1000 mg/cm³ bone with partial-volume edges) with 40 mg/cm³ of soft
tissue filling the rest of each voxel, blurred by a CT-like point-spread function (σ 0.6 mm in plane,
0.85 mm along z: a 2 mm slice profile); its label is the phantom's voxels at least half inside the bone.
The same regions measured on the clean phantom with the same outline are the answer the blurred scan
must give back.
"""

from __future__ import annotations

import functools

import femur_phantom as phantom
import numpy as np
import pytest
from scipy import ndimage

from hipbmd.femur.ct_abmd import ct_abmd
from hipbmd.femur.ct_bmd import edge_margin_mm
from hipbmd.femur.partial_volume import (
    cropped_to_content,
    femur_outline,
    femur_with_margin,
    surrounding_density_mg_cm3,
    surroundings_shell_mm,
)
from hipbmd.types import Volume

TISSUE_MG_CM3 = 40.0
BLUR_SIGMA_MM = (0.6, 0.6, 0.85)
PAD_VOXELS = 12
REGIONS = ("neck", "total_hip", "proximal_femur")


def _padded(volume: Volume, value: float) -> Volume:
    affine = volume.affine.copy()
    affine[:3, 3] -= affine[:3, :3] @ np.full(3, PAD_VOXELS)
    array = np.pad(volume.array, PAD_VOXELS, constant_values=value)
    return Volume(array.astype(volume.array.dtype), affine, volume.unit)


@functools.lru_cache(maxsize=1)
def _scan() -> tuple[Volume, Volume, Volume]:
    """(clean femur density, blurred scan with tissue, label map with the femur as 1), padded."""
    clean = _padded(phantom.volume("right"), 0.0)
    occupancy = clean.array / phantom.DENSITY_MG_CM3
    scanned = clean.array + TISSUE_MG_CM3 * (1.0 - occupancy)
    blurred = ndimage.gaussian_filter(scanned, BLUR_SIGMA_MM, mode="nearest").astype(np.float32)
    labels = Volume((occupancy >= 0.5).astype(np.uint8), clean.affine, "label")
    return clean, Volume(blurred, clean.affine, "mg/cm3"), labels


def test_surroundings_read_as_the_soft_tissue() -> None:
    _, scan, labels = _scan()
    assert surrounding_density_mg_cm3(scan, labels, 1) == pytest.approx(TISSUE_MG_CM3, abs=1.0)


def test_the_margin_recovers_the_mineral_the_blur_moved_out_of_the_label() -> None:
    clean, scan, labels = _scan()
    mass = float(clean.array.sum())
    cut = float(np.where(labels.array == 1, scan.array, 0.0).sum())
    recovered = float(femur_with_margin(scan, labels, 1, 3.0).array.sum())
    assert cut < 0.97 * mass  # the label alone loses several percent to the blur
    assert recovered == pytest.approx(mass, rel=0.005)


def test_blurred_scan_in_tissue_gives_the_clean_femurs_abmd() -> None:
    clean, scan, labels = _scan()
    landmarks = phantom.landmarks("right")
    truth = ct_abmd(clean, landmarks, labels, 1, edge_margin_mm=3.0)
    measured = ct_abmd(scan, landmarks, labels, 1, edge_margin_mm=3.0)
    cut_at_label = ct_abmd(scan, landmarks, labels, 1)
    for name in REGIONS:
        assert measured.abmd_g_cm2[name] == pytest.approx(truth.abmd_g_cm2[name], rel=0.01)
        assert cut_at_label.abmd_g_cm2[name] < 0.97 * truth.abmd_g_cm2[name]
        assert measured.vbmd_mg_cm3[name] == pytest.approx(truth.vbmd_mg_cm3[name], rel=0.01)


def test_clean_femur_with_its_outline_reads_its_density() -> None:
    clean, _, labels = _scan()
    result = ct_abmd(clean, phantom.landmarks("right"), labels, 1, edge_margin_mm=3.0)
    for name in REGIONS:  # all of the mineral over the volume of the voxels at least half inside
        assert result.vbmd_mg_cm3[name] == pytest.approx(phantom.DENSITY_MG_CM3, rel=0.03)


def test_outline_is_the_label_as_unit_attenuation_cropped_in_place() -> None:
    cube = np.zeros((10, 10, 10), np.uint8)
    cube[2:7, 3:5, 1:9] = 4
    cube[0, 0, 0] = 2  # another structure
    outline = femur_outline(Volume(cube, np.eye(4), "label"), 4)
    assert outline.unit == "1/mm" and outline.shape == (5, 2, 8)
    assert np.all(outline.array == 1.0)
    assert np.allclose(outline.affine[:3, 3], [2.0, 3.0, 1.0])


def _blocks_scan(
    tissue: np.ndarray, gap_voxels: int = 4, other_mg_cm3: float = 1000.0
) -> tuple[Volume, Volume, float]:
    """A 1000 mg/cm³ bone block (label 1) ``gap_voxels`` (1 mm) from another (label 2), in ``tissue``,
    blurred: (scan, labels, the first block's mineral in mg/cm³·voxel)."""
    clean = np.zeros(tissue.shape, np.float32)
    labels = np.zeros(tissue.shape, np.uint8)
    clean[10:20, 10:30, 10:30], labels[10:20, 10:30, 10:30] = 1000.0, 1
    other = slice(20 + gap_voxels, 30 + gap_voxels)
    clean[other, 10:30, 10:30], labels[other, 10:30, 10:30] = other_mg_cm3, 2
    scanned = np.where(labels > 0, clean, tissue)
    blurred = ndimage.gaussian_filter(scanned, BLUR_SIGMA_MM, mode="nearest").astype(np.float32)
    mass = float(clean[labels == 1].sum())
    return Volume(blurred, np.eye(4), "mg/cm3"), Volume(labels, np.eye(4), "label"), mass


def test_the_margin_stays_out_of_a_neighbouring_bone_s_blur() -> None:
    scan, labels, mass = _blocks_scan(np.full((44, 40, 40), TISSUE_MG_CM3, np.float32))
    recovered = float(femur_with_margin(scan, labels, 1, 3.0).array.sum())
    assert recovered == pytest.approx(mass, rel=0.003)


def test_bones_in_contact_each_get_their_own_mineral_back() -> None:
    tissue = np.full((44, 40, 40), TISSUE_MG_CM3, np.float32)
    scan, labels, mass = _blocks_scan(tissue, gap_voxels=0, other_mg_cm3=300.0)
    recovered = float(femur_with_margin(scan, labels, 1, 3.0).array.sum())
    cut_at_label = float(np.where(labels.array == 1, scan.array, 0.0).sum())
    assert abs(cut_at_label / mass - 1.0) > 0.03  # the blur moves mineral across the contact
    assert recovered == pytest.approx(mass, rel=0.01)


def test_fat_on_one_side_and_muscle_on_the_other_are_each_removed() -> None:
    tissue = np.full((44, 40, 40), TISSUE_MG_CM3, np.float32)
    tissue[:, :20] = -90.0  # fat over half of the block's surroundings
    scan, labels, mass = _blocks_scan(tissue)
    recovered = float(femur_with_margin(scan, labels, 1, 3.0).array.sum())
    assert recovered == pytest.approx(mass, rel=0.01)


def test_labels_on_another_grid_are_refused() -> None:
    _, scan, labels = _scan()
    shifted = Volume(labels.array, labels.affine + np.diag([0, 0, 0, 0.0]) + _shift(2.0), "label")
    with pytest.raises(ValueError, match="grid"):
        femur_with_margin(scan, shifted, 1, 3.0)


def _shift(mm: float) -> np.ndarray:
    offset = np.zeros((4, 4))
    offset[0, 3] = mm
    return offset


def test_label_without_surrounding_tissue_is_refused() -> None:
    everywhere = Volume(np.ones((6, 6, 6), np.uint8), np.eye(4), "label")
    density = Volume(np.full((6, 6, 6), 500.0, np.float32), np.eye(4), "mg/cm3")
    with pytest.raises(ValueError, match="too little unlabelled tissue"):
        femur_with_margin(density, everywhere, 1, 3.0)


def test_empty_volume_cannot_be_cropped() -> None:
    with pytest.raises(ValueError, match="empty"):
        cropped_to_content(Volume(np.zeros((3, 3, 3), np.float32), np.eye(4), "mg/cm3"))


def test_margin_needs_calibrated_density() -> None:
    _, scan, labels = _scan()
    with pytest.raises(ValueError, match="mg/cm3"):
        femur_with_margin(Volume(scan.array, scan.affine, "HU"), labels, 1, 3.0)


def test_the_margin_widens_with_the_scan_s_slices_and_the_surroundings_move_out() -> None:
    fine = Volume(np.zeros((2, 2, 2), np.uint8), np.diag([0.9, 0.9, 2.0, 1.0]), "label")
    coarse = Volume(np.zeros((2, 2, 2), np.uint8), np.diag([0.8, 0.8, 4.5, 1.0]), "label")
    assert edge_margin_mm(fine) == pytest.approx(3.0)
    assert edge_margin_mm(coarse) == pytest.approx(6.75)
    assert surroundings_shell_mm(3.0) == (4.0, 8.0)
    assert surroundings_shell_mm(6.75) == (7.75, 11.75)
