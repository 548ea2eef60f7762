"""Who the virtual patients are: demographics, body and skeletal size, and bone density targets.

Numbers and their sources:

* Femoral-neck T-score by age for women, targeted through the osteoporosis prevalence at 50–59, 60–69,
  70–79 and 80+ years of 6.8, 12.3, 25.7 and 34.9 % (NHANES 2005–2010, femoral neck or lumbar spine;
  Wright NC et al., J Bone Miner Res 2014;29:2520–2526). With a T-score SD of 1.0 these give mean T-scores
  of −1.01, −1.34, −1.85 and −2.11; younger ages rise linearly to 0 at 25 years. The site includes the
  spine, so the simulated neck prevalence sits slightly above a neck-only survey — a cohort somewhat enriched
  for osteoporosis, which a training set needs. Men (against the same white-female reference, as ISCD
  advises) are modelled 0.7 SD higher at every age, giving about 4 % osteoporosis over 50 (4.3 % in Wright
  et al.).
* Femoral-neck aBMD = 0.858 + 0.120·T g/cm² (NHANES III young white women, Hologic; Looker AC et al.,
  Osteoporos Int 1998;8:468–489).
* Anthropometry: heights N(161, 7) cm for women and N(174, 7) cm for men; BMI N(26, 4.5) kg/m² clipped to
  17–42 (typical of adult surveys). Skeletal sizes scale with height; femoral head radius, neck–shaft angle
  (129 ± 5°) and anteversion (14 ± 7°) follow adult anatomy series.
* Findings: a hip arthroplasty or cannulated neck screws in the hip DXA does not measure (rates chosen
  so that a cohort of a few hundred holds a few dozen implants, enough to train a QC flag; population
  prevalence of hip arthroplasty over 70 is a few percent), and osteophytes at the head–neck junction with
  a narrowed joint space in up to a quarter of older hips (radiographic hip osteoarthritis).
* Marrow fat fraction of trabecular bone rises with age from about 0.4 to 0.7 (chemical-shift MRI studies
  of the proximal femur), which lowers CT numbers of trabecular bone as in real quantitative CT.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from hipbmd.sim.anatomy_sources import (
    ANATOMY_SOURCES,
    DEFAULT_ANATOMY_REGION,
    DEFAULT_ANATOMY_SOURCE,
    check_anatomy_region,
)
from hipbmd.sim.body import BodyShape
from hipbmd.sim.femur_bone import FemurDensity
from hipbmd.sim.femur_shape import FemurShape
from hipbmd.sim.femur_shape_model import (
    ShapeModelFemur,
    draw_shape_model_femurs,
    load_femur_model,
    shape_model_femur,
)
from hipbmd.sim.implants import Implant
from hipbmd.sim.pelvis import PelvisShape
from hipbmd.sim.pelvis_mesh import load_pelvis_mesh
from hipbmd.sim.real_ct_anatomy import RealCtPlacement
from hipbmd.types import Side

Sex = Literal["F", "M"]
YOUNG_NECK_MEAN_G_CM2 = 0.858
YOUNG_NECK_SD_G_CM2 = 0.120
_WOMEN_MEAN_T = (
    (25.0, 0.0),
    (45.0, -0.45),
    (55.0, -1.01),
    (65.0, -1.34),
    (75.0, -1.85),
    (85.0, -2.11),
    (95.0, -2.3),
)
MEN_T_OFFSET = 0.7
NECK_SHAFT_RANGE_DEG = (115.0, 145.0)
ANTEVERSION_RANGE_DEG = (-5.0, 35.0)
ARTHROPLASTY_RATE = 0.06
SCREW_RATE = 0.02
OSTEOARTHRITIS_RATE = 0.25


@dataclass(frozen=True)
class Patient:
    """One virtual patient: demographics, anatomy and the bone density the cohort aims for.

    Attributes:
        age_years, sex, height_cm, bmi_kg_m2: demographics.
        body, pelvis: soft-tissue and pelvic shapes.
        femur_shapes, femur_densities: per side.
        marrow_fat_fraction: fat share of trabecular marrow.
        target_neck_t_score: femoral-neck T-score the index femur is scaled to (DXA scale).
        index_side: the side measured by DXA (and imaged in a single-hip view).
        texture_seed: seed of the femurs' and pelvis's trabecular grain.
        implant: metal in one hip (always the side DXA does not measure), or None.
        anatomy_source: where the anatomy comes from (:mod:`hipbmd.sim.anatomy_sources`).
        anatomy_region: the region of the source's parameter space drawn from ("training", "held-out").
        shape_model_femurs: the shape-model draw of each femur (source "shape_model"; else None).
        real_ct: how the bundled real CT's pelvis is placed (``real_ct`` source only), else None.
    """

    age_years: float
    sex: Sex
    height_cm: float
    bmi_kg_m2: float
    body: BodyShape
    pelvis: PelvisShape
    femur_shapes: dict[Side, FemurShape]
    femur_densities: dict[Side, FemurDensity]
    marrow_fat_fraction: float
    target_neck_t_score: float
    index_side: Side
    texture_seed: int
    implant: Implant | None = None
    anatomy_source: str = DEFAULT_ANATOMY_SOURCE
    anatomy_region: str = DEFAULT_ANATOMY_REGION
    shape_model_femurs: dict[Side, ShapeModelFemur] | None = None
    real_ct: RealCtPlacement | None = None

    def with_density_scale(self, factor: float) -> Patient:
        """The same patient with every femur's mineral density multiplied by ``factor``."""
        scaled = {
            side: replace(
                d, cortical_mg_cm3=d.cortical_mg_cm3 * factor, trabecular_mg_cm3=d.trabecular_mg_cm3 * factor
            )
            for side, d in self.femur_densities.items()
        }
        return replace(self, femur_densities=scaled)


