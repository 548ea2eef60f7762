"""Enriched findings: cohorts in which more patients carry an implant than the population does.

A detector of implants needs many hips with metal to learn from; the population's prevalence (a few percent,
:func:`hipbmd.sim.population.draw_implant`) gives a few dozen in a cohort of hundreds. A cohort can ask
that at least a share of its patients carry one: each patient without an implant gets one with that
probability, drawn from a generator of its own, so every other draw of the case stays as it was.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from hipbmd.sim.implants import Implant
from hipbmd.sim.population import Patient
from hipbmd.types import Side

ARTHROPLASTY_SHARE = 0.75  # of the implants added: total hip arthroplasties; the rest cannulated screws


def with_implant_share(patient: Patient, share: float, rng: np.random.Generator) -> Patient:
    """The patient, given an implant in the hip DXA does not measure with probability ``share`` when
    they have none (``share`` 0: unchanged, nothing drawn).

    Raises:
        ValueError: a share outside 0–1.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"the implant share must lie in 0–1, got {share}")
    if share == 0.0 or patient.implant is not None or rng.random() >= share:
        return patient
    side: Side = "left" if patient.index_side == "right" else "right"
    if rng.random() < ARTHROPLASTY_SHARE:
        implant = Implant("arthroplasty", side, 14.0 if rng.random() < 0.5 else 16.0)
    else:
        implant = Implant("screws", side)
    return replace(patient, implant=implant)
