"""The truth of a virtual case: what the simulator knows, written beside the files a site would hand over.

``truth.json`` holds the patient, the CT (scanner, phantom rods, joint angles), the radiograph (positioning,
geometry, pose), each femur (landmarks, pose in the radiograph, CT-aBMD) and the DXA values; ``truth/``
holds the femur densities, the femur DRRs in the radiograph's pose and the DXA-position images. Only
evaluation reads them.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hipbmd import __version__
from hipbmd.drr.geometry import (
    PoseParameters,
    camera_with_pose,
    project_points,
    rotation_matrix_deg,
    rotation_to_deg,
)
from hipbmd.drr.project_ct import camera_record
from hipbmd.drr.render import Projector
from hipbmd.femur.landmarks import FemurLandmarks
from hipbmd.io.array_files import save_arrays
from hipbmd.io.volume_writers import write_nifti
from hipbmd.sim.anatomy import placement
from hipbmd.sim.case_draw import SIDES, CaseDraw, CaseRequest
from hipbmd.sim.case_truth import CaseTruth
from hipbmd.sim.exam import RENDER_FACTOR, ExamGeometry, coarse_camera
from hipbmd.sim.femur_shape import FemurPlacement
from hipbmd.sim.population import Patient
from hipbmd.sim.radiograph_made import RadiographMade
from hipbmd.types import Camera, Side


def femur_pose_in_exam(exam: ExamGeometry, in_ct: FemurPlacement, in_xray: FemurPlacement) -> PoseParameters:
    """Pose of a femur *as it lies in the CT* with respect to the radiograph's camera.

    In the radiograph the femur is turned about its head centre H by J_x·J_ctᵀ relative to the CT (the
    mirror of a left femur cancels), so camera = R_ap·(R_p·(H + J_x·J_ctᵀ·(x − H) − I) + t) + sod: a pose
    about H with rotation R_p·J_x·J_ctᵀ and translation R_p·(H − I) + t.
    """
    head_centre_mm = np.asarray(in_ct.head_centre_mm, np.float64)
    patient_rotation = rotation_matrix_deg(exam.pose.rotation_deg)
    rotation = patient_rotation @ in_xray.joint_rotation() @ in_ct.joint_rotation().T
    shift = patient_rotation @ (head_centre_mm - np.asarray(exam.pose.isocenter_mm)) + np.asarray(
        exam.pose.translation_mm
    )
    h = (float(head_centre_mm[0]), float(head_centre_mm[1]), float(head_centre_mm[2]))
    t = (float(shift[0]), float(shift[1]), float(shift[2]))
    return PoseParameters(rotation_to_deg(rotation), t, h, exam.pose.sod_mm)


LANDMARK_NAMES = ("head_centre_mm", "neck_narrowest_mm", "lesser_trochanter_mm", "greater_trochanter_mm")


def write_truth(
    request: CaseRequest,
    draw: CaseDraw,
    made: RadiographMade,
    ct_landmarks: dict[Side, FemurLandmarks],
    ct_record: dict[str, Any],
    folder: Path,
) -> dict[str, Any]:
    """Write the truth files and return the truth record.

    ``made.bone_drr_g_cm2`` is the mineral of every bone (pelvis, spine, both femurs) along the
    radiograph's rays (g/cm²) on the femur DRRs' pixels: the first target of hierarchical decomposition
    training.
    """
    exam, positioning, bone_drr = made.exam, made.positioning, made.bone_drr_g_cm2
    truth_dir = folder / "truth"
    truth_dir.mkdir(exist_ok=True)
    drr_camera = coarse_camera(exam.camera, RENDER_FACTOR)
    sides: dict[str, Any] = {}
    drrs: dict[str, npt.ArrayLike] = {}
    for side in SIDES:
        in_ct = placement(draw.patient, side, draw.joints_ct[side])
        pose = femur_pose_in_exam(exam, in_ct, placement(draw.patient, side, positioning.joints[side]))
        camera = camera_with_pose(drr_camera, pose.to_pose())
        density = draw.femurs[side].density(in_ct)
        drrs[side] = Projector(density).render(camera).images[0]
        write_nifti(density, truth_dir / f"femur_density_{side}.nii.gz")
        sides[side] = _side_record(side, draw, ct_landmarks[side], camera, pose)
        result = draw.abmd[side]
        arrays: dict[str, npt.ArrayLike] = {"image_g_cm2": result.image_g_cm2, "bone": result.bone}
        arrays.update({f"roi_{name}": mask for name, mask in result.rois.masks.items()})
        save_arrays(truth_dir / f"dxa_pose_{side}.npz", arrays)
    save_arrays(truth_dir / "femur_drr.npz", drrs)
    save_arrays(truth_dir / "bone_drr.npz", {"all_bone": bone_drr})
    return {
        "hipbmd_version": __version__,
        "case_id": request.case_id,
        "seed": request.seed,
        "number": request.number,
        "site": request.site,
        "anatomy_source": request.anatomy,
        "anatomy_region": request.anatomy_region,
        "resolution": asdict(request.resolution),
        "patient": _patient_record(draw.patient),
        "ct": ct_record,
        "xray": {
            "file": made.file_name,
            "style": made.style.summary(),
            "positioning": positioning.to_dict(),
            "sid_mm": exam.sid_mm,
            "sod_mm": exam.sod_mm,
            "table_gap_mm": exam.table_gap_mm,
            "pose": exam.pose.to_dict(),
            "camera": camera_record(exam.camera),
            "side": exam.side,
        },
        "femur_drr": {
            "file": "truth/femur_drr.npz",
            "unit": "g/cm2",
            "camera": camera_record(drr_camera),
            "note": f"each femur's CT density rendered in its pose; pixels {RENDER_FACTOR}x the radiograph's",
        },
        "bone_drr": {
            "file": "truth/bone_drr.npz",
            "unit": "g/cm2",
            "camera": camera_record(drr_camera),
            "note": "mineral of all bones (pelvis, spine, both femurs) in the radiograph's pose, same pixels",
        },
        "femurs": sides,
        "dxa_g_cm2": {"side": draw.patient.index_side, **draw.dxa_g_cm2},
    }


def _side_record(
    side: Side, draw: CaseDraw, marks: FemurLandmarks, camera: Camera, pose: PoseParameters
) -> dict[str, Any]:
    points = np.stack([getattr(marks, name) for name in LANDMARK_NAMES])
    pixels = project_points(camera, points)
    return {
        "landmarks_ct": marks.to_dict(),
        "landmarks_drr_px": {
            name.removesuffix("_mm"): [round(float(v), 2) for v in px]
            for name, px in zip(LANDMARK_NAMES, pixels, strict=True)
        },
        "pose": pose.to_dict(),
        "ct_abmd": draw.abmd[side].summary(),
        "femur_density": f"truth/femur_density_{side}.nii.gz",
        "density_mg_cm3": asdict(draw.patient.femur_densities[side]),
        "shape": draw.patient.femur_shapes[side].summary(),
    }


def _patient_record(patient: Patient) -> dict[str, Any]:
    return {
        "age_years": patient.age_years,
        "sex": patient.sex,
        "height_cm": patient.height_cm,
        "bmi_kg_m2": patient.bmi_kg_m2,
        "index_side": patient.index_side,
        "target_neck_t_score": round(patient.target_neck_t_score, 4),
        "marrow_fat_fraction": round(patient.marrow_fat_fraction, 4),
        "implant": asdict(patient.implant) if patient.implant is not None else None,
        "osteophyte_mm": {side: shape.osteophyte_mm for side, shape in patient.femur_shapes.items()},
        "body": asdict(patient.body),
        "pelvis": asdict(patient.pelvis),
        "shape_model_femurs": (
            {side: asdict(draw) for side, draw in patient.shape_model_femurs.items()}
            if patient.shape_model_femurs is not None
            else None
        ),
        **({"real_ct": asdict(patient.real_ct)} if patient.real_ct is not None else {}),
    }


def manifest_row(truth: CaseTruth, folder: Path) -> dict[str, Any]:
    """The manifest row of a finished case: what a site hands over (no truth beyond the DXA values)."""
    case_id = truth.case_id
    ct_name = "ct" if (folder / "ct").is_dir() else "ct.nii.gz"
    return {
        "case_id": case_id,
        "site": truth.site,
        "style": truth.style_family,
        "anatomy": truth.anatomy_source,
        "age": truth.age_years,
        "sex": truth.sex,
        "side": truth.index_side,
        "ct": f"cases/{case_id}/{ct_name}",
        "labels": f"cases/{case_id}/labels.nii.gz",
        "xray": f"cases/{case_id}/{truth.radiograph_file}",
        "dxa_neck_g_cm2": round(truth.dxa_g_cm2["neck"], 4),
        "dxa_total_hip_g_cm2": round(truth.dxa_g_cm2["total_hip"], 4),
    }
