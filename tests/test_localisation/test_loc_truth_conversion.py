"""Truth landmarks go from the truth DRR camera to radiograph pixels through detector millimetres."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from hipbmd.localisation.data import truth_landmarks_px
from hipbmd.sim.case_truth import CaseTruth

CAMERA = {"shape": [1167, 1433], "sdd_mm": 1100.0}
RADIOGRAPH = {**CAMERA, "pixel_spacing_mm": [0.3, 0.3], "principal_point_px": [583.0, 716.0]}
DRR = {**CAMERA, "pixel_spacing_mm": [0.9, 0.9], "principal_point_px": [194.0, 238.33333333333334]}


def _truth(femurs: dict[str, object]) -> CaseTruth:
    return CaseTruth.from_json(
        {
            "case_id": "case",
            "site": "site_a_csi",
            "patient": {"sex": "F", "age_years": 70.0, "implant": None},
            "dxa_g_cm2": {"side": "right", "neck": 0.7, "total_hip": 0.8},
            "xray": {"side": "both", "sid_mm": 1100.0, "sod_mm": 950.0, "camera": RADIOGRAPH},
            "femur_drr": {"file": "truth/femur_drr.npz", "camera": DRR},
            "bone_drr": {"file": "truth/bone_drr.npz", "camera": DRR},
            "femurs": femurs,
        }
    )


def test_principal_points_coincide_and_pixels_scale_threefold() -> None:
    points = _truth({}).drr_to_radiograph_px([[194.0, 238.33333333333334], [195.0, 240.33333333333334]])
    np.testing.assert_allclose(points, [[583.0, 716.0], [586.0, 722.0]])


def test_truth_landmarks_in_channel_order() -> None:
    femur = {"landmarks_drr_px": {"head_centre": [214.1, 98.99], "lesser_trochanter": [317.53, 72.58]}}
    points = truth_landmarks_px(_truth({"right": femur}))
    np.testing.assert_allclose(
        points[0], [(214.1 - 194.0) * 3 + 583.0, (98.99 - 238.33333333333334) * 3 + 716.0]
    )
    assert np.isnan(points[2:]).all()  # no left femur in this truth
