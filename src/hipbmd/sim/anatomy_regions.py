"""The training and held-out regions of the wide parametric ranges: four key parameters and their tails.

Each key parameter has a full range and an inner part (:data:`KEY_RANGES`):

=========================  ==============  ==================  ===========================
key parameter              full range      training (inner)    held-out tails
=========================  ==============  ==================  ===========================
neck–shaft angle (°)       110–150         118–142             110–118 and 142–150
femoral head radius (mm)   18–31           20.5–28.5           18–20.5 and 28.5–31
body mass index (kg/m²)    16–50           19–40               16–19 and 40–50
neck cortex (mm)           0.6–3.6         1.0–3.0             0.6–1.0 and 3.0–3.6
=========================  ==============  ==================  ===========================

A ``training`` patient draws every key parameter uniformly from its inner part. A ``held-out`` patient
picks one key parameter at random (among those its source varies) and draws it uniformly from its tails,
and draws the others uniformly over their full ranges; so every held-out patient has at least one key
parameter in the tails and no training patient has any.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hipbmd.sim.anatomy_sources import check_anatomy_region


@dataclass(frozen=True)
class KeyRange:
    """A key parameter's full range [low, high] and its inner part [inner_low, inner_high] (its unit)."""

    name: str
    low: float
    inner_low: float
    inner_high: float
    high: float

    def inner(self, rng: np.random.Generator) -> float:
        """A value drawn uniformly from the inner part."""
        return float(rng.uniform(self.inner_low, self.inner_high))

    def full(self, rng: np.random.Generator) -> float:
        """A value drawn uniformly from the full range."""
        return float(rng.uniform(self.low, self.high))

    def tails(self, rng: np.random.Generator) -> float:
        """A value drawn uniformly from the two tails together (each in proportion to its width)."""
        below = self.inner_low - self.low
        u = float(rng.uniform(0.0, below + self.high - self.inner_high))
        return self.low + u if u < below else self.inner_high + (u - below)

    def in_inner(self, value: float) -> bool:
        """Whether ``value`` lies in the inner part."""
        return self.inner_low <= value <= self.inner_high

    def in_tails(self, value: float) -> bool:
        """Whether ``value`` lies in a tail (within the full range, outside the inner part)."""
        return self.low <= value <= self.high and not self.in_inner(value)


KEY_RANGES = {
    key.name: key
    for key in (
        KeyRange("neck_shaft_angle_deg", 110.0, 118.0, 142.0, 150.0),
        KeyRange("head_radius_mm", 18.0, 20.5, 28.5, 31.0),
        KeyRange("bmi_kg_m2", 16.0, 19.0, 40.0, 50.0),
        KeyRange("neck_cortex_mm", 0.6, 1.0, 3.0, 3.6),
    )
}


@dataclass(frozen=True)
class KeyValues:
    """One patient's key parameters: neck–shaft angle (°), head radius (mm), BMI (kg/m²), neck cortex (mm)."""

    neck_shaft_angle_deg: float
    head_radius_mm: float
    bmi_kg_m2: float
    neck_cortex_mm: float


def draw_key_values(
    rng: np.random.Generator, region: str, tail_keys: tuple[str, ...] = tuple(KEY_RANGES)
) -> KeyValues:
    """The key parameters of a patient of ``region``; a held-out one has one of ``tail_keys`` in its tails."""
    check_anatomy_region(region)
    in_tails = tail_keys[int(rng.integers(len(tail_keys)))] if region == "held-out" else None
    values = {
        name: key.tails(rng) if name == in_tails else key.full(rng) if in_tails else key.inner(rng)
        for name, key in KEY_RANGES.items()
    }
    return KeyValues(**values)


def region_of(values: KeyValues, keys: tuple[str, ...] = tuple(KEY_RANGES)) -> str:
    """``training`` if every one of ``keys`` lies in its inner part, ``held-out`` if one lies in its tails."""
    inside = all(KEY_RANGES[name].in_inner(getattr(values, name)) for name in keys)
    return "training" if inside else "held-out"
