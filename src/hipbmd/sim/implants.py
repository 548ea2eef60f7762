"""Metal in the hip: a total hip arthroplasty or cannulated screws across a femoral neck fracture.

Arthroplasty: the femoral head is resected across the neck; a titanium-alloy stem (Ti-6Al-4V) runs down
the canal, a cobalt–chromium head (28 or 32 mm) sits in a titanium acetabular shell. Screws: three
parallel titanium cannulated screws (7.0 mm) along the neck from the lateral cortex into the head, the
usual fixation of an undisplaced neck fracture. Geometry is given in the femur's canonical frame
(:mod:`hipbmd.sim.femur_shape`); sizes are typical of implants in use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from hipbmd.sim import sdf_program as sdf
from hipbmd.sim.femur_shape import FemurFrame, FemurShape
from hipbmd.types import Side

Array = npt.NDArray[np.float32]
ImplantKind = Literal["arthroplasty", "screws"]
SCREW_RADIUS_MM = 3.5


@dataclass(frozen=True)
class Implant:
    """An implant in one hip.

    Attributes:
        kind: "arthroplasty" or "screws".
        side: the hip it is in.
        head_radius_mm: radius of an arthroplasty's metal head.
    """

    kind: ImplantKind
    side: Side
    head_radius_mm: float = 14.0


def metal_parts(implant: Implant, shape: FemurShape, frame: FemurFrame) -> dict[str, list[sdf.Part]]:
    """The implant's metal pieces in the femur's canonical frame, by material."""
    if implant.kind == "screws":
        up = np.cross(frame.anterior, frame.neck_axis)
        tip_depth = 0.55 * shape.head_radius_mm
        screws = []
        for offset in (6.0 * up, -7.0 * up + 5.0 * frame.anterior, -7.0 * up - 5.0 * frame.anterior):
            tip = tip_depth * frame.neck_axis + offset
            entry = frame.neck_base + offset - 22.0 * frame.neck_axis
            screws.append(sdf.capsule(entry, tip, SCREW_RADIUS_MM, SCREW_RADIUS_MM))
        return {"titanium": screws}
    stem_top = frame.neck_narrowest
    stem_tip = frame.neck_base - 130.0 * frame.shaft_axis
    stem = [
        sdf.capsule(stem_top, frame.neck_base, 6.5, 8.0),
        sdf.capsule(frame.neck_base, stem_tip, 8.0, 4.5, 6.0, 0.6, frame.anterior),
    ]
    return {"titanium": stem, "cobalt_chrome": [sdf.sphere((0.0, 0.0, 0.0), implant.head_radius_mm)]}


def resection_mm(points: Array, implant: Implant, frame: FemurFrame) -> Array | None:
    """Signed distance to the neck cut of an arthroplasty (positive on the removed, head side), else None."""
    if implant.kind != "arthroplasty":
        return None
    cut = 0.6 * frame.neck_narrowest
    return np.asarray((points - cut.astype(np.float32)) @ frame.neck_axis.astype(np.float32), np.float32)


def acetabular_shell(
    implant: Implant, hip_centre_mm: npt.ArrayLike, socket_radius_mm: float
) -> list[sdf.Part]:
    """The titanium shell in the acetabulum (world frame), 3 mm thick, its opening as the socket's."""
    sign = 1.0 if implant.side == "right" else -1.0
    opening = np.array([0.68 * sign, 0.3, -0.67])
    return [sdf.cup(hip_centre_mm, socket_radius_mm - 3.0, socket_radius_mm, opening, 0.0)]
