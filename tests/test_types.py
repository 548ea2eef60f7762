"""Core types: geometry helpers against hand-computed answers."""

from __future__ import annotations

import numpy as np
import pytest

from hipbmd.types import Camera, Pose, Radiograph, Volume, axis_codes


def test_volume_spacing_orientation_and_world_mapping() -> None:
    affine = np.array([[-0.5, 0, 0, 10], [0, -0.8, 0, 20], [0, 0, 2.0, -30], [0, 0, 0, 1]])
    volume = Volume(np.zeros((4, 5, 6), np.float32), affine, "HU")
    assert volume.spacing_mm == pytest.approx((0.5, 0.8, 2.0))
    assert volume.orientation == "LPS"
    world = volume.voxel_to_world_mm([2, 3, 4])
    assert world == pytest.approx([10 - 1.0, 20 - 2.4, -30 + 8.0])
    assert volume.world_mm_to_voxel(world) == pytest.approx([2, 3, 4])


def test_axis_codes_of_a_permuted_affine() -> None:
    # i runs superior, j towards the patient's left, k posterior.
    affine = np.array([[0, -1, 0, 0], [0, 0, -1, 0], [1, 0, 0, 0], [0, 0, 0, 1]], dtype=float)
    assert axis_codes(affine) == "SLP"


def test_volume_rejects_wrong_dimensions() -> None:
    with pytest.raises(ValueError, match="3-D"):
        Volume(np.zeros((4, 4), np.float32), np.eye(4), "HU")


def test_object_spacing_from_magnification_or_calibration() -> None:
    image = np.zeros((2, 2), np.float32)
    detector_only = Radiograph(image, (0.15, 0.15), "imager", magnification=1.25)
    assert detector_only.object_spacing_mm == pytest.approx((0.12, 0.12))
    calibrated = Radiograph(image, (0.15, 0.15), "calibrated", calibrated_spacing_mm=(0.11, 0.11))
    assert calibrated.object_spacing_mm == (0.11, 0.11)
    assert Radiograph(image, (0.15, 0.15), "imager").object_spacing_mm is None


def test_camera_defaults_to_central_principal_point() -> None:
    camera = Camera(shape=(100, 200), pixel_spacing_mm=(0.5, 0.25), sdd_mm=1000.0)
    assert camera.principal_point_px == (49.5, 99.5)
    assert camera.detector_size_mm == (50.0, 50.0)
    assert np.array_equal(camera.pose.matrix(), np.eye(4))


def test_pose_rejects_a_non_rotation() -> None:
    with pytest.raises(ValueError, match="orthonormal"):
        Pose(rotation=np.diag([1.0, 2.0, 1.0]))
