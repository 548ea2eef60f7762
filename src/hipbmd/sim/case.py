"""One virtual case, end to end: patient, CT with phantom, radiograph, DXA, and the truth behind them.

Files of a case (DESIGN.md, on-disk cohort format)::

    cases/<case_id>/ct.nii.gz or ct/ (DICOM series)   CT in HU with the calibration phantom
    cases/<case_id>/labels.nii.gz                      femurs, hip bones, sacrum, implant
    cases/<case_id>/xray.dcm                           the radiograph (DICOM DX)
    cases/<case_id>/truth.json                         everything the simulator knows (evaluation only)
    cases/<case_id>/truth/                             femur densities, femur DRRs, DXA-pose projection

Everything random is drawn from one generator seeded by (cohort seed, case number), so a case is the same
whatever else is simulated and in whatever order.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hipbmd import __version__
from hipbmd.calibration.phantoms import load_phantom
from hipbmd.drr.geometry import PoseParameters, rotation_matrix_deg, rotation_to_deg
from hipbmd.drr.project_ct import camera_record
from hipbmd.drr.render import Projector
from hipbmd.femur.ct_abmd import CTaBMDResult, ct_abmd
from hipbmd.femur.landmarks import FemurLandmarks, Side
from hipbmd.io.dicom_dx import write_dx
from hipbmd.io.volume_writers import CTSeriesInfo, write_ct_series, write_nifti
from hipbmd.sim.anatomy import JointPose, build_surroundings, femur_density_volume, placement, with_femurs
from hipbmd.sim.ct import simulate_ct
from hipbmd.sim.dxa import DXAModel, simulate_dxa
from hipbmd.sim.exam import (
    RENDER_FACTOR,
    ExamGeometry,
    coarse_camera,
    ct_joints,
    draw_positioning,
    exam_geometry,
    line_integrals,
)
from hipbmd.sim.grid import Grid
from hipbmd.sim.phantom_rods import RodLayout, phantom_slab
from hipbmd.sim.population import Patient, neck_abmd_from_t_score, sample_patient
from hipbmd.sim.scanners import SCANNERS, SITE_SCANNERS
from hipbmd.sim.sites import SITE_PROFILES
from hipbmd.sim.xray import dx_acquisition, simulate_radiograph
from hipbmd.types import Camera, Volume

CT_RANGE_MM = (
    -130.0,
    70.0,
)  # scanned height relative to the hip centres: acetabular roof to below the trochanters
XRAY_RANGE_MM = (-200.0, 175.0)  # anatomy built for the radiograph: iliac crests to mid-thigh
WORKING_SPACING_MM = 1.0
SIDES: tuple[Side, Side] = ("right", "left")


@dataclass(frozen=True)
class CaseRequest:
    """What to simulate: the case's id, number, site and the cohort's seed."""

    case_id: str
    number: int
    site: str
    seed: int


def case_rng(seed: int, number: int) -> np.random.Generator:
    """The case's own random generator."""
    return np.random.default_rng([seed, number])


