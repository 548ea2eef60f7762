"""Shared fixtures: paths of the bundled real data and a seeded random generator."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

REAL = Path(__file__).resolve().parents[1] / "data" / "real"


@pytest.fixture
def real() -> Path:
    """Folder of the bundled real files (see data/real/README.md)."""
    return REAL


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def sim_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished three-case simulated cohort (one coarse case per kind of site, see
    ``sim_cohort_files.SPEC``), simulated once per run; tests must not modify it."""
    from hipbmd.sim.cohort import simulate_cohort
    from sim_cohort_files import SPEC

    folder = tmp_path_factory.mktemp("sim") / "cohort"
    simulate_cohort(SPEC, folder)
    return folder
