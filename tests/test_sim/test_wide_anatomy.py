"""The ``parametric_wide`` source: its regions, its reproducibility, and that ``parametric`` is unchanged."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hipbmd.sim.anatomy import build_surroundings
from hipbmd.sim.anatomy_regions import KEY_RANGES, KeyValues, draw_key_values, region_of
from hipbmd.sim.case import working_grid
from hipbmd.sim.femur_bone import femur_surface
from hipbmd.sim.femur_model import FEMUR_BOX_HIGH_MM, FEMUR_BOX_LOW_MM
from hipbmd.sim.femur_shape import femur_frame
from hipbmd.sim.grid import Grid
from hipbmd.sim.patient_sources import draw_patient
from hipbmd.sim.population import sample_patient
from hipbmd.sim.wide_population import sample_wide_patient

DRAWS = 200


def _keys_of(patient_seed: int, region: str) -> KeyValues:
    patient = sample_wide_patient(np.random.default_rng(patient_seed), region=region)
    shape = patient.femur_shapes["right"]
    return KeyValues(
        shape.neck_shaft_angle_deg,
        shape.head_radius_mm,
        patient.bmi_kg_m2,
        patient.femur_densities["right"].neck_cortex_mm,
    )


def test_training_draws_stay_in_the_inner_ranges() -> None:
    rng = np.random.default_rng(1)
    assert all(region_of(draw_key_values(rng, "training")) == "training" for _ in range(DRAWS))
    assert all(region_of(_keys_of(seed, "training")) == "training" for seed in range(20))


def test_held_out_draws_have_a_key_parameter_in_the_tails_and_spread_over_them() -> None:
    rng = np.random.default_rng(2)
    draws = [draw_key_values(rng, "held-out") for _ in range(DRAWS)]
    assert all(region_of(d) == "held-out" for d in draws)
    for name, key in KEY_RANGES.items():
        values = np.array([getattr(d, name) for d in draws])
        assert values.min() >= key.low and values.max() <= key.high
        tails = [v for v in values if key.in_tails(v)]
        assert any(v < key.inner_low for v in tails) and any(v > key.inner_high for v in tails)
    assert all(region_of(_keys_of(seed, "held-out")) == "held-out" for seed in range(20))


def test_the_same_seed_draws_the_same_wide_patient_and_surroundings() -> None:
    def build(seed: int) -> tuple[object, np.ndarray]:
        patient = draw_patient(np.random.default_rng(seed), "parametric_wide", "training")
        grid = working_grid(patient, 4.0)
        tissues = build_surroundings(patient, grid, np.random.default_rng(seed))
        return patient, tissues.soft_g_cm3 + tissues.mineral_mg_cm3

    first, again, other = build(7), build(7), build(8)
    assert first[0] == again[0] and np.array_equal(first[1], again[1])
    assert first[0] != other[0]


def test_parametric_source_draws_what_it_always_drew() -> None:
    by_source = draw_patient(np.random.default_rng(11), "parametric", "held-out")
    direct = sample_patient(np.random.default_rng(11))
    assert by_source == dataclasses.replace(direct, anatomy_region="held-out")
    shape = direct.femur_shapes["right"]
    assert (shape.greater_trochanter_scale, shape.lesser_trochanter_lift_mm) == (1.0, 0.0)
    with pytest.raises(ValueError, match=r"parametric and shape-model sources, not 'real_ct'"):
        sample_patient(np.random.default_rng(0), anatomy_source="real_ct")


@pytest.mark.parametrize("seed", range(8))
def test_wide_femurs_fit_their_canonical_box(seed: int) -> None:
    """Even extreme wide femurs stay inside the box a femur is sampled in (only the shaft leaves it)."""
    shape = sample_wide_patient(np.random.default_rng(seed), region="held-out").femur_shapes["right"]
    grid = Grid.covering(FEMUR_BOX_LOW_MM, FEMUR_BOX_HIGH_MM, (2.0, 2.0, 2.0))
    points = grid.points((slice(0, grid.shape[0]), slice(0, grid.shape[1]), slice(0, grid.shape[2])))
    distance = femur_surface(points, shape, femur_frame(shape))
    border = np.ones(grid.shape, bool)
    border[1:-1, 1:-1, 1:-1] = False
    border[:, :, 0] = False  # the bottom face, where the shaft leaves
    assert distance[border].min() > 0.0
