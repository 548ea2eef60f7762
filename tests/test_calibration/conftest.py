"""Shared calibration fixtures: simulated phantom CTs, made once per test run (tests must not modify them)."""

from __future__ import annotations

import pytest
from calibration_ct import Scan, scan


@pytest.fixture(scope="session")
def bmas_scan() -> Scan:
    """The body over a B-MAS 200 phantom, scanned by site scanner ct_a with its noise."""
    return scan("B-MAS 200", scanner="ct_a", seed=1)


@pytest.fixture(scope="session")
def mindways_scan() -> Scan:
    """The body over a Mindways Model 3 CT phantom, scanned by site scanner ct_b with its noise."""
    return scan("Mindways Model 3 CT", scanner="ct_b", seed=2)