def mean_neck_t_score(age_years: float, sex: Sex) -> float:
    """Population mean femoral-neck T-score at an age (see module docstring)."""
    ages, means = zip(*_WOMEN_MEAN_T, strict=True)
    mean = float(np.interp(age_years, ages, means))
    return mean + (MEN_T_OFFSET if sex == "M" else 0.0)


def neck_abmd_from_t_score(t_score: float) -> float:
    """Femoral-neck aBMD (g/cm², Hologic DXA scale) of a T-score."""
    return YOUNG_NECK_MEAN_G_CM2 + YOUNG_NECK_SD_G_CM2 * t_score


def sample_patient(
    rng: np.random.Generator,
    age_range: tuple[float, float] = (40.0, 92.0),
    anatomy_source: str = DEFAULT_ANATOMY_SOURCE,
    anatomy_region: str = DEFAULT_ANATOMY_REGION,
) -> Patient:
    """Draw one patient: 70 % women (as in densitometry referrals), ages peaking around 70.

    ``anatomy_source`` names the source of the shapes and ``anatomy_region`` the region of its parameter
    space (:mod:`hipbmd.sim.anatomy_sources`). The parametric source has no held-out region of its own:
    its patients are the same in both; the shape model draws its femurs after the parametric draws.
    ``parametric_wide`` and ``real_ct`` are drawn by
    :func:`hipbmd.sim.patient_sources.draw_patient`.
    """
    if anatomy_source not in ANATOMY_SOURCES:
        raise ValueError(f"unknown anatomy source {anatomy_source!r}")
    if anatomy_source not in (DEFAULT_ANATOMY_SOURCE, "shape_model"):
        raise ValueError(
            f"sample_patient draws the parametric and shape-model sources, not {anatomy_source!r}"
        )
    check_anatomy_region(anatomy_region)
    sex: Sex = "F" if rng.random() < 0.7 else "M"
    low, high = age_range
    age = float(np.clip(rng.triangular(low, 72.0, high), low, high))
    height = float(rng.normal(161.0 if sex == "F" else 174.0, 7.0))
    bmi = float(np.clip(rng.normal(26.0, 4.5), 17.0, 42.0))
    scale = height / 165.0
    body = _body(rng, sex, bmi, scale)
    head = float(rng.normal(22.8 if sex == "F" else 25.3, 1.2)) * scale
    pelvis = PelvisShape(body.hip_half_distance_mm, head, float(rng.uniform(2.5, 4.5)), scale)
    shape = _femur_shape(rng, head, scale)
    shapes: dict[Side, FemurShape] = {side: _asymmetric(rng, shape) for side in ("right", "left")}
    drawn: dict[Side, ShapeModelFemur] | None = None
    if anatomy_source == "shape_model":
        drawn = draw_shape_model_femurs(rng, scale, anatomy_region)
        shapes, body, pelvis = _shape_model_anatomy(drawn, body, pelvis)
    density = _femur_density(rng, age, sex)
    index_side: Side = "right" if rng.random() < 0.5 else "left"
    shapes = {side: _with_osteoarthritis(rng, age, s) for side, s in shapes.items()}
    if any(s.osteophyte_mm > 0 for s in shapes.values()):
        pelvis = replace(pelvis, joint_space_mm=float(rng.uniform(1.0, 2.0)))
    return Patient(
        age_years=round(age, 1),
        sex=sex,
        height_cm=round(height, 1),
        bmi_kg_m2=round(bmi, 1),
        body=body,
        pelvis=pelvis,
        femur_shapes=shapes,
        femur_densities={"right": density, "left": density},
        marrow_fat_fraction=float(np.clip(0.3 + 0.006 * (age - 20.0) + rng.normal(0, 0.05), 0.2, 0.85)),
        target_neck_t_score=float(rng.normal(mean_neck_t_score(age, sex), 1.0)),
        index_side=index_side,
        texture_seed=int(rng.integers(2**31)),
        implant=draw_implant(rng, age, "left" if index_side == "right" else "right"),
        anatomy_source=anatomy_source,
        anatomy_region=anatomy_region,
        shape_model_femurs=drawn,
    )


