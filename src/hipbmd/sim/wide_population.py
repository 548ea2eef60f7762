"""Patients of the ``parametric_wide`` source: the parametric generator over much wider ranges.

The key parameters (neck–shaft angle, head radius, BMI, neck cortex) come from the region drawn
(:mod:`hipbmd.sim.anatomy_regions`); every other shape parameter is drawn uniformly over a wide range:

* femur: neck length 42–60 mm, neck radius 0.56–0.76 × head radius, neck flattening 0.66–0.94, anteversion
  −8…32°, shaft adduction 4.5–11.5°, shaft radius 11.5–16.5 mm (all lengths × height/165 cm), trochanters
  0.9–1.1 × that size, the greater one 0.85–1.2 × and the lesser one 0.7–1.35 × of it, shifted −8…10 mm
  and −10…10 mm along the shaft; shaft cortex 3.5–8.5 mm;
* osteophytes in up to 45 % of older hips (1.8 × the parametric rate), 2–8 mm;
* body: the parametric habitus formulas over BMI 16–50 (width and depth capped at 560 and 420 mm, fat
  2–130 mm), the pelvis 0.88–1.14 × its usual size;
* bowel gas: more and larger pockets and mottled faeces (:mod:`hipbmd.sim.wide_gas`).

Demographics and bone density follow :mod:`hipbmd.sim.population`.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from hipbmd.sim.anatomy_regions import KEY_RANGES, KeyValues, draw_key_values
from hipbmd.sim.body import BodyShape
from hipbmd.sim.femur_bone import FemurDensity, femur_surface
from hipbmd.sim.femur_model import FEMUR_BOX_HIGH_MM, FEMUR_BOX_LOW_MM
from hipbmd.sim.femur_shape import FemurShape, femur_frame
from hipbmd.sim.grid import Grid
from hipbmd.sim.pelvis import PelvisShape
from hipbmd.sim.population import Patient, Sex, draw_implant, mean_neck_t_score
from hipbmd.types import Side

WIDE_OSTEOARTHRITIS_RATE = 0.45
ANTEVERSION_RANGE_DEG = (-8.0, 32.0)


def sample_wide_patient(
    rng: np.random.Generator,
    age_range: tuple[float, float] = (40.0, 92.0),
    region: str = "training",
    tail_keys: tuple[str, ...] = tuple(KEY_RANGES),
    source: str = "parametric_wide",
) -> Patient:
    """Draw one patient over the wide ranges; ``region`` and ``tail_keys`` as in :func:`draw_key_values`."""
    sex: Sex = "F" if rng.random() < 0.7 else "M"
    low, high = age_range
    age = float(np.clip(rng.triangular(low, 72.0, high), low, high))
    height = float(rng.normal(161.0 if sex == "F" else 174.0, 8.0))
    keys = draw_key_values(rng, region, tail_keys)
    scale = height / 165.0
    pelvis_size = float(rng.uniform(0.88, 1.14))
    body = _wide_body(rng, sex, keys.bmi_kg_m2, scale, pelvis_size)
    pelvis = PelvisShape(
        body.hip_half_distance_mm, keys.head_radius_mm, float(rng.uniform(2.0, 5.0)), scale * pelvis_size
    )
    shape = _wide_femur_shape(rng, keys, scale)
    shapes = {
        side: _with_wide_osteoarthritis(rng, age, inside_femur_box(_other_side(rng, shape)))
        for side in ("right", "left")
    }
    if any(s.osteophyte_mm > 0 for s in shapes.values()):
        pelvis = replace(pelvis, joint_space_mm=float(rng.uniform(0.6, 2.0)))
    density = _wide_density(rng, age, keys)
    index_side: Side = "right" if rng.random() < 0.5 else "left"
    return Patient(
        age_years=round(age, 1),
        sex=sex,
        height_cm=round(height, 1),
        bmi_kg_m2=round(keys.bmi_kg_m2, 1),
        body=body,
        pelvis=pelvis,
        femur_shapes=shapes,  # type: ignore[arg-type]
        femur_densities={"right": density, "left": density},
        marrow_fat_fraction=float(np.clip(0.3 + 0.006 * (age - 20.0) + rng.normal(0, 0.07), 0.15, 0.9)),
        target_neck_t_score=float(rng.normal(mean_neck_t_score(age, sex), 1.2)),
        index_side=index_side,
        texture_seed=int(rng.integers(2**31)),
        implant=draw_implant(rng, age, "left" if index_side == "right" else "right"),
        anatomy_source=source,
        anatomy_region=region,
    )


def _wide_body(rng: np.random.Generator, sex: Sex, bmi: float, scale: float, pelvis_size: float) -> BodyShape:
    """The parametric habitus formulas of :mod:`hipbmd.sim.population` over BMI 16–50 (mm)."""
    extra = bmi - 24.0
    width = (335.0 + (15.0 if sex == "F" else 0.0) + 7.0 * extra) * scale + rng.normal(0, 12)
    depth = (215.0 + 7.0 * extra) * scale + rng.normal(0, 10)
    fat = (22.0 + 3.2 * (bmi - 22.0)) if sex == "F" else (12.0 + 2.5 * (bmi - 22.0))
    hip_half = (90.0 if sex == "F" else 87.0) * scale * pelvis_size + rng.normal(0, 3)
    return BodyShape(
        float(np.clip(width, 2.0 * hip_half + 60.0, 560.0)),
        float(np.clip(depth, 150.0, 420.0)),
        float(np.clip(fat + rng.normal(0, 5), 2.0, 130.0)),
        hip_half,
        -85.0 * scale,
        -10.0,
    )


def _wide_femur_shape(rng: np.random.Generator, keys: KeyValues, scale: float) -> FemurShape:
    head = keys.head_radius_mm
    return FemurShape(
        head_radius_mm=head,
        neck_length_mm=float(rng.uniform(42.0, 60.0)) * scale,
        neck_radius_mm=float(rng.uniform(0.56, 0.76)) * head,
        neck_flattening=float(rng.uniform(0.66, 0.94)),
        neck_shaft_angle_deg=keys.neck_shaft_angle_deg,
        anteversion_deg=float(rng.uniform(*ANTEVERSION_RANGE_DEG)),
        shaft_adduction_deg=float(rng.uniform(4.5, 11.5)),
        shaft_radius_mm=float(rng.uniform(11.5, 16.5)) * scale,
        trochanter_scale=float(rng.uniform(0.9, 1.1)) * scale,
        greater_trochanter_scale=float(rng.uniform(0.85, 1.2)),
        lesser_trochanter_scale=float(rng.uniform(0.7, 1.35)),
        greater_trochanter_lift_mm=float(rng.uniform(-8.0, 10.0)),
        lesser_trochanter_lift_mm=float(rng.uniform(-10.0, 10.0)),
    )


def inside_femur_box(shape: FemurShape) -> FemurShape:
    """The femur, its neck and greater trochanter shrunk in 3 and 5 % steps until it clears by 1 mm the
    box a femur is sampled in (:mod:`hipbmd.sim.femur_model`; the shaft leaves through its bottom)."""
    for _ in range(15):
        if float(femur_surface(_box_faces(), shape, femur_frame(shape)).min()) > 1.0:
            break
        shape = replace(
            shape,
            neck_length_mm=0.97 * shape.neck_length_mm,
            greater_trochanter_scale=0.95 * shape.greater_trochanter_scale,
        )
    return shape


@lru_cache(maxsize=1)
def _box_faces() -> npt.NDArray[np.float32]:
    """Points 3 mm apart on the faces of the femur's canonical box, but the bottom one (mm)."""
    grid = Grid.covering(FEMUR_BOX_LOW_MM, FEMUR_BOX_HIGH_MM, (3.0, 3.0, 3.0))
    points = grid.points((slice(0, grid.shape[0]), slice(0, grid.shape[1]), slice(0, grid.shape[2])))
    border = np.ones(grid.shape, bool)
    border[1:-1, 1:-1, 1:-1] = False
    border[:, :, 0] = False
    return np.ascontiguousarray(points[border])


