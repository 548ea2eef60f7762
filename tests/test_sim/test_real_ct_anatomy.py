"""The ``real_ct`` source: the packaged scan, its units, its placement on the patient's hips, its regions."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from hipbmd.sim.anatomy import JointPose, build_surroundings, placement
from hipbmd.sim.anatomy_regions import KEY_RANGES
from hipbmd.sim.case import working_grid
from hipbmd.sim.ct import attenuation_weights, true_hu
from hipbmd.sim.grid import Grid
from hipbmd.sim.hu_materials import hu_to_basis
from hipbmd.sim.patient_sources import draw_patient
from hipbmd.sim.real_ct_anatomy import RealCtAnatomy, load_real_ct_anatomy
from hipbmd.sim.real_ct_population import REAL_CT_TAIL_KEYS
from hipbmd.sim.tissues import ADIPOSE_G_CM3, LABELS, SOFT_TISSUE_G_CM3, Tissues

SOURCE = Path(__file__).resolve().parents[2] / "data" / "real" / "totalsegmentator_example_ct"
ENERGY_KEV = 70.0


@pytest.fixture(scope="module")
def anatomy() -> RealCtAnatomy:
    return load_real_ct_anatomy()


def test_known_ct_numbers_give_the_expected_materials() -> None:
    w = attenuation_weights(ENERGY_KEV)
    muscle_hu = 1000.0 * (w["soft"] * SOFT_TISSUE_G_CM3 - 1.0)
    fat_hu = 1000.0 * (w["fat"] * ADIPOSE_G_CM3 - 1.0)
    bone = hu_to_basis([-1000.0, fat_hu, muscle_hu], ENERGY_KEV)
    assert np.allclose(bone.mineral_mg_cm3, 0.0)
    assert np.allclose(bone.soft_g_cm3, [0.0, 0.0, SOFT_TISSUE_G_CM3], atol=1e-4)
    assert np.allclose(bone.fat_g_cm3, [0.0, ADIPOSE_G_CM3, 0.0], atol=1e-4)


def test_materials_give_back_the_ct_numbers_they_came_from() -> None:
    hu = np.linspace(-1000.0, 1800.0, 57, dtype=np.float32).reshape(57, 1, 1)
    basis = hu_to_basis(hu, ENERGY_KEV)
    tissues = Tissues.empty(_unit_grid(hu.shape))
    tissues.mineral_mg_cm3[:], tissues.soft_g_cm3[:], tissues.fat_g_cm3[:] = (
        basis.mineral_mg_cm3,
        basis.soft_g_cm3,
        basis.fat_g_cm3,
    )
    assert np.allclose(true_hu(tissues, None, ENERGY_KEV, slice(0, 1)), hu, atol=0.05)
    assert basis.mineral_mg_cm3[-1, 0, 0] > 800.0  # dense cortex


def _unit_grid(shape: tuple[int, ...]) -> Grid:
    return Grid((shape[0], shape[1], shape[2]), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0))


def test_a_scanned_voxel_becomes_its_materials(anatomy: RealCtAnatomy) -> None:
    hu = np.asarray(nib.load(SOURCE / "example_ct.nii.gz").dataobj, np.float64)
    for index in [(60, 20, 40), (95, 40, 60), (60, 60, 50)]:  # back muscle, flank, abdomen
        expected = hu_to_basis(hu[index], anatomy.effective_energy_kev)
        assert anatomy.mineral_mg_cm3[index] == pytest.approx(float(expected.mineral_mg_cm3), abs=0.6)
        assert anatomy.soft_mg_cm3[index] == pytest.approx(1000.0 * float(expected.soft_g_cm3), abs=0.6)
        assert anatomy.fat_mg_cm3[index] == pytest.approx(1000.0 * float(expected.fat_g_cm3), abs=0.6)


def test_no_femur_or_implant_remains_but_the_sockets_do(anatomy: RealCtAnatomy) -> None:
    assert set(np.unique(anatomy.labels)) == {0, LABELS["hip_right"], LABELS["hip_left"], LABELS["sacrum"]}
    assert anatomy.mineral_mg_cm3.max() < 1800.0  # no metal
    index = np.indices(anatomy.labels.shape).reshape(3, -1).T
    points = index * anatomy.spacing_mm + anatomy.origin_mm
    for centre, radius in zip(anatomy.hip_centres_mm, anatomy.joint_radius_mm, strict=True):
        distance = np.linalg.norm(points - centre, axis=1).reshape(anatomy.labels.shape)
        assert anatomy.mineral_mg_cm3[distance < radius - 5.0].max() == 0.0  # the femoral head is gone
        socket = (distance > radius + 2.0) & (distance < radius + 8.0) & (anatomy.labels > 0)
        assert socket.sum() > 50 and np.median(anatomy.mineral_mg_cm3[socket]) > 150.0
    assert anatomy.joint_radius_mm.min() > 20.0 and anatomy.joint_radius_mm.max() < 28.0


@pytest.mark.parametrize("seed", [3, 4])
def test_scan_hip_centres_lie_on_the_placed_femoral_heads(anatomy: RealCtAnatomy, seed: int) -> None:
    patient = draw_patient(np.random.default_rng(seed), "real_ct", "training")
    assert patient.real_ct is not None and 0.92 <= patient.real_ct.scale <= 1.08
    centres = patient.real_ct.to_world(anatomy, anatomy.hip_centres_mm)
    for side, centre in zip(("right", "left"), centres, strict=True):
        head = placement(patient, side, JointPose()).head_centre_mm
        assert np.allclose(centre, head, atol=1e-6)


def test_placed_scan_keeps_the_sockets_empty_for_the_femurs() -> None:
    patient = draw_patient(np.random.default_rng(5), "real_ct", "training")
    grid = working_grid(patient, 3.0)
    tissues = build_surroundings(patient, grid, np.random.default_rng(0))
    labels = tissues.labels
    for side, sign in (("right", 1.0), ("left", -1.0)):
        head = np.array([sign * patient.body.hip_half_distance_mm, 0.0, 0.0])
        i = np.round((head - np.asarray(grid.origin_mm)) / 3.0).astype(int)
        assert tissues.mineral_mg_cm3[tuple(i)] < 20.0  # the socket's centre holds no bone
        assert tissues.soft_g_cm3[tuple(i)] > 0.9
        ring = labels[i[0] - 12 : i[0] + 13, i[1] - 12 : i[1] + 13, i[2] - 12 : i[2] + 13]
        assert (ring == LABELS[f"hip_{side}"]).sum() > 100
    assert (labels == LABELS["sacrum"]).sum() > 100


def test_the_same_seed_builds_the_same_real_ct_case_and_another_seed_another() -> None:
    def build(seed: int) -> np.ndarray:
        patient = draw_patient(np.random.default_rng(seed), "real_ct", "held-out")
        tissues = build_surroundings(patient, working_grid(patient, 4.0), np.random.default_rng(seed))
        return tissues.mineral_mg_cm3 + tissues.fat_g_cm3

    first = build(9)
    assert np.array_equal(first, build(9))
    other = build(10)
    assert first.shape != other.shape or not np.array_equal(first, other)


def test_held_out_real_ct_patients_have_a_femur_key_in_the_tails() -> None:
    for seed in range(12):
        patient = draw_patient(np.random.default_rng(seed), "real_ct", "held-out")
        values = {
            "neck_shaft_angle_deg": patient.femur_shapes["right"].neck_shaft_angle_deg,
            "neck_cortex_mm": patient.femur_densities["right"].neck_cortex_mm,
        }
        assert any(KEY_RANGES[name].in_tails(values[name]) for name in REAL_CT_TAIL_KEYS)
        training = draw_patient(np.random.default_rng(seed), "real_ct", "training")
        angle = training.femur_shapes["right"].neck_shaft_angle_deg
        assert KEY_RANGES["neck_shaft_angle_deg"].in_inner(angle)
