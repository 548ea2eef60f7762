"""Who a virtual case is: its request, random streams, patient, femurs scaled to the target, and DXA.

Everything random is drawn from generators seeded by (cohort seed, case number), one per purpose, so a
case is the same whatever else is simulated and in whatever order, and its DXA values can be drawn without
simulating the images (:func:`draw_case`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hipbmd.femur.ct_abmd import CTaBMDResult, ct_abmd
from hipbmd.sim.anatomy import JointPose, patient_femur, placement
from hipbmd.sim.anatomy_sources import DEFAULT_ANATOMY_REGION, DEFAULT_ANATOMY_SOURCE
from hipbmd.sim.dxa import DXAModel, simulate_dxa
from hipbmd.sim.exam import ct_joints
from hipbmd.sim.femur_model import FemurModel
from hipbmd.sim.femur_shape import femur_landmarks
from hipbmd.sim.findings import with_implant_share
from hipbmd.sim.patient_sources import draw_patient
from hipbmd.sim.population import Patient, neck_abmd_from_t_score
from hipbmd.types import Side

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
    """What to simulate: the case's id, number, site, cohort seed, resolution, anatomy source and region,
    the radiograph's style ("sites": the site's own; "random", "random-held-out": drawn per image,
    :mod:`hipbmd.sim.random_style`) and the least share of patients with an implant
    (:mod:`hipbmd.sim.findings`; 0: the population's own)."""

    case_id: str
    number: int
    site: str
    seed: int
    resolution: Resolution = DEFAULT_RESOLUTION
    anatomy: str = DEFAULT_ANATOMY_SOURCE
    anatomy_region: str = DEFAULT_ANATOMY_REGION
    style: str = "sites"
    implant_share: float = 0.0


STREAMS = ("patient", "ct", "xray", "dxa")
FINDINGS_STREAM = 9001  # seeds, with the cohort seed and case number, the draws of enriched findings


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
    patient = draw_patient(streams["patient"], request.anatomy, request.anatomy_region)
    findings = np.random.default_rng([request.seed, request.number, FINDINGS_STREAM])
    patient = with_implant_share(patient, request.implant_share, findings)
    joints_ct = ct_joints(streams["patient"])
    patient, femurs, abmd = _scaled_to_target(patient, joints_ct, request.resolution.voxel_mm)
    dxa = simulate_dxa(abmd[patient.index_side].abmd_g_cm2, streams["dxa"], DXAModel())
    return CaseDraw(patient, joints_ct, femurs, abmd, dxa)


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
    measured = ct_abmd_in_pose(femurs[side], patient, joints[side]).abmd_g_cm2["neck"]
    factor = wanted / measured
    femurs = {s: femur.scaled(factor) for s, femur in femurs.items()}
    abmd = {s: ct_abmd_in_pose(femurs[s], patient, joints[s]) for s in SIDES}
    return patient.with_density_scale(factor), femurs, abmd


def ct_abmd_in_pose(femur: FemurModel, patient: Patient, joint: JointPose) -> CTaBMDResult:
    """CT-aBMD of a femur lying in ``joint`` (only its proximal part is rendered)."""
    where = placement(patient, femur.side, joint)
    landmarks = femur_landmarks(patient.femur_shapes[femur.side], where)
    return ct_abmd(femur.density(where, proximal_only=True), landmarks)
