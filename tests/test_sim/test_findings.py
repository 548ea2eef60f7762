"""Enriched findings: a share of patients given an implant, with nothing else about them changed."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from hipbmd.sim.case_draw import CaseRequest, Resolution, case_streams, draw_case
from hipbmd.sim.findings import with_implant_share
from hipbmd.sim.population import sample_patient

COARSE = Resolution(voxel_mm=3.0, xray_binning=4, ct_scale=3.0)


def test_a_share_of_zero_draws_nothing_and_changes_nothing() -> None:
    patient = replace(sample_patient(np.random.default_rng(1)), implant=None)
    rng = np.random.default_rng(2)
    before = rng.bit_generator.state
    assert with_implant_share(patient, 0.0, rng) is patient
    assert rng.bit_generator.state == before


def test_the_share_is_met_in_the_hip_dxa_does_not_measure() -> None:
    patients = [replace(sample_patient(np.random.default_rng(k)), implant=None) for k in range(200)]
    rng = np.random.default_rng(3)
    enriched = [with_implant_share(p, 0.4, rng) for p in patients]
    with_metal = [p for p in enriched if p.implant is not None]
    assert 0.3 < len(with_metal) / len(enriched) < 0.5
    assert all(p.implant is not None and p.implant.side != p.index_side for p in with_metal)
    assert {p.implant.kind for p in with_metal if p.implant is not None} == {"arthroplasty", "screws"}
    with pytest.raises(ValueError, match="0–1"):
        with_implant_share(patients[0], 1.5, rng)


def test_an_enriched_case_keeps_its_patient_and_dxa() -> None:
    plain = CaseRequest("case", 4, "site_a_csi", 5, COARSE)
    enriched = replace(plain, implant_share=1.0)
    first, second = draw_case(plain, case_streams(5, 4)), draw_case(enriched, case_streams(5, 4))
    assert second.patient.implant is not None
    assert (second.patient.age_years, second.patient.index_side) == (
        first.patient.age_years,
        first.patient.index_side,
    )
    assert second.dxa_g_cm2 == pytest.approx(first.dxa_g_cm2)
