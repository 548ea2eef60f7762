"""Patients of the ``real_ct`` source: the bundled real CT's pelvis and soft tissue with synthetic femurs.

The femurs, bone density and demographics are drawn as in ``parametric_wide`` (its regions varying only
the neck–shaft angle and the neck cortex, the head radius and the body being the scan's). The scan is
scaled to the drawn hip width within ±8 %; the patient then takes the scan's hips, body and sockets:

* hip centres at ±s·d (d: half the scan's hip distance, s: the scale);
* femoral heads fitting the scan's sockets: radius s·(joint-surface radius) − 1.5 mm, a 3 mm joint space
  (the neck keeps its drawn share of the head's radius);
* body width, depth and antero-posterior centre from the scan's outline at the hips (× s), for the synthetic
  thighs below the scan; the BMI recorded is the one the simulator's habitus formula gives that width.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from hipbmd.sim.body import BodyShape
from hipbmd.sim.femur_shape import FemurShape
from hipbmd.sim.population import Patient
from hipbmd.sim.real_ct_anatomy import RealCtAnatomy, RealCtPlacement, load_real_ct_anatomy, real_ct_scale
from hipbmd.sim.wide_population import sample_wide_patient

REAL_CT_TAIL_KEYS = ("neck_shaft_angle_deg", "neck_cortex_mm")
JOINT_SPACE_MM = 3.0


def sample_real_ct_patient(
    rng: np.random.Generator, age_range: tuple[float, float] = (40.0, 92.0), region: str = "training"
) -> Patient:
    """Draw one patient of the ``real_ct`` source (see the module docstring)."""
    drawn = sample_wide_patient(rng, age_range, region, REAL_CT_TAIL_KEYS, source="real_ct")
    return fitted_to_real_ct(drawn, load_real_ct_anatomy())


def fitted_to_real_ct(patient: Patient, anatomy: RealCtAnatomy) -> Patient:
    """``patient`` with the scan's hips, sockets and body, the scan placed at the patient's size."""
    placement = RealCtPlacement(real_ct_scale(anatomy, patient.body.hip_half_distance_mm))
    s = placement.scale
    half = s * anatomy.hip_half_distance_mm
    head = s * float(anatomy.joint_radius_mm.mean()) - JOINT_SPACE_MM / 2
    body = _scan_body(patient.body, anatomy, placement, half)
    pelvis = replace(
        patient.pelvis,
        hip_half_distance_mm=half,
        head_radius_mm=head,
        joint_space_mm=JOINT_SPACE_MM,
        scale=half / 90.0,
    )
    shapes = {side: _with_head(shape, head) for side, shape in patient.femur_shapes.items()}
    return replace(
        patient,
        body=body,
        pelvis=pelvis,
        femur_shapes=shapes,
        bmi_kg_m2=round(_bmi_of_width(body.width_mm, patient), 1),
        real_ct=placement,
    )


def _scan_body(
    drawn: BodyShape, anatomy: RealCtAnatomy, placement: RealCtPlacement, half: float
) -> BodyShape:
    """The scan's outline at the hips in the patient's world (mm); fat and crotch as drawn."""
    midpoint_y = float(anatomy.hip_midpoint_mm[1])
    front = placement.scale * (anatomy.front_y_mm - midpoint_y)
    back = placement.scale * (anatomy.back_y_mm - midpoint_y)
    return replace(
        drawn,
        width_mm=placement.scale * anatomy.width_mm,
        depth_mm=front - back,
        centre_y_mm=(front + back) / 2,
        hip_half_distance_mm=half,
    )


def _with_head(shape: FemurShape, head_radius_mm: float) -> FemurShape:
    """The femur with another head radius, its neck keeping its share of the head."""
    ratio = shape.neck_radius_mm / shape.head_radius_mm
    return replace(shape, head_radius_mm=head_radius_mm, neck_radius_mm=ratio * head_radius_mm)


def _bmi_of_width(width_mm: float, patient: Patient) -> float:
    """BMI (kg/m²) that the habitus formula of :mod:`hipbmd.sim.population` gives a body width (16–50)."""
    scale = patient.height_cm / 165.0
    female = 15.0 if patient.sex == "F" else 0.0
    return float(np.clip(24.0 + (width_mm / scale - 335.0 - female) / 7.0, 16.0, 50.0))
