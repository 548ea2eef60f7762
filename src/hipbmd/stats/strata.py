"""Subgroups the report repeats every statistic for: all hips, and by site, sex and age band.

A grouping is made only when the reference has its column (``site``, ``sex``, ``age``); hips without a
value form the group ``unknown``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from hipbmd.stats.inputs import ReferenceCase, ReferenceTable

Item = TypeVar("Item")

# (lowest age, first age above, label), years; the label is ASCII for JSON keys and file names.
AGE_BANDS: tuple[tuple[float | None, float | None, str], ...] = (
    (None, 50.0, "<50"),
    (50.0, 60.0, "50-59"),
    (60.0, 70.0, "60-69"),
    (70.0, 80.0, "70-79"),
    (80.0, None, ">=80"),
)
UNKNOWN = "unknown"
OVERALL = "overall"
ALL = "all"


def age_band(age_years: float | None) -> str | None:
    """The label of the band of :data:`AGE_BANDS` holding ``age_years``; None when unknown."""
    if age_years is None:
        return None
    for low, high, label in AGE_BANDS:
        if (low is None or age_years >= low) and (high is None or age_years < high):
            return label
    raise AssertionError("the age bands cover every age")


GROUPINGS: dict[str, tuple[str, Callable[[ReferenceCase], str | None]]] = {
    "site": ("site", lambda case: case.site),
    "sex": ("sex", lambda case: case.sex),
    "age_band": ("age", lambda case: age_band(case.age_years)),
}


def groupings(reference: ReferenceTable) -> list[str]:
    """The groupings whose column the reference has, in the order of :data:`GROUPINGS`."""
    return [name for name, (column, _) in GROUPINGS.items() if column in reference.columns]


def split(
    items: list[Item], case_of: Callable[[Item], ReferenceCase], grouping: str
) -> dict[str, list[Item]]:
    """Items per group of ``grouping`` (sorted; age bands in order; ``unknown`` last)."""
    _, key = GROUPINGS[grouping]
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(key(case_of(item)) or UNKNOWN, []).append(item)
    order = [label for _, _, label in AGE_BANDS] if grouping == "age_band" else sorted(groups)
    known = [name for name in order if name in groups and name != UNKNOWN]
    return {name: groups[name] for name in [*known, *([UNKNOWN] if UNKNOWN in groups else [])]}