def _shape_model_anatomy(
    drawn: dict[Side, ShapeModelFemur], body: BodyShape, pelvis: PelvisShape
) -> tuple[dict[Side, FemurShape], BodyShape, PelvisShape]:
    """Shape-model femurs, and the real pelvis's hip distance at which its sockets fit their heads."""
    model = load_femur_model()
    shapes = {side: shape_model_femur(model, draw) for side, draw in drawn.items()}
    head = float(np.mean([shape.head_radius_mm for shape in shapes.values()]))
    half = load_pelvis_mesh().half_distance_for_socket_mm(head + pelvis.joint_space_mm)
    body = replace(body, hip_half_distance_mm=half)
    return shapes, body, replace(pelvis, hip_half_distance_mm=half, head_radius_mm=head)


def draw_implant(rng: np.random.Generator, age: float, side: Side) -> Implant | None:
    """Metal in the other hip: arthroplasty in about 6 % of older patients, neck screws in about 2 %."""
    draw = rng.random()
    arthroplasty_rate = ARTHROPLASTY_RATE * float(np.clip((age - 40.0) / 35.0, 0.0, 1.5))
    if draw < arthroplasty_rate:
        return Implant("arthroplasty", side, 14.0 if rng.random() < 0.5 else 16.0)
    if draw < arthroplasty_rate + SCREW_RATE:
        return Implant("screws", side)
    return None


def _with_osteoarthritis(rng: np.random.Generator, age: float, shape: FemurShape) -> FemurShape:
    """Osteophytes at the head–neck junction, more common with age (radiographic hip OA)."""
    if rng.random() < OSTEOARTHRITIS_RATE * float(np.clip((age - 45.0) / 35.0, 0.0, 1.2)):
        return replace(shape, osteophyte_mm=float(rng.uniform(2.0, 5.0)))
    return shape


def _body(rng: np.random.Generator, sex: Sex, bmi: float, scale: float) -> BodyShape:
    extra = bmi - 24.0
    width = (335.0 + (15.0 if sex == "F" else 0.0) + 7.0 * extra) * scale + rng.normal(0, 10)
    depth = (215.0 + 7.0 * extra) * scale + rng.normal(0, 8)
    fat = (22.0 + 3.2 * (bmi - 22.0)) if sex == "F" else (12.0 + 2.5 * (bmi - 22.0))
    hip_half = (90.0 if sex == "F" else 87.0) * scale + rng.normal(0, 3)
    return BodyShape(
        width, depth, float(np.clip(fat + rng.normal(0, 4), 4.0, 90.0)), hip_half, -85.0 * scale, -10.0
    )


def _femur_shape(rng: np.random.Generator, head_radius_mm: float, scale: float) -> FemurShape:
    return FemurShape(
        head_radius_mm=head_radius_mm,
        neck_length_mm=float(rng.normal(51.0, 3.5)) * scale,
        neck_radius_mm=float(rng.normal(0.66, 0.04)) * head_radius_mm,
        neck_flattening=float(rng.uniform(0.74, 0.86)),
        neck_shaft_angle_deg=float(np.clip(rng.normal(129.0, 5.0), *NECK_SHAFT_RANGE_DEG)),
        anteversion_deg=float(np.clip(rng.normal(14.0, 7.0), *ANTEVERSION_RANGE_DEG)),
        shaft_adduction_deg=float(rng.normal(8.0, 1.5)),
        shaft_radius_mm=float(rng.normal(14.0, 1.0)) * scale,
        trochanter_scale=float(rng.normal(1.0, 0.06)) * scale,
    )


def _asymmetric(rng: np.random.Generator, shape: FemurShape) -> FemurShape:
    """The other side differs by a few percent and degrees, as left and right femurs do."""
    return replace(
        shape,
        neck_shaft_angle_deg=float(
            np.clip(shape.neck_shaft_angle_deg + rng.normal(0, 1.5), *NECK_SHAFT_RANGE_DEG)
        ),
        anteversion_deg=float(np.clip(shape.anteversion_deg + rng.normal(0, 3.0), *ANTEVERSION_RANGE_DEG)),
        neck_length_mm=shape.neck_length_mm * float(rng.normal(1.0, 0.02)),
    )


def _femur_density(rng: np.random.Generator, age: float, sex: Sex) -> FemurDensity:
    """Age shapes the cortex/trabecular balance; the cohort later scales the whole to the target aBMD."""
    decline = max(age - 40.0, 0.0)
    return FemurDensity(
        cortical_mg_cm3=float(rng.normal(1050.0 - 2.0 * decline, 30.0)),
        trabecular_mg_cm3=float(rng.normal(260.0 - 1.6 * decline, 25.0)),
        shaft_cortex_mm=float(rng.normal(6.0 - 0.03 * decline + (0.4 if sex == "M" else 0.0), 0.5)),
        neck_cortex_mm=float(np.clip(rng.normal(2.0 - 0.012 * decline, 0.25), 0.8, 3.0)),
        texture_contrast=float(rng.uniform(0.3, 0.45)),
    )
