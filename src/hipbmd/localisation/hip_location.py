"""One hip found on a radiograph, as the localiser reports it and the estimate record stores it.

Importing this module does not import torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from hipbmd.localisation.orientation import SideSource
from hipbmd.types import Side

# An implant response at or above this flags the hip (``implant_suspected``). Set on the interval
# calibration's two cohorts (held out of training and of every benchmark; 15 implants and 604 native hips
# found by the shipped localiser): every implant responded 0.588 or more; at 0.5 (about 0.1 below) 2 of the
# 604 native hips are flagged, at 0.6 1 (and one implant missed).
IMPLANT_THRESHOLD = 0.5


@dataclass(frozen=True)
class HipLocation:
    """One hip found in a radiograph; pixel positions (row, col) in the original image.

    Attributes:
        side: the patient's side.
        head_centre_px: femoral head centre.
        lesser_trochanter_px: lesser trochanter tip, None when not found.
        confidence: head heatmap peak height, 0–1 (1.0 for a centre given by the user).
        lesser_trochanter_confidence: trochanter heatmap peak height, 0–1.
        side_source: "dicom" (PatientOrientation), "assumed" (standard AP display) or "user".
        flags: QC notes ("side_assumed", "spacing_assumed", "side_uncertain", …).
        implant_probability: the localiser's implant response at this hip, 0–1 (None: a localiser
            without implant channels).
        region_points_px: the points that place the DXA-like regions, by name ("neck_narrowest",
            "neck_base", "shaft_distal", "greater_trochanter"), those whose response reaches
            ``REGION_POINT_FLOOR`` (empty: a localiser without region channels); also
            "lesser_trochanter" when it was too faint to be found but reaches that floor.
        region_confidence: the weakest response among the region points kept, 0–1 (None: none kept).
    """

    side: Side
    head_centre_px: tuple[float, float]
    lesser_trochanter_px: tuple[float, float] | None
    confidence: float
    lesser_trochanter_confidence: float
    side_source: SideSource
    flags: tuple[str, ...] = ()
    implant_probability: float | None = None
    region_points_px: dict[str, tuple[float, float]] = field(default_factory=dict)
    region_confidence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> HipLocation:
        """Inverse of :meth:`to_dict`."""
        lesser = record.get("lesser_trochanter_px")
        side, source = record["side"], record["side_source"]
        if side not in ("right", "left") or source not in ("dicom", "assumed", "user"):
            raise ValueError(f"not a hip location: side {side!r}, side source {source!r}")
        return cls(
            side,
            (float(record["head_centre_px"][0]), float(record["head_centre_px"][1])),
            None if lesser is None else (float(lesser[0]), float(lesser[1])),
            float(record["confidence"]),
            float(record["lesser_trochanter_confidence"]),
            source,
            tuple(str(flag) for flag in record.get("flags", [])),
            None if record.get("implant_probability") is None else float(record["implant_probability"]),
            {
                str(name): (float(point[0]), float(point[1]))
                for name, point in (record.get("region_points_px") or {}).items()
            },
            None if record.get("region_confidence") is None else float(record["region_confidence"]),
        )
