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

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hipbmd import __version__
from hipbmd.calibration.phantoms import load_phantom
from hipbmd.drr.geometry import (
    PoseParameters,
    camera_with_pose,
    project_points,
    rotation_matrix_deg,
    rotation_to_deg,
)
from hipbmd.drr.project_ct import camera_record
from hipbmd.drr.render import Projector
from hipbmd.femur.ct_abmd import CTaBMDResult, ct_abmd
from hipbmd.femur.landmarks import FemurLandmarks, Side
from hipbmd.io.array_files import save_arrays
from hipbmd.io.dicom_dx import write_dx
from hipbmd.io.volume_writers import CTSeriesInfo, write_ct_series, write_nifti
from hipbmd.sim.anatomy import JointPose, build_surroundings, patient_femur, placement, with_femurs
from hipbmd.sim.ct import Scanner, simulate_ct
from hipbmd.sim.dxa import DXAModel, simulate_dxa
from hipbmd.sim.exam import (
    RENDER_FACTOR,
    ExamGeometry,
    Positioning,
    coarse_camera,
    ct_joints,
    draw_positioning,
    exam_geometry,
    line_integrals,
)
from hipbmd.sim.femur_model import FemurModel
from hipbmd.sim.femur_shape import femur_landmarks
from hipbmd.sim.grid import Grid
from hipbmd.sim.phantom_rods import RodLayout, phantom_slab
from hipbmd.sim.population import Patient, neck_abmd_from_t_score, sample_patient
from hipbmd.sim.scanners import SCANNERS, SITE_SCANNERS
from hipbmd.sim.sites import SITE_PROFILES
from hipbmd.sim.tissues import Tissues
from hipbmd.sim.xray import dx_acquisition, simulate_radiograph
from hipbmd.types import Camera, Volume

# Scanned height about the hip centres: from above the acetabular roof to 6 cm below the lesser trochanter.
CT_RANGE_MM = (-140.0, 55.0)
XRAY_RANGE_MM = (-200.0, 210.0)  # anatomy built for the radiograph: above the iliac crests to mid-thigh
WORKING_SPACING_MM = 1.0
SIDES: tuple[Side, Side] = ("right", "left")


@dataclass(frozen=True)
class Resolution:
    """Sampling of a case: the anatomy's voxel, the radiograph's pixel binning, the CT's voxel scale.

    The defaults are the cohort's; tests use a coarse resolution to simulate a case in about a second.
    """

    voxel_mm: float = 1.0
    xray_binning: int = 1
    ct_scale: float = 1.0


DEFAULT_RESOLUTION = Resolution()


@dataclass(frozen=True)
class CaseRequest:
    """What to simulate: the case's id, number, site, the cohort's seed and the resolution."""

    case_id: str
    number: int
    site: str
    seed: int
    resolution: Resolution = DEFAULT_RESOLUTION


STREAMS = ("patient", "ct", "xray", "dxa")


def case_streams(seed: int, number: int) -> dict[str, np.random.Generator]:
    """Independent random generators of a case, one per purpose, from (seed, case number) alone.

    Separate streams keep the patient and the DXA values the same whatever the imaging settings draw.
    """
    children = np.random.SeedSequence([seed, number]).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children, strict=True)}


@dataclass
class CaseDraw:
    """The patient of a case with its density scaled to the target, its femurs, CT-aBMD and DXA."""

    patient: Patient
    joints_ct: dict[Side, JointPose]
    femurs: dict[Side, FemurModel]
    abmd: dict[Side, CTaBMDResult]
    dxa_g_cm2: dict[str, float]


def draw_case(request: CaseRequest, streams: dict[str, np.random.Generator]) -> CaseDraw:
    """The patient, the CT joint pose, the femurs scaled to the target density, their CT-aBMD, and DXA."""
    patient = sample_patient(streams["patient"])
    joints_ct = ct_joints(streams["patient"])
    patient, femurs, abmd = _scaled_to_target(patient, joints_ct, request.resolution.voxel_mm)
    dxa = simulate_dxa(abmd[patient.index_side].abmd_g_cm2, streams["dxa"], DXAModel())
    return CaseDraw(patient, joints_ct, femurs, abmd, dxa)


