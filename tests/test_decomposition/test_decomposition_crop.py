from __future__ import annotations

import numpy as np
import pytest

from hipbmd.decomposition.crop import (
    CropGrid,
    CropPlacement,
    crop_points,
    crop_to_image,
    normalise_radiograph,
    sample_crop,
)

GRID = CropGrid(shape=(32, 40), spacing_mm=2.0, head_at=(0.25, 0.75))


def test_the_head_lands_on_its_crop_pixel() -> None:
    placement = CropPlacement((100.0, 150.0), (0.5, 0.5), 1.2, mirror=False)
    rows, cols = crop_points(GRID, placement)
    mapped = crop_to_image([GRID.head_px], GRID, placement)
    assert np.allclose(mapped, [[100.0, 150.0]])
    # one crop pixel is spacing × magnification at the detector: 2.0 × 1.2 / 0.5 = 4.8 image pixels
    assert rows[1, 0] - rows[0, 0] == pytest.approx(4.8)
    assert cols[0, 1] - cols[0, 0] == pytest.approx(4.8)


def test_a_left_hip_is_mirrored() -> None:
    right = crop_points(GRID, CropPlacement((100.0, 150.0), (0.5, 0.5), 1.0, mirror=False))[1]
    left = crop_points(GRID, CropPlacement((100.0, 150.0), (0.5, 0.5), 1.0, mirror=True))[1]
    assert np.allclose(right - 150.0, -(left - 150.0))


def test_crop_to_image_is_the_sampling_map() -> None:
    placement = CropPlacement((80.0, 90.0), (0.3, 0.4), 1.15, mirror=True)
    rows, cols = crop_points(GRID, placement)
    mapped = crop_to_image([[5, 7], [20, 33]], GRID, placement)
    assert np.allclose(mapped, [[rows[5, 7], cols[5, 7]], [rows[20, 33], cols[20, 33]]])


def test_a_uniform_image_crops_to_its_value_and_a_ramp_to_its_slope() -> None:
    placement = CropPlacement((200.0, 200.0), (0.5, 0.5), 1.0, mirror=False)
    uniform = np.full((400, 400), 0.7, np.float32)
    assert np.allclose(sample_crop(uniform, GRID, placement), 0.7, atol=1e-5)
    ramp = np.tile(np.arange(400, dtype=np.float32), (400, 1))  # value = column
    crop = sample_crop(ramp, GRID, placement)
    assert np.allclose(np.diff(crop, axis=1), 4.0, atol=1e-3)  # 2 mm / 0.5 mm per crop pixel


def test_outside_the_image_is_filled() -> None:
    placement = CropPlacement((2.0, 2.0), (0.5, 0.5), 1.0, mirror=False)
    crop = sample_crop(np.ones((50, 50), np.float32), GRID, placement, outside=0.0)
    assert crop[0, 0] == 0.0 and crop[-1, -1] == 0.0
    edge = sample_crop(np.ones((50, 50), np.float32), GRID, placement, outside=None)
    assert np.allclose(edge, 1.0)


def test_the_grid_round_trips_through_json() -> None:
    assert CropGrid.from_dict(GRID.to_dict()) == GRID


def test_radiograph_normalisation_ignores_gain_and_offset() -> None:
    crop = np.random.default_rng(0).normal(100, 20, (32, 32)).astype(np.float32)
    assert np.allclose(normalise_radiograph(crop), normalise_radiograph(3 * crop + 50), atol=1e-5)


@pytest.mark.parametrize(
    ("head", "outside"),
    [
        ((300.0, 260.0), None),
        ((30.0, 500.0), None),
        ((30.0, 500.0), 0.0),
        ((900.0, 10.0), None),
        ((700.0, 260.0), None),  # every crop point just beyond the bottom edge
        ((-400.0, 260.0), None),  # every crop point beyond the top edge
    ],
)
def test_a_crop_is_the_one_the_whole_filtered_image_gives(
    head: tuple[float, float], outside: float | None
) -> None:
    """Filtering only the window the crop covers changes nothing: inside the image, at its edges (the
    edge value or the fill beyond), and for a crop wholly beyond an edge, near or far."""
    from scipy import ndimage

    rng = np.random.default_rng(3)
    image = rng.normal(size=(600, 520)).astype(np.float32)
    grid = CropGrid((40, 40), 2.0, (0.3, 0.6))
    placement = CropPlacement(head, (0.3, 0.3), 1.2, mirror=True, turn_deg=12.0)
    step = 2.0 * 1.2 / 0.3
    sigma = 0.5 * np.sqrt(step * step - 1.0)
    rows, cols = crop_points(grid, placement)
    mode = "nearest" if outside is None else "constant"
    whole = ndimage.map_coordinates(
        ndimage.gaussian_filter(image, [sigma, sigma]), [rows, cols], order=1, mode=mode, cval=outside or 0.0
    )
    np.testing.assert_allclose(sample_crop(image, grid, placement, outside), whole, atol=1e-5)
