"""The frame changes of a radiograph: analytic maps that compose and invert as a whole."""

from __future__ import annotations

import numpy as np
import pytest

from hipbmd.decomposition.crop import CropGrid, CropPlacement, crop_frame, crop_points
from hipbmd.frames import Affine2D
from hipbmd.localisation.grid import grid_map
from hipbmd.localisation.orientation import DisplayOrientation, display_transform


def test_scale_shift_and_flips_are_the_maps_they_name() -> None:
    np.testing.assert_allclose(Affine2D.scale_shift((2.0, 0.5), (1.0, -3.0)).apply([3.0, 4.0]), [7.0, -1.0])
    flips = Affine2D.flips((10, 20), rows=True, cols=True)
    np.testing.assert_allclose(flips.apply([[0.0, 0.0], [9.0, 19.0]]), [[9.0, 19.0], [0.0, 0.0]])
    np.testing.assert_allclose(flips.then(flips).matrix, np.eye(3))


def test_then_applies_in_order_and_inverse_undoes_the_chain() -> None:
    first = Affine2D.scale_shift((2.0, 3.0), (1.0, 1.0))
    second = Affine2D.flips((50, 60), cols=True)
    chain = first.then(second)
    points = np.array([[1.0, 2.0], [10.5, -4.0]])
    np.testing.assert_allclose(chain.apply(points), second.apply(first.apply(points)))
    np.testing.assert_allclose(chain.inverse().apply(chain.apply(points)), points)


def test_a_singular_or_malformed_matrix_is_refused() -> None:
    with pytest.raises(ValueError, match="invertible"):
        Affine2D.scale_shift((0.0, 1.0), (0.0, 0.0))
    with pytest.raises(ValueError, match="3x3"):
        Affine2D(np.ones((3, 3)))


def test_file_to_working_goes_forward_once_and_back_once() -> None:
    shape, spacing, pitch = (300, 400), (0.2, 0.25), 2.0
    mapping = grid_map(shape, spacing, pitch)
    display = display_transform(DisplayOrientation(mirrored=True, upside_down=False, source="dicom"), shape)
    file_to_working = display.then(mapping.original_to_working)
    # the file's top-right pixel is the display's top-left, working pixel (0, 0) up to the grid's origin
    corner = file_to_working.apply([0.0, shape[1] - 1.0])
    np.testing.assert_allclose(corner, -np.asarray(mapping.origin_px) / np.asarray(mapping.step_px))
    assert file_to_working.inverse().scale[0] * spacing[0] == pytest.approx(pitch)
    points = np.array([[12.0, 33.0], [250.5, 10.25]])
    np.testing.assert_allclose(file_to_working.inverse().apply(file_to_working.apply(points)), points)


def test_the_crop_frame_puts_the_head_at_its_place_and_mirrors_left_hips() -> None:
    grid = CropGrid((64, 64), 1.25, (0.3, 0.6))
    placement = CropPlacement((200.0, 300.0), (0.25, 0.25), 1.2, mirror=True)
    frame = crop_frame(grid, placement)
    np.testing.assert_allclose(frame.apply(grid.head_px), placement.head_px)
    step = 1.25 * 1.2 / 0.25  # image pixels per crop pixel
    np.testing.assert_allclose(frame.apply(np.add(grid.head_px, (1.0, 1.0))), (200.0 + step, 300.0 - step))
    rows, cols = crop_points(grid, placement)
    np.testing.assert_allclose([rows[5, 7], cols[5, 7]], frame.apply([5.0, 7.0]), rtol=1e-6)


def test_a_turn_takes_the_column_axis_up_the_display_for_a_positive_angle() -> None:
    turn = Affine2D.turn(np.radians(30.0))
    np.testing.assert_allclose(turn.apply([0.0, 1.0]), [-0.5, np.sqrt(3) / 2], atol=1e-12)
    np.testing.assert_allclose(turn.then(Affine2D.turn(np.radians(-30.0))).matrix, np.eye(3), atol=1e-12)


@pytest.mark.parametrize("mirror", [False, True])
def test_a_turned_crop_turns_about_the_head_by_its_angle(mirror: bool) -> None:
    grid = CropGrid((64, 64), 1.25, (0.3, 0.6))
    placement = CropPlacement((200.0, 300.0), (0.25, 0.25), 1.2, mirror=mirror, turn_deg=20.0)
    frame = crop_frame(grid, placement)
    np.testing.assert_allclose(frame.apply(grid.head_px), placement.head_px)
    step = 1.25 * 1.2 / 0.25
    along_columns = frame.apply(np.add(grid.head_px, (0.0, 1.0))) - placement.head_px
    sign = -1.0 if mirror else 1.0  # a mirrored crop's columns run toward the image's left
    angle = np.radians(20.0)
    np.testing.assert_allclose(along_columns, step * np.array([-np.sin(angle), sign * np.cos(angle)]))