def _other_side(rng: np.random.Generator, shape: FemurShape) -> FemurShape:
    """Left and right differ in anteversion and neck length; the key parameters are the patient's."""
    return replace(
        shape,
        anteversion_deg=float(np.clip(shape.anteversion_deg + rng.normal(0, 3.0), *ANTEVERSION_RANGE_DEG)),
        neck_length_mm=shape.neck_length_mm * float(rng.normal(1.0, 0.02)),
    )


def _with_wide_osteoarthritis(rng: np.random.Generator, age: float, shape: FemurShape) -> FemurShape:
    """Osteophytes at the head–neck junction: more often and larger than in the parametric source."""
    if rng.random() < WIDE_OSTEOARTHRITIS_RATE * float(np.clip((age - 40.0) / 35.0, 0.15, 1.3)):
        return replace(shape, osteophyte_mm=float(rng.uniform(2.0, 8.0)))
    return shape


def _wide_density(rng: np.random.Generator, age: float, keys: KeyValues) -> FemurDensity:
    """The parametric density draw with the key neck cortex and a wide shaft cortex."""
    decline = max(age - 40.0, 0.0)
    return FemurDensity(
        cortical_mg_cm3=float(rng.normal(1050.0 - 2.0 * decline, 40.0)),
        trabecular_mg_cm3=float(rng.normal(260.0 - 1.6 * decline, 35.0)),
        shaft_cortex_mm=float(rng.uniform(3.5, 8.5)),
        neck_cortex_mm=keys.neck_cortex_mm,
        texture_contrast=float(rng.uniform(0.25, 0.5)),
    )
