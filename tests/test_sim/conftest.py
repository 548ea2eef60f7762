"""Shared simulator fixtures: one small cohort (one coarse case per kind of site), simulated once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sim_cohort_files import SPEC

from hipbmd.sim.cohort import simulate_cohort


@pytest.fixture(scope="session")
def sim_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished three-case cohort folder (see ``sim_cohort_files.SPEC``); tests must not modify it."""
    folder = tmp_path_factory.mktemp("sim") / "cohort"
    simulate_cohort(SPEC, folder)
    return folder
