"""Truth landmarks go from the truth DRR camera to radiograph pixels through detector millimetres."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from hipbmd.localisation.data import drr_to_radiograph_px, truth_landmarks_px

RADIOGRAPH = {"pixel_spacing_mm": [0.3, 0.3], "principal_point_px": [583.0, 716.0]}
DRR = {"pixel_spacing_mm": [0.9, 0.9], "principal_point_px": [194.0, 238.33333333333334]}


def test_principal_points_coincide_and_pixels_scale_threefold() -> None:
    points = drr_to_radiograph_px([[194.0, 238.33333333333334], [195.0, 240.33333333333334]], DRR, RADIOGRAPH)
    np.testing.assert_allclose(points, [[583.0, 716.0], [586.0, 722.0]])


def test_truth_landmarks_in_channel_order() -> None:
    femur = {"landmarks_drr_px": {"head_centre": [214.1, 98.99], "lesser_trochanter": [317.53, 72.58]}}
    truth = {"femur_drr": {"camera": DRR}, "xray": {"camera": RADIOGRAPH}, "femurs": {"right": femur}}
    points = truth_landmarks_px(truth)
    np.testing.assert_allclose(
        points[0], [(214.1 - 194.0) * 3 + 583.0, (98.99 - 238.33333333333334) * 3 + 716.0]
    )
    assert np.isnan(points[2:]).all()  # no left femur in this truth
