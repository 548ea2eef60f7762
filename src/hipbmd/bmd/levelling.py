"""Levelling the crops of a tilted radiograph, so that the network sees each hip at an angle it knows.

The decomposition model was trained on crops cut along the image's axes, from radiographs whose line
through both femoral heads tilts by at most about ±4° (5th–95th percentile of the training cohorts; its
augmentation turns crops by ±5° more) and whose femoral shafts run between about −3° and +16° from the
vertical in the crop (the crop's frame: a right hip as displayed, positive toward the head's side). A
cassette, a patient or an export turned further puts the hip outside what the model has seen, and its
density moves with the angle, even within those ranges: the same radiograph turned by 10° read up to
0.1 g/cm² differently at the total hip when its crop was cut along the image's axes. The estimate
therefore cuts every crop in one standard orientation (:attr:`CropPlacement.turn_deg`):

* two heads found (whether or not both hips are measured): by the tilt of the line through their
  centres, which comes out level, whatever the tilt (the pelvis and both femurs turn together, so this
  is the image's tilt; two head centres 150–250 mm apart give it to about a degree), when the two are
  read as a pelvis (:func:`~hipbmd.localisation.head_line.head_line_tilt_deg`; else each hip is
  levelled alone);
* one hip found: so that its shaft (the localiser's neck-base and distal-shaft points) stands at
  ``SHAFT_LEVEL_DEG``, the training hips' median. The shaft's angle is the patient's anatomy as much as
  the image's tilt (SD 5.5° in training) and its two points are read to a few degrees, but a crop turned
  to one shaft angle is what makes a turned single-hip view read like the untouched one (turning only a
  shaft beyond the training range, tried, left a 10° turn moving the total hip by 0.05 g/cm² at the
  median). A shaft beyond ``SHAFT_TRUSTED_DEG`` is more likely a misplaced point than a turned image: it
  is left as it is, flagged ``crop_not_levelled``, as is a hip without both points (unflagged: nothing
  was read).

Only a tilt beyond what training held is flagged (``crop_levelled``): a head line beyond
``HEAD_LINE_TOLERANCE_DEG``, a shaft outside ``SHAFT_RANGE_DEG`` (about 90 % of the training hips lie
in each). Angles are in the patient's plane at the detector (pixel spacings applied), degrees,
counter-clockwise as the file's pixels are displayed (:meth:`~hipbmd.frames.Affine2D.turn`); a crop is
cut from the file's pixels, so its turn is too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from hipbmd.localisation.hip_location import HipLocation

HEAD_LINE_TOLERANCE_DEG = 4.0
SHAFT_RANGE_DEG = (-3.0, 16.0)
SHAFT_LEVEL_DEG = 5.5  # median shaft angle of the training cohorts' hips (SD 5.5 deg)
SHAFT_TRUSTED_DEG = (-40.0, 50.0)


@dataclass(frozen=True)
class Levelling:
    """How one hip's crop is turned, and from what.

    Attributes:
        turn_deg: the turn of the crop's axes in the crop's own frame (mirrored for a mirrored crop), deg.
        measured_deg: the angle it was measured from (the head line's tilt or the shaft's angle), deg;
            None when neither could be measured. A shaft angle beyond ``SHAFT_TRUSTED_DEG`` is kept
            here with no turn.
        source: "head_line" or "shaft".
    """

    turn_deg: float
    measured_deg: float | None
    source: Literal["head_line", "shaft"]

    def flag(self) -> str | None:
        """The hip's note when its radiograph was tilted beyond what training held (``crop_levelled``) or
        its shaft read too steep to trust (``crop_not_levelled``), None otherwise."""
        if self.measured_deg is None:
            return None
        if self.source == "shaft" and not SHAFT_TRUSTED_DEG[0] <= self.measured_deg <= SHAFT_TRUSTED_DEG[1]:
            low, high = SHAFT_TRUSTED_DEG
            return (
                f"crop_not_levelled: femoral shaft read at {self.measured_deg:+.1f} deg, beyond "
                f"{low:.0f} to {high:+.0f} deg: taken for misplaced shaft points"
            )
        if self.turn_deg == 0.0:
            return None
        low, high = (
            (-HEAD_LINE_TOLERANCE_DEG, HEAD_LINE_TOLERANCE_DEG)
            if self.source == "head_line"
            else SHAFT_RANGE_DEG
        )
        if low <= self.measured_deg <= high:
            return None
        what = "line through both heads tilted" if self.source == "head_line" else "femoral shaft at"
        return f"crop_levelled: turned {self.turn_deg:+.1f} deg ({what} {self.measured_deg:+.1f} deg)"


def shaft_angle_deg(hip: HipLocation, spacing_mm: tuple[float, float], mirror: bool) -> float | None:
    """The angle (deg) of the hip's shaft from the crop's vertical, in the crop's frame (columns reversed
    for a mirrored crop), positive toward the head's side; None without both shaft points."""
    points = hip.region_points_px
    if "neck_base" not in points or "shaft_distal" not in points:
        return None
    rows_mm = (points["shaft_distal"][0] - points["neck_base"][0]) * spacing_mm[0]
    cols_mm = (points["shaft_distal"][1] - points["neck_base"][1]) * spacing_mm[1]
    if rows_mm <= 0.0:
        return None  # a shaft running up: the points are not a femur's
    return math.degrees(math.atan2(-cols_mm if mirror else cols_mm, rows_mm))


def levelling(
    hip: HipLocation, tilt_deg: float | None, spacing_mm: tuple[float, float], mirror: bool
) -> Levelling:
    """How to turn ``hip``'s crop (its columns reversed against the file's when ``mirror``) on an image
    whose head line tilts by ``tilt_deg`` in the file's pixels (None: not two heads;
    :attr:`~hipbmd.localisation.locate.HipSearch.tilt_deg`)."""
    if tilt_deg is not None:
        # an image turned counter-clockwise by t: the crop turns by t, or by -t when mirrored
        return Levelling(-tilt_deg if mirror else tilt_deg, tilt_deg, "head_line")
    angle = shaft_angle_deg(hip, spacing_mm, mirror)
    if angle is None or not SHAFT_TRUSTED_DEG[0] <= angle <= SHAFT_TRUSTED_DEG[1]:
        return Levelling(0.0, angle, "shaft")
    # a crop turned by e shows its content turned by -e: the shaft comes to the training median
    return Levelling(angle - SHAFT_LEVEL_DEG, angle, "shaft")
