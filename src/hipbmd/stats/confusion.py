"""Confusion matrices of diagnostic categories: reference category (rows) × estimated category (columns).

The categories are those of :mod:`hipbmd.bmd.classify`: WHO (normal / osteopenia / osteoporosis, from
the T-score) and JOS/JSBMR 2012 (normal / low_bone_mass / osteoporosis, from %YAM and T). An estimate
without a category (withheld aBMD, or a category withheld by QC) is counted in an extra
:data:`WITHHELD` column instead of being dropped; the agreement is over the categorised hips.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, get_args

from hipbmd.bmd.classify import JOSCategory, WHOCategory

WHO_CATEGORIES: tuple[str, ...] = get_args(WHOCategory)
JOS_CATEGORIES: tuple[str, ...] = get_args(JOSCategory)
WITHHELD = "withheld"


@dataclass(frozen=True)
class Confusion:
    """Counts[i][j]: hips of reference category ``labels[i]`` estimated as ``columns[j]``."""

    labels: tuple[str, ...]
    columns: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]
    n: int
    n_categorised: int
    agreement: float | None

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary for a report (written, not read back)."""
        return asdict(self)


def confusion(
    reference: Sequence[str], estimated: Sequence[str | None], labels: tuple[str, ...]
) -> Confusion:
    """Count each (reference, estimated) pair of categories; None estimates go to :data:`WITHHELD`.

    Raises:
        ValueError: a category outside ``labels``, or sequences of different lengths.
    """
    if len(reference) != len(estimated):
        raise ValueError(f"{len(reference)} reference and {len(estimated)} estimated categories")
    columns = (*labels, WITHHELD)
    counts = [[0] * len(columns) for _ in labels]
    for truth, called in zip(reference, estimated, strict=True):
        if truth not in labels or (called is not None and called not in labels):
            raise ValueError(f"unknown category {truth!r} or {called!r} (known: {', '.join(labels)})")
        counts[labels.index(truth)][columns.index(called or WITHHELD)] += 1
    categorised = sum(sum(row[:-1]) for row in counts)
    same = sum(counts[i][i] for i in range(len(labels)))
    return Confusion(
        labels,
        columns,
        tuple(tuple(row) for row in counts),
        len(reference),
        categorised,
        same / categorised if categorised else None,
    )
