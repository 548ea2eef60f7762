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


@pytest.mark.parametrize("turn_deg", [0.0, 20.0, -35.0])
def test_a_turned_grid_shows_a_tilted_image_level(turn_deg: float) -> None:
    """A blob 60 mm right of the centre on an image tilted by ``turn_deg`` lands, on the grid turned by
    the same angle, 60 mm right of the centre: the tilt is undone, spacings (anisotropic) included."""
    from hipbmd.localisation.grid import to_turned_grid

    spacing, pitch, shape = (0.2, 0.25), 2.0, (900, 800)
    centre = ((shape[0] - 1) / 2.0, (shape[1] - 1) / 2.0)
    angle = np.radians(turn_deg)
    offset_mm = np.array([-np.sin(angle), np.cos(angle)]) * 60.0  # (0, 60) turned counter-clockwise
    blob = (centre[0] + offset_mm[0] / spacing[0], centre[1] + offset_mm[1] / spacing[1])
    rows, cols = np.indices(shape, dtype=np.float64)
    image = np.exp(-(((rows - blob[0]) * spacing[0]) ** 2 + ((cols - blob[1]) * spacing[1]) ** 2) / 50.0)
    working, valid, working_to_original = to_turned_grid(image, spacing, pitch, turn_deg)
    peak = np.unravel_index(np.argmax(working), working.shape)
    level = grid_map(shape, spacing, pitch).to_working([centre[0], centre[1] + 60.0 / spacing[1]])
    assert np.hypot(*(np.asarray(peak) - level)) <= 1.0  # where it lies on the untilted image's grid
    np.testing.assert_allclose(working_to_original.apply(level), blob, atol=1e-9)
    assert valid[working.shape[0] // 2, working.shape[1] // 2]
    assert valid.all() == (turn_deg == 0.0)  # a turned grid reaches beyond the image at its corners
