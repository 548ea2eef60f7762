"""Patient-level cross-validation splits of a cohort, stratified by site, with external sites held out.

A case (``case_id``) is a patient: all of a case's manifest rows go to one fold. The cases of the
external sites are in no fold, so no model of the cross-validation is trained on them. The other cases
are dealt out per site: each site's cases, sorted by id and shuffled with the seed, go to folds 1, 2, …,
K in turn, the turn carrying on from one site to the next. Every fold then holds each site's cases to
within one and the folds' sizes differ by at most one. (scikit-learn's ``StratifiedKFold`` gives the
same balance but refuses a cohort in which every site has fewer cases than folds, as pilot cohorts do.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

SPLITS_SCHEMA = "hipbmd-crossval-splits/1"


@dataclass(frozen=True)
class Splits:
    """The test cases of each fold (fold k is ``folds[k - 1]``), the external cases and how they came."""

    folds: tuple[tuple[str, ...], ...]
    external: tuple[str, ...]
    seed: int
    external_sites: tuple[str, ...] = ()

    def test_cases(self, fold: int) -> tuple[str, ...]:
        """The cases held out by fold ``fold`` (1-based)."""
        return self.folds[fold - 1]

    def training_cases(self, fold: int) -> tuple[str, ...]:
        """The cases fold ``fold`` (1-based) trains on: those of every other fold, sorted."""
        return tuple(sorted(case for k, cases in enumerate(self.folds, 1) if k != fold for case in cases))

    def internal_cases(self) -> tuple[str, ...]:
        """Every case in a fold, sorted."""
        return tuple(sorted(case for cases in self.folds for case in cases))

    def fold_of(self) -> dict[str, str]:
        """Case id → ``"1"`` … ``"K"``, or ``"external"``."""
        placed = {case: str(k) for k, cases in enumerate(self.folds, 1) for case in cases}
        return {**placed, **dict.fromkeys(self.external, "external")}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (schema ``hipbmd-crossval-splits/1``)."""
        return {
            "schema": SPLITS_SCHEMA,
            "seed": self.seed,
            "stratified_by": "site",
            "external_sites": list(self.external_sites),
            "folds": [list(cases) for cases in self.folds],
            "external": list(self.external),
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Splits:
        """Inverse of :meth:`to_dict`.

        Raises:
            ValueError: a record of another schema.
        """
        if record.get("schema") != SPLITS_SCHEMA:
            raise ValueError(f"not a splits record of schema {SPLITS_SCHEMA}")
        return cls(
            tuple(tuple(str(case) for case in cases) for cases in record["folds"]),
            tuple(str(case) for case in record["external"]),
            int(record["seed"]),
            tuple(str(site) for site in record.get("external_sites", [])),
        )


def patient_sites(rows: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """Case id → site over manifest rows (a case's first row names its site)."""
    sites: dict[str, str] = {}
    for row in rows:
        sites.setdefault(row["case_id"], row["site"])
    return sites


def resolve_sites(given: Sequence[str], known: Sequence[str]) -> tuple[str, ...]:
    """Full site names for names or prefixes (``site_e`` → ``site_e_ase``); ValueError if none or several."""
    chosen = []
    for name in given:
        matches = [site for site in sorted(set(known)) if site == name or site.startswith(f"{name}_")]
        if len(matches) != 1:
            found = "no site" if not matches else f"sites {', '.join(matches)}"
            raise ValueError(f"--external-sites {name!r}: {found} of the cohort match")
        chosen.append(matches[0])
    return tuple(dict.fromkeys(chosen))


def make_splits(
    sites: Mapping[str, str], folds: int, seed: int, external_sites: Sequence[str] = ()
) -> Splits:
    """Split cases (case id → site) into ``folds`` stratified folds, external sites apart (module docstring).

    Raises:
        ValueError: fewer than two folds, an external site with no case, or fewer cases than folds.
    """
    if folds < 2:
        raise ValueError(f"--folds {folds}: a cross-validation needs at least 2 folds")
    unknown = sorted(set(external_sites) - set(sites.values()))
    if unknown:
        raise ValueError(f"--external-sites: no case of {', '.join(unknown)} in the cohort")
    external = tuple(sorted(case for case, site in sites.items() if site in external_sites))
    internal = {case: site for case, site in sites.items() if site not in external_sites}
    if len(internal) < folds:
        raise ValueError(f"--folds {folds}: only {len(internal)} cases outside the external sites")
    rng = np.random.default_rng(seed)
    dealt: list[list[str]] = [[] for _ in range(folds)]
    turn = 0
    for site in sorted(set(internal.values())):
        cases = sorted(case for case, where in internal.items() if where == site)
        for index in rng.permutation(len(cases)):
            dealt[turn % folds].append(cases[index])
            turn += 1
    return Splits(tuple(tuple(sorted(f)) for f in dealt), external, seed, tuple(sorted(external_sites)))
