"""Coarser-scan and scan-edge augmentation of segmentation training patches."""

from __future__ import annotations

import numpy as np
import pytest

from hipbmd.segmentation.scan_augment import OUTSIDE_HU, coarser_scan, cut_scan, random_cut_scan
from hipbmd.segmentation.train_data import PatchSampler, TrainingVolume


def z_step(size: int = 24) -> np.ndarray:
    hu = np.zeros((size, size, size), dtype=np.float32)
    hu[:, :, size // 2 :] = 1000.0
    return hu


def edge_width(profile: np.ndarray) -> int:
    """Voxels between 10 % and 90 % of a rising 0…1000 profile."""
    return int(np.sum((profile > 100.0) & (profile < 900.0)))


def test_factors_at_or_below_one_leave_the_patch_alone() -> None:
    hu = np.random.default_rng(0).normal(0, 100, (12, 12, 12)).astype(np.float32)
    np.testing.assert_allclose(coarser_scan(hu, (1.0, 0.8, 1.0), (0.3, 0.5, 0.1)), hu, atol=1e-3)


def test_thick_slices_blur_across_slices_only() -> None:
    hu = z_step()
    thick = coarser_scan(hu, (1.0, 1.0, 2.5), (0.0, 0.0, 0.4))
    assert edge_width(hu[5, 5]) == 0
    assert edge_width(thick[5, 5]) >= 2
    np.testing.assert_allclose(thick[:, :, 5], thick[0, 0, 5], atol=1e-3)  # in plane unchanged
    assert thick[5, 5, 0] == pytest.approx(0.0, abs=1.0) and thick[5, 5, -1] == pytest.approx(1000.0, abs=1.0)


def test_a_uniform_patch_stays_uniform() -> None:
    hu = np.full((16, 16, 16), 240.0, dtype=np.float32)
    np.testing.assert_allclose(coarser_scan(hu, (1.7, 1.7, 2.4), (0.2, 0.7, 0.9)), 240.0, rtol=1e-5)


def test_coarser_voxels_keep_the_mean_of_a_smooth_object() -> None:
    grid = np.indices((24, 24, 24)).astype(np.float32)
    ball = 1000.0 * (np.sum((grid - 11.5) ** 2, axis=0) < 36).astype(np.float32)
    coarse = coarser_scan(ball, (1.8, 1.8, 2.5), (0.5, 0.5, 0.5))
    assert coarse.sum() == pytest.approx(ball.sum(), rel=0.05)


def test_the_cut_scan_is_air_and_background_beyond_the_plane() -> None:
    hu = np.full((6, 6, 10), 300.0, dtype=np.float32)
    targets = np.zeros((3, 6, 6, 10), dtype=np.float32)
    targets[1] = 1.0
    cut_hu, cut_targets = cut_scan(hu, targets, 4, keep_below=True)
    assert np.all(cut_hu[:, :, 4:] == OUTSIDE_HU) and np.all(cut_hu[:, :, :4] == 300.0)
    assert np.all(cut_targets[0, :, :, 4:] == 1.0) and np.all(cut_targets[1:, :, :, 4:] == 0.0)
    assert np.all(cut_targets[1, :, :, :4] == 1.0)
    above_hu, _ = cut_scan(hu, targets, 4, keep_below=False)
    assert np.all(above_hu[:, :, :4] == OUTSIDE_HU) and np.all(above_hu[:, :, 4:] == 300.0)
    assert np.all(hu == 300.0)  # inputs untouched


def test_a_random_cut_lies_in_the_middle_half() -> None:
    hu = np.zeros((4, 4, 16), dtype=np.float32)
    targets = np.zeros((2, 4, 4, 16), dtype=np.float32)
    rng = np.random.default_rng(1)
    for _ in range(20):
        cut_hu, _ = random_cut_scan(hu, targets, rng)
        removed = int(np.sum(cut_hu[0, 0] == OUTSIDE_HU))
        assert 4 <= removed <= 12


def test_the_sampler_applies_them_with_their_probabilities() -> None:
    hu = np.full((40, 40, 40), 500.0, dtype=np.float16)
    targets = np.zeros((2, 40, 40, 40), dtype=np.float16)
    targets[1] = 1.0
    volume = TrainingVolume("v", hu, targets, [np.array([[20, 20, 20]])])
    always = PatchSampler([volume], 16, seed=0, coarse_probability=1.0, cut_probability=1.0)
    never = PatchSampler([volume], 16, seed=0)
    with_cut = [always.patch() for _ in range(10)]
    for patch_hu, patch_targets in with_cut:  # patches drawn around the centre lie inside the volume
        air = patch_hu < -800
        assert 0.2 <= air.mean() <= 0.8
        assert np.all(patch_targets[0][air] == 1.0) and np.all(patch_targets[1][~air] == 1.0)
    assert all(np.all(never.patch()[0] > 0) for _ in range(10))
