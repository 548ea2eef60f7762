"""The working grid: original ↔ working pixels, and resampling that keeps a blob where it was."""

from __future__ import annotations

import numpy as np
import pytest

from hipbmd.localisation.grid import grid_map, to_working_grid
from hipbmd.localisation.heatmaps import find_peak, gaussian_heatmaps


def test_map_round_trip_and_pixel_centres() -> None:
    mapping = grid_map((1000, 1229), (0.35, 0.25), pitch_mm=3.0)
    step = (3.0 / 0.35, 3.0 / 0.25)
    assert mapping.step_px == pytest.approx(step)
    assert mapping.shape == (int(np.ceil(1000 / step[0])), int(np.ceil(1229 / step[1])))
    # working pixel 0 is the centre of the first `step` original pixels
    assert mapping.to_original([0.0, 0.0]) == pytest.approx([(step[0] - 1) / 2, (step[1] - 1) / 2])
    points = np.array([[12.5, 700.25], [999.0, 0.0]])
    np.testing.assert_allclose(mapping.to_original(mapping.to_working(points)), points)


def test_resampled_blob_maps_back_to_its_original_position() -> None:
    centre = (203.3, 341.7)
    image = 100.0 * gaussian_heatmaps([centre], (400, 520), sigma_px=24.0)[0]
    working, valid, mapping = to_working_grid(image, (0.25, 0.25), pitch_mm=3.0)
    assert working.shape == mapping.shape == (34, 44)  # 400 / 12 and 520 / 12 rounded up
    assert valid[:-1, :-1].all() and not valid[-1].any() and not valid[:, -1].any()
    peak = find_peak(working)
    np.testing.assert_allclose(mapping.to_original([peak.row, peak.col]), centre, atol=0.3)


def test_valid_mask_marks_the_overhang() -> None:
    _, valid, mapping = to_working_grid(np.ones((49, 50), dtype=np.float32), (1.0, 1.0), pitch_mm=4.0)
    assert mapping.shape == (13, 13)  # the last centres: row 49.5 (outside 49 rows), col 49.5 (on the edge)
    assert valid[:12].all()
    assert not valid[12].any()
