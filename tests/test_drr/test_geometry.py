"""Pose parameterisation, projection of points and back-projection of pixels to rays."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hipbmd.drr.geometry import (
    PoseParameters,
    camera_from_radiograph,
    pixel_rays,
    project_points,
    rotation_matrix_deg,
    rotation_to_deg,
)
from hipbmd.errors import InputError
from hipbmd.types import Camera, Radiograph


def _camera(projection: str = "perspective", **pose: object) -> Camera:
    params = PoseParameters(sod_mm=1000.0, **pose)  # type: ignore[arg-type]
    return Camera((101, 121), (0.5, 0.4), 1200.0, projection=projection, pose=params.to_pose())  # type: ignore[arg-type]


def test_reference_ap_view_orientation() -> None:
    camera = _camera()
    centre, right, superior = project_points(camera, [[0, 0, 0], [10, 0, 0], [0, 0, 10]])
    assert centre == pytest.approx([50.0, 60.0])  # isocenter on the principal point
    assert right[1] < centre[1]  # the patient's right appears on the viewer's left
    assert superior[0] < centre[0]  # head at the top of the image
    assert right[1] == pytest.approx(60.0 - 10 * 1.2 / 0.4)  # magnification sdd/sod = 1.2


def test_anterior_shift_moves_towards_the_source() -> None:
    near = _camera(translation_mm=(0.0, 100.0, 0.0))
    point = project_points(near, [[10.0, 0.0, 0.0]])[0]
    assert point[1] == pytest.approx(60.0 - 10 * (1200.0 / 900.0) / 0.4)


def test_rotation_angles_round_trip() -> None:
    angles = (12.0, -7.5, 30.0)
    assert rotation_to_deg(rotation_matrix_deg(angles)) == pytest.approx(angles)
    about_z = rotation_matrix_deg((0.0, 0.0, 90.0))
    assert about_z @ [1.0, 0.0, 0.0] == pytest.approx([0.0, 1.0, 0.0])  # right-handed


def test_pose_parameters_json_round_trip() -> None:
    params = PoseParameters((1.0, 2.0, 3.0), (4.0, 5.0, 6.0), (7.0, 8.0, 9.0), 987.0)
    again = PoseParameters.from_dict(json.loads(json.dumps(params.to_dict())))
    assert again == params


@pytest.mark.parametrize("projection", ["perspective", "parallel"])
def test_rays_pass_through_the_points_that_project_to_their_pixels(projection: str) -> None:
    camera = _camera(projection, rotation_deg=(10.0, -5.0, 20.0), translation_mm=(3.0, -4.0, 5.0))
    rng = np.random.default_rng(0)
    points = rng.uniform(-40, 40, size=(20, 3))
    pixels = project_points(camera, points)
    starts, ends = pixel_rays(camera, pixels[:, 0], pixels[:, 1])
    direction = (ends - starts) / np.linalg.norm(ends - starts, axis=1, keepdims=True)
    offset = points - starts
    distance = np.linalg.norm(offset - (offset * direction).sum(1, keepdims=True) * direction, axis=1)
    assert distance.max() < 1e-9
    assert np.linalg.norm(ends - starts, axis=1) == pytest.approx(
        1200.0 if projection == "parallel" else np.linalg.norm(ends - starts, axis=1)
    )


def test_perspective_rays_start_at_the_source_and_end_on_the_detector() -> None:
    camera = _camera()
    starts, ends = pixel_rays(camera)
    assert starts.shape == (101 * 121, 3)
    assert np.allclose(starts, starts[0])  # one source point
    source_to_iso = np.linalg.norm(starts[0])
    assert source_to_iso == pytest.approx(1000.0)
    centre_pixel = 50 * 121 + 60
    assert np.linalg.norm(ends[centre_pixel] - starts[0]) == pytest.approx(1200.0)


def test_camera_from_radiograph_geometry() -> None:
    """The source–hip distance is the radiograph's one geometry: a tabletop 150 mm over the detector puts
    the hip 120 mm higher; an entrance surface 200 mm away puts it half-way into the body."""
    image = np.zeros((300, 200), np.float32)
    tabletop = Radiograph(image, (0.15, 0.15), "imager", sid_mm=1150.0, sod_mm=1000.0)
    camera, sod, notes = camera_from_radiograph(tabletop)
    assert (camera.shape, camera.pixel_spacing_mm, camera.sdd_mm, notes) == (
        (300, 200),
        (0.15, 0.15),
        1150.0,
        [],
    )
    assert sod == pytest.approx(1150.0 - 150.0 - 120.0)
    _, sod_from_magnification, _ = camera_from_radiograph(
        Radiograph(image, (0.15, 0.15), "imager", sid_mm=1200.0, magnification=1.2)
    )
    assert sod_from_magnification == pytest.approx(1200.0 - (55.0 + (200.0 - 55.0) / 2))
    _, _, assumed = camera_from_radiograph(Radiograph(image, (0.15, 0.15), "imager"))
    assert any("SID unknown" in n for n in assumed) and any(
        "above the detector (assumed)" in n for n in assumed
    )
    with pytest.raises(InputError, match="spacing unknown"):
        camera_from_radiograph(Radiograph(image, None, "unknown"), "hip.png")
