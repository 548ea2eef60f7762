"""Truth landmarks go from the truth DRR camera to radiograph pixels through detector millimetres."""

from __future__ import annotations

from pathlib import Path

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


def test_region_points_project_with_each_femurs_pose(sim_cohort: Path) -> None:
    for folder in sorted((sim_cohort / "cases").iterdir()):
        truth = CaseTruth.read(folder)
        for side in ("right", "left"):
            points = truth.femur_points_px(side)
            head_ct = truth.document["femurs"][side]["landmarks_ct"]["head_centre_mm"]
            # the pose as recorded reproduces the simulator's own projection of the head (to its rounding)
            np.testing.assert_allclose(
                truth.femur_ct_points_px(side, head_ct)[0], points["head_centre"], atol=0.05
            )
            head, base, distal = points["head_centre"], points["neck_base"], points["shaft_distal"]
            lesser = points["lesser_trochanter"]
            assert head[0] < base[0] < lesser[0] < distal[0]  # rows: head, neck base, trochanter, shaft
            spacing = truth.radiograph.pixel_spacing_mm[0]
            length_mm = float(np.linalg.norm(distal - base)) * spacing / truth.magnification
            assert 50.0 < length_mm <= 60.0 * 1.05  # 60 mm along the shaft, foreshortened by its tilt
        names = ("right_neck_base", "left_shaft_distal", "left_greater_trochanter")
        channels = truth_landmarks_px(truth, names)
        np.testing.assert_allclose(channels[1], truth.femur_points_px("left")["shaft_distal"])
        assert np.isfinite(channels).all()