def simulate_case(request: CaseRequest, folder: Path) -> dict[str, Any]:
    """Simulate one case into ``folder`` (via ``<folder>.partial``); returns its manifest row."""
    rng = case_rng(request.seed, request.number)
    profile = SITE_PROFILES[request.site]
    scanner = SCANNERS[SITE_SCANNERS[request.site]]
    patient = sample_patient(rng)
    joints_ct = ct_joints(rng)
    positioning = draw_positioning(rng)
    patient, femurs, abmd = _scaled_to_target(patient, joints_ct)
    partial = folder.with_name(folder.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    grid = working_grid(patient)
    surroundings = build_surroundings(patient, grid, rng)
    ct_tissues, ct_landmarks = with_femurs(surroundings, patient, joints_ct)
    back_y = patient.body.centre_y_mm - patient.body.depth_mm / 2
    slab = phantom_slab(grid, load_phantom(scanner.phantom), RodLayout(back_y - 1.0))
    drift = float(rng.normal(0.0, 0.005))
    ct, labels = simulate_ct(ct_tissues, slab, scanner, CT_RANGE_MM, patient.body.width_mm, rng, drift)
    del ct_tissues
    _write_ct(ct, labels, partial, scanner.file_format, request, patient)
    xray_tissues, xray_landmarks = with_femurs(surroundings, patient, positioning.joints)
    del surroundings
    exam = exam_geometry(patient, profile, positioning, xray_landmarks, rng)
    image = simulate_radiograph(
        line_integrals(xray_tissues, exam.camera), exam.camera.pixel_spacing_mm, exam.sid_mm, profile, rng
    )
    del xray_tissues
    laterality = exam.side or "both"
    acquisition = dx_acquisition(
        profile,
        exam.sid_mm,
        exam.sod_mm,
        exam.camera.pixel_spacing_mm,
        patient.age_years,
        patient.sex,
        laterality,
    )
    write_dx(image, partial / "xray.dcm", acquisition, patient_id=request.case_id)
    dxa = simulate_dxa(abmd[patient.index_side].abmd_g_cm2, rng, DXAModel())
    truth = _truth(
        request,
        patient,
        joints_ct,
        positioning.to_dict(),
        exam,
        femurs,
        abmd,
        ct_landmarks,
        dxa,
        slab.rods,
        scanner.name,
        drift,
        partial,
    )
    (partial / "truth.json").write_text(json.dumps(truth, indent=1))
    _replace_folder(partial, folder)
    return manifest_row(truth, folder)


def working_grid(patient: Patient) -> Grid:
    """The 1 mm grid of the anatomy: the body's whole cross-section, the phantom, the radiograph's height."""
    body = patient.body
    back_y = body.centre_y_mm - body.depth_mm / 2
    low = (-body.width_mm / 2 - 6.0, back_y - 60.0, XRAY_RANGE_MM[0])
    high = (body.width_mm / 2 + 6.0, body.centre_y_mm + body.depth_mm / 2 + 6.0, XRAY_RANGE_MM[1])
    return Grid.covering(low, high, (WORKING_SPACING_MM,) * 3)


def _scaled_to_target(
    patient: Patient, joints: dict[Side, JointPose]
) -> tuple[Patient, dict[Side, Volume], dict[Side, CTaBMDResult]]:
    """Scale femur densities so the index femur's CT-aBMD gives the patient's target DXA aBMD.

    aBMD is linear in a global density factor (the bone outline does not change), so two passes suffice.
    """
    model = DXAModel()
    wanted_dxa = neck_abmd_from_t_score(patient.target_neck_t_score)
    wanted = max((wanted_dxa - model.intercept_g_cm2("neck")) / model.slope("neck"), 0.2)
    side = patient.index_side
    volume = femur_density_volume(patient, side, joints[side])
    factor = 1.0
    for _ in range(2):
        measured = ct_abmd(_scaled(volume, factor), _landmarks(patient, side, joints[side])).abmd_g_cm2[
            "neck"
        ]
        factor *= wanted / measured
    patient = patient.with_density_scale(factor)
    femurs = {s: femur_density_volume(patient, s, joints[s]) for s in SIDES}
    abmd = {s: ct_abmd(femurs[s], _landmarks(patient, s, joints[s])) for s in SIDES}
    return patient, femurs, abmd


def _scaled(volume: Volume, factor: float) -> Volume:
    return Volume(volume.array * np.float32(factor), volume.affine, volume.unit, volume.meta)


def _landmarks(patient: Patient, side: Side, joint: JointPose) -> FemurLandmarks:
    from hipbmd.sim.femur_shape import femur_landmarks

    return femur_landmarks(patient.femur_shapes[side], placement(patient, side, joint))


def femur_pose_in_exam(
    exam: ExamGeometry, ct_joint: JointPose, xray_joint: JointPose, head_centre_mm: np.ndarray
) -> PoseParameters:
    """Pose of a femur *as it lies in the CT* with respect to the radiograph's camera.

    In the radiograph the femur is turned about its head centre H by J_x·J_ctᵀ relative to the CT, so
    camera = R_ap·(R_p·(H + J_x·J_ctᵀ·(x − H) − I) + t) + sod: a pose about H with rotation R_p·J_x·J_ctᵀ
    and translation R_p·(H − I) + t.
    """
    joint_ct = _joint_rotation(ct_joint, head_centre_mm)
    joint_x = _joint_rotation(xray_joint, head_centre_mm)
    patient_rotation = rotation_matrix_deg(exam.pose.rotation_deg)
    rotation = patient_rotation @ joint_x @ joint_ct.T
    shift = patient_rotation @ (head_centre_mm - np.asarray(exam.pose.isocenter_mm)) + np.asarray(
        exam.pose.translation_mm
    )
    h = tuple(float(v) for v in head_centre_mm)
    return PoseParameters(rotation_to_deg(rotation), tuple(float(v) for v in shift), h, exam.pose.sod_mm)  # type: ignore[arg-type]


def _joint_rotation(joint: JointPose, head_centre_mm: np.ndarray) -> np.ndarray:
    """The joint's rotation without the mirror (the mirror cancels in J_x·J_ctᵀ)."""
    from hipbmd.sim.femur_shape import FemurPlacement

    side: Side = "right" if head_centre_mm[0] > 0 else "left"
    where = FemurPlacement(
        side, (0.0, 0.0, 0.0), joint.flexion_deg, joint.abduction_deg, joint.external_rotation_deg
    )
    mirror = np.diag([1.0 if side == "right" else -1.0, 1.0, 1.0])
    return np.asarray(where.rotation() @ mirror)


def _write_ct(
    ct: Volume, labels: Volume, folder: Path, file_format: str, request: CaseRequest, patient: Patient
) -> str:
    """Write the CT (NIfTI or DICOM series, as the site does) and the labels; returns the CT's name."""
    write_nifti(labels, folder / "labels.nii.gz")
    if file_format == "dicom":
        info = CTSeriesInfo(
            request.case_id,
            patient.age_years,
            patient.sex,
            SCANNERS[SITE_SCANNERS[request.site]].manufacturer,
        )
        write_ct_series(ct, folder / "ct", info)
        return "ct"
    write_nifti(ct, folder / "ct.nii.gz")
    return "ct.nii.gz"


def _truth(
    request: CaseRequest,
    patient: Patient,
    joints_ct: dict[Side, JointPose],
    positioning: dict[str, Any],
    exam: ExamGeometry,
    femurs: dict[Side, Volume],
    abmd: dict[Side, CTaBMDResult],
    ct_landmarks: dict[Side, FemurLandmarks],
    dxa: dict[str, float],
    rods: list[dict[str, float]],
    scanner: str,
    drift: float,
    folder: Path,
) -> dict[str, Any]:
    """Write the truth files and return the truth record."""
    from hipbmd.drr.geometry import project_points

    truth_dir = folder / "truth"
    truth_dir.mkdir(exist_ok=True)
    drr_camera = coarse_camera(exam.camera, RENDER_FACTOR)
    sides: dict[str, Any] = {}
    drrs = {}
    for side in SIDES:
        pose = femur_pose_in_exam(
            exam, joints_ct[side], _xray_joint(positioning, side), ct_landmarks[side].head_centre_mm
        )
        camera = Camera(
            drr_camera.shape,
            drr_camera.pixel_spacing_mm,
            drr_camera.sdd_mm,
            drr_camera.principal_point_px,
            pose=pose.to_pose(),
        )
        drrs[side] = Projector(femurs[side]).render(camera).images[0]
        write_nifti(femurs[side], truth_dir / f"femur_density_{side}.nii.gz")
        marks = ct_landmarks[side]
        points = {
            name: getattr(marks, name)
            for name in (
                "head_centre_mm",
                "neck_narrowest_mm",
                "lesser_trochanter_mm",
                "greater_trochanter_mm",
            )
        }
        pixels = project_points(camera, np.stack(list(points.values())))
        sides[side] = {
            "landmarks_ct": marks.to_dict(),
            "landmarks_xray_px": {
                name.removesuffix("_mm"): [round(float(v), 2) for v in px]
                for name, px in zip(points, pixels, strict=True)
            },
            "pose": pose.to_dict(),
            "ct_abmd": abmd[side].to_dict(),
            "femur_density": f"truth/femur_density_{side}.nii.gz",
            "density_mg_cm3": asdict(patient.femur_densities[side]),
            "shape": asdict(patient.femur_shapes[side]),
        }
        arrays: dict[str, np.ndarray] = {"image_g_cm2": abmd[side].image_g_cm2, "bone": abmd[side].bone}
        arrays.update({f"roi_{k}": v for k, v in abmd[side].rois.masks.items()})
        np.savez_compressed(truth_dir / f"dxa_pose_{side}.npz", **arrays)  # type: ignore[arg-type]
    np.savez_compressed(truth_dir / "femur_drr.npz", **drrs)
    return {
        "hipbmd_version": __version__,
        "case_id": request.case_id,
        "seed": request.seed,
        "number": request.number,
        "site": request.site,
        "patient": _patient_record(patient),
        "ct": {
            "scanner": scanner,
            "gain_drift": drift,
            "joints": {s: asdict(j) for s, j in joints_ct.items()},
            "phantom_rods": rods,
        },
        "xray": {
            "positioning": positioning,
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
            "note": f"each femur's CT density in its pose; pixels {RENDER_FACTOR}x the radiograph's",
        },
        "femurs": sides,
        "dxa_g_cm2": {"side": patient.index_side, **dxa},
    }


def _xray_joint(positioning: dict[str, Any], side: Side) -> JointPose:
    return JointPose(**positioning["joints"][side])


def _patient_record(patient: Patient) -> dict[str, Any]:
    return {
        "age_years": patient.age_years,
        "sex": patient.sex,
        "height_cm": patient.height_cm,
        "bmi_kg_m2": patient.bmi_kg_m2,
        "index_side": patient.index_side,
        "target_neck_t_score": round(patient.target_neck_t_score, 4),
        "marrow_fat_fraction": round(patient.marrow_fat_fraction, 4),
        "body": asdict(patient.body),
        "pelvis": asdict(patient.pelvis),
    }


def _replace_folder(partial: Path, folder: Path) -> None:
    """Move the finished case into place (replacing an older copy)."""
    import shutil

    if folder.exists():
        shutil.rmtree(folder)
    os.replace(partial, folder)


def manifest_row(truth: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The manifest row of a finished case: what a site hands over (no truth beyond the DXA values)."""
    case_id = truth["case_id"]
    ct_name = "ct" if (folder / "ct").is_dir() else "ct.nii.gz"
    patient, dxa = truth["patient"], truth["dxa_g_cm2"]
    return {
        "case_id": case_id,
        "site": truth["site"],
        "age": patient["age_years"],
        "sex": patient["sex"],
        "side": dxa["side"],
        "ct": f"cases/{case_id}/{ct_name}",
        "labels": f"cases/{case_id}/labels.nii.gz",
        "xray": f"cases/{case_id}/xray.dcm",
        "dxa_neck_g_cm2": round(dxa["neck"], 4),
        "dxa_total_hip_g_cm2": round(dxa["total_hip"], 4),
    }