def simulate_case(request: CaseRequest, folder: Path) -> dict[str, Any]:
    """Simulate one case into ``folder`` (via ``<folder>.partial``); returns its manifest row."""
    streams = case_streams(request.seed, request.number)
    draw = draw_case(request, streams)
    patient = draw.patient
    partial = folder.with_name(folder.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    tissues = build_surroundings(patient, working_grid(patient, request.resolution.voxel_mm), streams["ct"])
    positioning = draw_positioning(streams["xray"])
    exam = _simulate_radiograph_file(request, draw, positioning, tissues, streams["xray"], partial)
    tissues, ct_landmarks = with_femurs(tissues, patient, draw.joints_ct, copy=False)
    ct_record = _simulate_ct_files(request, draw, tissues, streams["ct"], partial)
    del tissues
    truth = _truth(request, draw, positioning.to_dict(), exam, ct_landmarks, ct_record, partial)
    (partial / "truth.json").write_text(json.dumps(truth, indent=1))
    _replace_folder(partial, folder)
    return manifest_row(truth, folder)


def _study_date(request: CaseRequest) -> dt.date:
    """A fixed, plausible examination date per case (files must not depend on the day they are made)."""
    return dt.date(2024, 1, 1) + dt.timedelta(days=(request.seed * 7919 + request.number) % 700)


def _simulate_ct_files(
    request: CaseRequest, draw: CaseDraw, tissues: Tissues, rng: np.random.Generator, folder: Path
) -> dict[str, Any]:
    """Phantom, CT and labels; returns what the truth records of the CT."""
    scanner = SCANNERS[SITE_SCANNERS[request.site]]
    scale = request.resolution.ct_scale
    scanner = replace(scanner, pixel_mm=scanner.pixel_mm * scale, slice_mm=scanner.slice_mm * scale)
    body = draw.patient.body
    back_y = body.centre_y_mm - body.depth_mm / 2
    slab = phantom_slab(tissues.grid, load_phantom(scanner.phantom), RodLayout(back_y - 1.0))
    drift = float(rng.normal(0.0, 0.005))
    ct, labels = simulate_ct(tissues, slab, scanner, CT_RANGE_MM, body.width_mm, rng, drift)
    _write_ct(ct, labels, folder, scanner, request, draw.patient)
    joints = {side: asdict(joint) for side, joint in draw.joints_ct.items()}
    return {
        "scanner": scanner.name,
        "phantom": scanner.phantom,
        "gain_drift": drift,
        "joints": joints,
        "phantom_rods": slab.rods,
        "phantom_material": slab.material,
    }


def _simulate_radiograph_file(
    request: CaseRequest,
    draw: CaseDraw,
    positioning: Positioning,
    surroundings: Tissues,
    rng: np.random.Generator,
    folder: Path,
) -> ExamGeometry:
    """The radiograph as the site stores it (femurs in the radiograph's joint pose); returns its geometry."""
    profile = SITE_PROFILES[request.site]
    patient = draw.patient
    places = {side: placement(patient, side, positioning.joints[side]) for side in SIDES}
    landmarks = {side: femur_landmarks(patient.femur_shapes[side], places[side]) for side in SIDES}
    exam = exam_geometry(patient, profile, positioning, landmarks, rng, request.resolution.xray_binning)
    femurs = [draw.femurs[side].tissue_change(places[side]) for side in SIDES]
    spacing = exam.camera.pixel_spacing_mm
    image = simulate_radiograph(
        line_integrals(surroundings, exam.camera, femurs), spacing, exam.sid_mm, profile, rng
    )
    acquisition = dx_acquisition(
        profile, exam.sid_mm, exam.sod_mm, spacing, patient.age_years, patient.sex, exam.side or "both"
    )
    entropy = f"{request.seed}/{request.case_id}/dx"
    acquisition = replace(acquisition, study_date=_study_date(request), uid_entropy=entropy)
    write_dx(image, folder / "xray.dcm", acquisition, patient_id=request.case_id)
    return exam


def working_grid(patient: Patient, voxel_mm: float = WORKING_SPACING_MM) -> Grid:
    """The 1 mm grid of the anatomy: the body's whole cross-section, the phantom, the radiograph's height."""
    body = patient.body
    back_y = body.centre_y_mm - body.depth_mm / 2
    low = (-body.width_mm / 2 - 6.0, back_y - 60.0, XRAY_RANGE_MM[0])
    high = (body.width_mm / 2 + 6.0, body.centre_y_mm + body.depth_mm / 2 + 6.0, XRAY_RANGE_MM[1])
    return Grid.covering(low, high, (voxel_mm,) * 3)


def _scaled_to_target(
    patient: Patient, joints: dict[Side, JointPose], voxel_mm: float
) -> tuple[Patient, dict[Side, FemurModel], dict[Side, CTaBMDResult]]:
    """Scale femur densities so the index femur's CT-aBMD gives the patient's target DXA aBMD.

    aBMD is linear in a global density factor (the bone outline does not change), so one measurement
    gives the factor; the final measurement confirms it.
    """
    model = DXAModel()
    wanted_dxa = neck_abmd_from_t_score(patient.target_neck_t_score)
    wanted = max((wanted_dxa - model.intercept_g_cm2("neck")) / model.slope("neck"), 0.2)
    femurs = {side: patient_femur(patient, side, voxel_mm) for side in SIDES}
    side = patient.index_side
    measured = _ct_abmd(femurs[side], patient, joints[side]).abmd_g_cm2["neck"]
    factor = wanted / measured
    femurs = {s: femur.scaled(factor) for s, femur in femurs.items()}
    abmd = {s: _ct_abmd(femurs[s], patient, joints[s]) for s in SIDES}
    return patient.with_density_scale(factor), femurs, abmd


def _ct_abmd(femur: FemurModel, patient: Patient, joint: JointPose) -> CTaBMDResult:
    """CT-aBMD of a femur lying in ``joint`` (only its proximal part is rendered)."""
    where = placement(patient, femur.side, joint)
    landmarks = femur_landmarks(patient.femur_shapes[femur.side], where)
    return ct_abmd(femur.density(where, proximal_only=True), landmarks)


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
    ct: Volume, labels: Volume, folder: Path, scanner: Scanner, request: CaseRequest, patient: Patient
) -> None:
    """Write the CT (NIfTI or DICOM series, as the site does) and the labels."""
    write_nifti(labels, folder / "labels.nii.gz")
    if scanner.file_format == "dicom":
        info = CTSeriesInfo(
            request.case_id,
            patient.age_years,
            patient.sex,
            scanner.manufacturer,
            study_date=_study_date(request),
            uid_entropy=f"{request.seed}/{request.case_id}/ct",
            rle_lossless=True,
        )
        write_ct_series(ct, folder / "ct", info)
    else:
        write_nifti(ct, folder / "ct.nii.gz")


