"""Heatmap targets and peaks: a sampled Gaussian's peak is found exactly; a mirror swaps the sides."""

from __future__ import annotations

import numpy as np
import pytest

from hipbmd.localisation.heatmaps import LANDMARKS, find_peak, find_peaks, gaussian_heatmaps, mirror_landmarks


@pytest.mark.parametrize("point", [(20.0, 30.0), (17.37, 41.81), (5.5, 6.25), (33.9, 2.02)])
def test_target_peak_round_trip_is_sub_pixel_exact(point: tuple[float, float]) -> None:
    heatmap = gaussian_heatmaps([point], (40, 48), sigma_px=2.0)[0]
    peak = find_peak(heatmap)
    assert (peak.row, peak.col) == pytest.approx(point, abs=1e-5)  # float32 maps
    assert peak.height == pytest.approx(np.exp(-np.sum((np.round(point) - point) ** 2) / 8.0), rel=1e-6)


def test_absent_landmark_has_an_empty_target() -> None:
    maps = gaussian_heatmaps([(10.0, 10.0), (np.nan, np.nan)], (24, 24), sigma_px=1.5)
    assert maps.shape == (2, 24, 24)
    assert maps[0].max() == pytest.approx(1.0)
    assert not maps[1].any()
    assert find_peaks(maps)[1].height == 0.0


def test_peak_at_the_border_keeps_the_pixel() -> None:
    heatmap = np.zeros((8, 8), dtype=np.float32)
    heatmap[0, 7] = 1.0
    peak = find_peak(heatmap)
    assert (peak.row, peak.col, peak.height) == (0.0, 7.0, 1.0)


def test_mirror_swaps_sides_and_reflects_columns() -> None:
    assert LANDMARKS[0].startswith("right") and LANDMARKS[2].startswith("left")
    points = np.array([[10.0, 5.0], [30.0, 8.0], [11.0, 50.0], [31.0, 47.0]])
    mirrored = mirror_landmarks(points, width=60)
    np.testing.assert_allclose(mirrored, [[11.0, 9.0], [31.0, 12.0], [10.0, 54.0], [30.0, 51.0]])
    np.testing.assert_allclose(mirror_landmarks(mirrored, width=60), points)


def test_mirrored_target_equals_target_of_mirrored_image() -> None:
    points = np.array([[10.0, 5.3], [30.0, 8.0], [11.0, 50.2], [31.0, 47.0]])
    maps = gaussian_heatmaps(points, (40, 60), 2.0)
    swapped = gaussian_heatmaps(mirror_landmarks(points, 60), (40, 60), 2.0)
    np.testing.assert_allclose(swapped, maps[[2, 3, 0, 1], :, ::-1], atol=1e-6)
