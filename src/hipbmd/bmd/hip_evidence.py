"""What is known of a measured hip at inference that bears on how far its number may lie from DXA.

The interval calibration (:mod:`hipbmd.bmd.interval_calibration`) scales each region's error with the
Monte-Carlo spread and with the hip's out-of-distribution distance, which is measured on
:meth:`HipEvidence.features`: how far this hip's spread, localisation and femur geometry lie from those of
the calibration cohort's hips. The areal density itself is left out on purpose: a very low BMD is a
finding, not a sign of an unfamiliar image.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FEATURES = (
    "log_spread_neck",
    "log_spread_total_hip",
    "localiser_confidence",
    "region_confidence",
    "implant_response",
    "head_shift_mm",
    "head_radius_mm",
    "neck_shaft_angle_deg",
    "neck_width_mm",
    "neck_offset_mm",
)
SPREAD_FLOOR_G_CM2 = 1e-4  # a spread of zero (one sample) is read as this, so its log stays finite


@dataclass(frozen=True)
class HipEvidence:
    """One measured hip as the interval calibration sees it.

    Attributes:
        spread_g_cm2: region → SD over the Monte-Carlo samples of the region's mean areal density on the
            predicted DRR (g/cm², before the DXA line).
        localiser_confidence: the localiser's head response (0–1).
        region_confidence: its weakest response among the region points (0–1; NaN: none, or a localiser
            without region channels).
        implant_response: the localiser's implant response (0–1; 0 for a localiser without one).
        head_shift_mm: how far the head centre of the regions lies from the localiser's (detector mm).
        head_radius_mm: the femoral head's radius on the decomposed image (patient plane, mm).
        neck_shaft_angle_deg: the angle between the neck and shaft axes the regions stand on.
        neck_width_mm: the bone width of the narrowest neck section the neck box stands on (patient plane,
            mm; NaN when unknown).
        neck_offset_mm: how far that narrowest section lies from the landmarks' narrowest neck, along
            the neck axis (mm, unsigned; NaN when unknown).
    """

    spread_g_cm2: dict[str, float] = field(default_factory=dict)
    localiser_confidence: float = 1.0
    implant_response: float = 0.0
    head_shift_mm: float = 0.0
    head_radius_mm: float = math.nan
    neck_shaft_angle_deg: float = math.nan
    neck_width_mm: float = math.nan
    neck_offset_mm: float = math.nan
    region_confidence: float = math.nan

    def __eq__(self, other: object) -> bool:
        """Equal when every value is, a missing (NaN) value equal to a missing one."""
        if not isinstance(other, HipEvidence):
            return NotImplemented
        return self.spread_g_cm2 == other.spread_g_cm2 and bool(
            np.array_equal(self.features(), other.features(), equal_nan=True)
        )

    __hash__ = None  # type: ignore[assignment]

    def spread(self, roi: str) -> float:
        """The Monte-Carlo spread of ``roi`` (g/cm²), floored at :data:`SPREAD_FLOOR_G_CM2`."""
        return max(float(self.spread_g_cm2.get(roi, 0.0)), SPREAD_FLOOR_G_CM2)

    def features(self) -> npt.NDArray[np.float64]:
        """The vector the out-of-distribution distance is measured on, in the order of :data:`FEATURES`."""
        return np.array(
            [
                math.log(self.spread("neck")),
                math.log(self.spread("total_hip")),
                self.localiser_confidence,
                self.region_confidence,
                self.implant_response,
                self.head_shift_mm,
                self.head_radius_mm,
                self.neck_shaft_angle_deg,
                self.neck_width_mm,
                self.neck_offset_mm,
            ],
            dtype=np.float64,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (numbers rounded; NaN as null)."""
        return {
            "spread_g_cm2": {roi: round(value, 5) for roi, value in self.spread_g_cm2.items()},
            "localiser_confidence": _json_number(self.localiser_confidence, 3),
            "implant_response": _json_number(self.implant_response, 3),
            "head_shift_mm": _json_number(self.head_shift_mm, 2),
            "head_radius_mm": _json_number(self.head_radius_mm, 2),
            "neck_shaft_angle_deg": _json_number(self.neck_shaft_angle_deg, 2),
            "neck_width_mm": _json_number(self.neck_width_mm, 2),
            "neck_offset_mm": _json_number(self.neck_offset_mm, 2),
            "region_confidence": _json_number(self.region_confidence, 3),
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> HipEvidence:
        """Inverse of :meth:`to_dict`."""

        def number(key: str) -> float:
            value = record.get(key)
            return math.nan if value is None else float(value)

        return cls(
            {str(roi): float(value) for roi, value in (record.get("spread_g_cm2") or {}).items()},
            number("localiser_confidence"),
            number("implant_response"),
            number("head_shift_mm"),
            number("head_radius_mm"),
            number("neck_shaft_angle_deg"),
            number("neck_width_mm"),
            number("neck_offset_mm"),
            number("region_confidence"),
        )


def _json_number(value: float, digits: int) -> float | None:
    return None if not math.isfinite(value) else round(float(value), digits)
