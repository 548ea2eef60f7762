"""Anatomy sources: names, the turn each case takes, and the record of a case's source."""

from __future__ import annotations

import pytest

from hipbmd.sim.anatomy_sources import ANATOMY_SOURCES, resolve_anatomy_sources, source_of_case
from hipbmd.sim.case_draw import Resolution
from hipbmd.sim.cohort import CohortSpec


def test_all_names_every_source_once() -> None:
    assert resolve_anatomy_sources("all") == ANATOMY_SOURCES
    assert resolve_anatomy_sources(f"{ANATOMY_SOURCES[0]}, all") == ANATOMY_SOURCES


def test_unknown_source_is_named() -> None:
    with pytest.raises(ValueError, match="unknown anatomy source 'ct_of_a_cat'"):
        resolve_anatomy_sources("ct_of_a_cat")
    with pytest.raises(ValueError, match="no anatomy source"):
        resolve_anatomy_sources(" , ")


def test_every_site_gets_every_source_in_turn() -> None:
    sources = ("a", "b", "c")
    pairs = {(k % 2, source_of_case(k, 2, sources)) for k in range(12)}
    assert pairs == {(site, source) for site in range(2) for source in sources}


def test_cohort_requests_carry_their_source() -> None:
    spec = CohortSpec(4, ("site_a_csi", "site_b_csi"), 0, Resolution(), ("parametric",))
    assert [r.anatomy for r in spec.requests()] == ["parametric"] * 4
    assert spec.request(3).site == "site_b_csi"
