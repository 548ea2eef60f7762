"""One patient from any anatomy source (:mod:`hipbmd.sim.anatomy_sources`): who draws which source."""

from __future__ import annotations

import numpy as np

from hipbmd.sim.anatomy_sources import check_anatomy_region
from hipbmd.sim.population import Patient, sample_patient
from hipbmd.sim.real_ct_population import sample_real_ct_patient
from hipbmd.sim.wide_population import sample_wide_patient


def draw_patient(
    rng: np.random.Generator,
    anatomy_source: str,
    anatomy_region: str,
    age_range: tuple[float, float] = (40.0, 92.0),
) -> Patient:
    """Draw one patient of ``anatomy_source`` from ``anatomy_region`` of its parameter space.

    Raises:
        ValueError: an unknown source or region.
    """
    check_anatomy_region(anatomy_region)
    if anatomy_source == "parametric_wide":
        return sample_wide_patient(rng, age_range, anatomy_region)
    if anatomy_source == "real_ct":
        return sample_real_ct_patient(rng, age_range, anatomy_region)
    return sample_patient(rng, age_range, anatomy_source, anatomy_region)
