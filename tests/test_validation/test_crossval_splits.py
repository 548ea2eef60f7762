"""Cross-validation splits: by patient, stratified by site, external sites never in a fold."""

from __future__ import annotations

from collections import Counter

import pytest

from hipbmd.validation.splits import make_splits, patient_sites, resolve_sites


def cohort(per_site: dict[str, int]) -> dict[str, str]:
    """Case id → site, the cases numbered across the sites."""
    sites = [site for site, n in per_site.items() for _ in range(n)]
    return {f"case_{k:05d}": site for k, site in enumerate(sites)}


SITES = {"site_a": 11, "site_b": 7, "site_c": 4, "site_e": 5}


@pytest.mark.parametrize("folds", [2, 3, 5])
def test_every_case_is_held_out_once_and_trained_on_by_every_other_fold(folds: int) -> None:
    cases = cohort(SITES)
    splits = make_splits(cases, folds, seed=7)
    held_out = [case for k in range(1, folds + 1) for case in splits.test_cases(k)]
    assert sorted(held_out) == sorted(cases)  # disjoint and complete
    for k in range(1, folds + 1):
        assert set(splits.training_cases(k)) == set(cases) - set(splits.test_cases(k))
    sizes = [len(fold) for fold in splits.folds]
    assert max(sizes) - min(sizes) <= 1


def test_each_site_is_spread_evenly_over_the_folds() -> None:
    cases = cohort(SITES)
    splits = make_splits(cases, 3, seed=1)
    for site in SITES:
        counts = [sum(cases[case] == site for case in fold) for fold in splits.folds]
        assert max(counts) - min(counts) <= 1, (site, counts)


def test_the_split_is_patient_level() -> None:
    rows = [{"case_id": "p1", "site": "s"}, {"case_id": "p1", "site": "s"}, {"case_id": "p2", "site": "s"}]
    rows += [{"case_id": "p3", "site": "t"}]
    splits = make_splits(patient_sites(rows), 2, seed=0)
    assert Counter(case for fold in splits.folds for case in fold) == {"p1": 1, "p2": 1, "p3": 1}


def test_external_sites_are_never_trained_on() -> None:
    cases = cohort(SITES)
    splits = make_splits(cases, 4, seed=3, external_sites=["site_e"])
    external = {case for case, site in cases.items() if site == "site_e"}
    assert set(splits.external) == external
    for k in range(1, 5):
        assert not external & set(splits.training_cases(k)) and not external & set(splits.test_cases(k))
    assert not external & set(splits.internal_cases())
    assert splits.fold_of()[min(external)] == "external"


def test_the_split_depends_on_the_seed_alone() -> None:
    cases = cohort(SITES)
    assert make_splits(cases, 3, seed=5) == make_splits(dict(reversed(cases.items())), 3, seed=5)
    assert make_splits(cases, 3, seed=5).folds != make_splits(cases, 3, seed=6).folds


def test_a_tiny_cohort_with_one_case_per_site_still_splits() -> None:
    splits = make_splits({"a": "site_a", "d": "site_d", "e": "site_e"}, 2, seed=0, external_sites=["site_e"])
    assert sorted(len(fold) for fold in splits.folds) == [1, 1] and splits.external == ("e",)


@pytest.mark.parametrize(
    ("folds", "external", "message"),
    [(1, [], "at least 2 folds"), (4, ["site_e"], "only 3 cases"), (2, ["site_z"], "no case of site_z")],
)
def test_impossible_splits_are_refused(folds: int, external: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_splits({"a": "site_a", "b": "site_a", "c": "site_b", "e": "site_e"}, folds, 0, external)


def test_external_sites_may_be_named_by_prefix() -> None:
    known = ["site_a_csi", "site_e_ase", "site_f_portable", "site_f_other"]
    assert resolve_sites(["site_e", "site_a_csi"], known) == ("site_e_ase", "site_a_csi")
    with pytest.raises(ValueError, match="sites site_f_other, site_f_portable"):
        resolve_sites(["site_f"], known)
    with pytest.raises(ValueError, match="no site"):
        resolve_sites(["site_x"], known)


def test_the_splits_record_says_what_was_done() -> None:
    record = make_splits(cohort(SITES), 2, seed=9, external_sites=["site_e"]).to_dict()
    assert record["schema"] == "hipbmd-crossval-splits/1" and record["seed"] == 9
    assert record["stratified_by"] == "site" and record["external_sites"] == ["site_e"]
    assert len(record["folds"]) == 2 and len(record["external"]) == SITES["site_e"]