LANDMARK_NAMES = ("head_centre_mm", "neck_narrowest_mm", "lesser_trochanter_mm", "greater_trochanter_mm")


def _truth(
    request: CaseRequest,
    draw: CaseDraw,
    positioning: dict[str, Any],
    exam: ExamGeometry,
    ct_landmarks: dict[Side, FemurLandmarks],
    ct_record: dict[str, Any],
    folder: Path,
) -> dict[str, Any]:
    """Write the truth files and return the truth record."""
    truth_dir = folder / "truth"
    truth_dir.mkdir(exist_ok=True)
    drr_camera = coarse_camera(exam.camera, RENDER_FACTOR)
    sides: dict[str, Any] = {}
    drrs: dict[str, npt.ArrayLike] = {}
    for side in SIDES:
        joint_x = JointPose(**positioning["joints"][side])
        pose = femur_pose_in_exam(exam, draw.joints_ct[side], joint_x, ct_landmarks[side].head_centre_mm)
        camera = camera_with_pose(drr_camera, pose.to_pose())
        density = draw.femurs[side].density(placement(draw.patient, side, draw.joints_ct[side]))
        drrs[side] = Projector(density).render(camera).images[0]
        write_nifti(density, truth_dir / f"femur_density_{side}.nii.gz")
        sides[side] = _side_record(side, draw, ct_landmarks[side], camera, pose)
        result = draw.abmd[side]
        arrays: dict[str, npt.ArrayLike] = {"image_g_cm2": result.image_g_cm2, "bone": result.bone}
        arrays.update({f"roi_{name}": mask for name, mask in result.rois.masks.items()})
        save_arrays(truth_dir / f"dxa_pose_{side}.npz", arrays)
    save_arrays(truth_dir / "femur_drr.npz", drrs)
    return {
        "hipbmd_version": __version__,
        "case_id": request.case_id,
        "seed": request.seed,
        "number": request.number,
        "site": request.site,
        "resolution": asdict(request.resolution),
        "patient": _patient_record(draw.patient),
        "ct": ct_record,
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
            "note": f"each femur's CT density rendered in its pose; pixels {RENDER_FACTOR}x the radiograph's",
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
        "ct_abmd": draw.abmd[side].to_dict(),
        "femur_density": f"truth/femur_density_{side}.nii.gz",
        "density_mg_cm3": asdict(draw.patient.femur_densities[side]),
        "shape": asdict(draw.patient.femur_shapes[side]),
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
