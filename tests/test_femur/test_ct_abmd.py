"""CT-aBMD end to end on the analytic femur: mirror symmetry, label selection, vBMD, JSON, input checks."""

from __future__ import annotations

import json

import femur_phantom as phantom
import numpy as np
import pytest

from hipbmd.femur.ct_abmd import ct_abmd
from hipbmd.types import Volume


def test_left_femur_gives_the_mirror_image_and_the_same_numbers() -> None:
    right = ct_abmd(phantom.volume("right"), phantom.landmarks("right"))
    left = ct_abmd(phantom.volume("left"), phantom.landmarks("left"))
    assert np.allclose(left.image_g_cm2, right.image_g_cm2[:, ::-1], atol=1e-5)
    for name, value in right.abmd_g_cm2.items():
        assert left.abmd_g_cm2[name] == pytest.approx(value, rel=1e-6)
    assert right.flags == [] and left.flags == []


def test_label_map_selects_the_femur() -> None:
    femur = phantom.volume("right")
    labels = (femur.array > 0).astype(np.int16)
    density = femur.array.copy()
    density[:8, :8, :8] = 1500.0  # another bone in the field of view, label 2
    labels[:8, :8, :8] = 2
    whole = Volume(density, femur.affine, "mg/cm3")
    label_map = Volume(labels, femur.affine, "label")
    selected = ct_abmd(whole, phantom.landmarks("right"), labels=label_map, label_value=1)
    alone = ct_abmd(femur, phantom.landmarks("right"))
    assert selected.abmd_g_cm2 == pytest.approx(alone.abmd_g_cm2, rel=1e-6)


def test_vbmd_of_a_uniform_femur_is_its_density_less_partial_voxels() -> None:
    result = ct_abmd(phantom.volume("right"), phantom.landmarks("right"))
    for value in result.vbmd_mg_cm3.values():
        assert 0.85 * phantom.DENSITY_MG_CM3 < value <= phantom.DENSITY_MG_CM3


def test_summary_is_json_ready() -> None:
    result = ct_abmd(phantom.volume("right"), phantom.landmarks("right"))
    record = json.loads(json.dumps(result.summary()))
    assert set(record["abmd_g_cm2"]) == {"neck", "total_hip", "proximal_femur"}
    assert record["dxa_view"]["projection"] == "parallel"


def test_uncalibrated_volume_is_refused() -> None:
    femur = phantom.volume("right")
    with pytest.raises(ValueError, match="mg/cm3"):
        ct_abmd(Volume(femur.array, femur.affine, "HU"), phantom.landmarks("right"))
