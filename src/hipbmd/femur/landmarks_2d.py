"""Proximal femur landmarks on a femur-only areal-density image (a DRR, g/cm²), in pixels.

The image is an AP view (rows superior → inferior) of one femur with square pixels. As displayed, a
right femur's head lies to the viewer's right of its shaft (medial = +column) and a left femur is its
mirror image; a left femur is mirrored, measured as a right one, and its landmarks mirrored back.
The 2-D steps follow the 3-D ones of :mod:`hipbmd.femur.landmarks_from_mask`, on the largest
connected piece of bone (areal density above :data:`~hipbmd.femur.roi.BONE_THRESHOLD_G_CM2`):

1. Head: the deepest bone pixel (distance transform) within ``HEAD_SEARCH_MM`` of the most medial
   bone pixel of the upper femur starts a least-squares circle fit to the bone outline (pixel-edge
   midpoints) near that circle, repeated while keeping the outline points close to the circle.
2. Shaft axis: a line through the midpoints of the shaft's lateral and medial edges, row by row, from
   ``SHAFT_START_BELOW_LESSER_TROCHANTER_MM`` below the lesser trochanter to the femur's lower end
   (a first pass starts 3.5 head radii below the head centre); rows whose midpoint misses the line by
   more than 3 robust SDs are dropped.
3. Narrowest neck: the shortest run of bone across the neck, among the lines 1–2 head radii from the
   head centre whose normals lie within 35° of the direction to the bone just outside the head (runs
   shorter than 0.7 head radii, lines grazing a corner of the outline, do not count); the landmark is
   its middle. Neck axis: the line from the head centre through that middle (in a symmetric neck the
   axis meets the narrowest section there). Neck base: where the neck axis crosses the shaft axis.
4. Lesser trochanter: the most prominent local maximum (at least 0.75 mm) of the medial bone edge's
   distance from the shaft axis, 0.3–3.2 head radii below the neck base. Greater trochanter: the most
   proximal outline point lateral to the shaft axis and outside the head.

Whatever makes the landmarks meaningless raises :class:`~hipbmd.femur.landmarks_from_mask.LandmarkError`
with the reason: no femur; no circular head (fit RMS over 2.5 mm: an implant, a resected head) or a
radius outside 12–40 mm; the head lateral to the shaft (wrong side); less than 10 mm of shaft to fit
or 30 mm below the lesser trochanter; no distinct neck (the narrowest section over 1.6 head radii out,
as when rotation foreshortens the neck); no lesser trochanter bulge (it can hide behind the shaft in
internal rotation); axes that meet implausibly. Doubts about usable landmarks are QC flags.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from hipbmd.drr.geometry import PoseParameters
from hipbmd.femur.dxa_pose import DXAView
from hipbmd.femur.landmarks_from_mask import LandmarkError, NoFemoralHeadError, NoShaftAxisError
from hipbmd.femur.outline_2d import BoolImage, Point, RightFemurOutline, bone_run
from hipbmd.femur.roi import BONE_THRESHOLD_G_CM2, bone_mask
from hipbmd.types import Camera, Side

MIN_FEMUR_AREA_MM2 = 1000.0  # less bone than this is not a proximal femur
# A shaft axis on a short shaft starts nearer the lesser trochanter than the full fit's, past the tip's
# bulge, so that a femur the image cuts 18-30 mm below the trochanter still gives one.
SHORT_SHAFT_START_BELOW_LESSER_TROCHANTER_MM = 8.0


@dataclass(frozen=True)
class Landmarks2D:
    """Landmarks of one femur on an areal-density image; points are (row, column) pixels.

    Attributes:
        side: the patient's side of the femur.
        shape: image shape (rows, columns).
        pixel_spacing_mm: square pixel size.
        head_centre_px, head_radius_mm: the head's fitted circle.
        neck_narrowest_px: middle of the narrowest cross-neck section.
        neck_base_px: where the neck axis crosses the shaft axis.
        lesser_trochanter_px: lesser trochanter tip (on the medial outline).
        greater_trochanter_px: most proximal outline point lateral to the shaft axis (None: not placed;
            the regions do not stand on it).
        shaft_axis: unit (row, column) direction of the shaft axis, pointing distally.
        neck_axis: unit (row, column) direction of the neck axis, from the neck base to the head.
        neck_shaft_angle_deg: angle between the neck axis and the distal shaft axis.
        flags: QC codes (empty when none): "head_not_circular", "head_outline_partial",
            "neck_shaft_angle_implausible", "femur_cut_by_image_edge".
        qc: figures behind the flags: "head_fit_rms_mm", "head_coverage" (fraction of the circle the
            fitted outline covers), "shaft_fit_rms_mm", "shaft_fit_length_mm" (rows of shaft the
            axis was fitted to), "neck_width_mm" (narrowest run), "neck_narrowest_from_head_radii",
            "lesser_trochanter_prominence_mm", "shaft_below_lesser_trochanter_mm".
    """

    side: Side
    shape: tuple[int, int]
    pixel_spacing_mm: float
    head_centre_px: tuple[float, float]
    head_radius_mm: float
    neck_narrowest_px: tuple[float, float]
    neck_base_px: tuple[float, float]
    lesser_trochanter_px: tuple[float, float]
    greater_trochanter_px: tuple[float, float] | None
    shaft_axis: tuple[float, float]
    neck_axis: tuple[float, float]
    neck_shaft_angle_deg: float
    flags: tuple[str, ...] = ()
    qc: dict[str, float] = field(default_factory=dict)

    def points_px(self) -> dict[str, tuple[float, float]]:
        """Named points as :class:`~hipbmd.femur.dxa_pose.DXAView` and :func:`hip_rois` name them."""
        points = {
            "head_centre": self.head_centre_px,
            "neck_narrowest": self.neck_narrowest_px,
            "neck_base": self.neck_base_px,
            "shaft_point": self.neck_base_px,
            "lesser_trochanter": self.lesser_trochanter_px,
        }
        if self.greater_trochanter_px is not None:
            points["greater_trochanter"] = self.greater_trochanter_px
        return points

    def view(self) -> DXAView:
        """A :class:`DXAView` of the image for :func:`~hipbmd.femur.roi.hip_rois`.

        The image has no world frame, so the camera (parallel, the image's shape and spacing) carries a
        nominal AP pose; only its pixel spacing, the landmark pixels and the head radius are meaningful.
        """
        pose = PoseParameters()
        spacing = (self.pixel_spacing_mm, self.pixel_spacing_mm)
        camera = Camera(self.shape, spacing, 2.0 * pose.sod_mm, projection="parallel", pose=pose.to_pose())
        return DXAView(camera, pose, self.side, self.points_px(), self.head_radius_mm)

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary for a report (written, not read back)."""
        return {
            "side": self.side,
            "pixel_spacing_mm": self.pixel_spacing_mm,
            "landmarks_px": {k: [round(v[0], 3), round(v[1], 3)] for k, v in self.points_px().items()},
            "head_radius_mm": round(self.head_radius_mm, 3),
            "shaft_axis": [round(v, 5) for v in self.shaft_axis],
            "neck_axis": [round(v, 5) for v in self.neck_axis],
            "neck_shaft_angle_deg": round(self.neck_shaft_angle_deg, 2),
            "flags": list(self.flags),
            "qc": {k: round(v, 4) for k, v in self.qc.items()},
        }


def femur_mask(image_g_cm2: npt.ArrayLike, threshold_g_cm2: float = BONE_THRESHOLD_G_CM2) -> BoolImage:
    """The largest 8-connected piece of bone (areal density above the threshold); empty if none."""
    bone = bone_mask(image_g_cm2, threshold_g_cm2)
    pieces, count = ndimage.label(bone, structure=np.ones((3, 3)))
    if count <= 1:
        return bone
    sizes = np.bincount(pieces.ravel())[1:]
    return np.asarray(pieces == int(np.argmax(sizes)) + 1)


def find_landmarks_2d(
    image_g_cm2: npt.ArrayLike,
    spacing_mm: float,
    side: Side,
    threshold_g_cm2: float = BONE_THRESHOLD_G_CM2,
) -> Landmarks2D:
    """Landmarks of the femur in ``image_g_cm2`` (H, W) with square ``spacing_mm`` pixels (see module doc).

    Raises:
        LandmarkError: the image does not give trustworthy landmarks (the message says why).
        ValueError: not a 2-D image, or a spacing that is not positive.
    """
    image = np.asarray(image_g_cm2, dtype=np.float64)
    if image.ndim != 2 or not spacing_mm > 0:
        raise ValueError("need a 2-D image and a positive pixel spacing")
    mask = np.asarray(ndimage.binary_fill_holes(femur_mask(image, threshold_g_cm2)))
    area_mm2 = float(mask.sum()) * spacing_mm**2
    if area_mm2 < MIN_FEMUR_AREA_MM2:
        raise NoFemoralHeadError(f"only {area_mm2:.0f} mm² of bone: no femur in the image")
    mirrored = side == "left"
    found = RightFemurOutline(mask[:, ::-1] if mirrored else mask, spacing_mm).measure()
    if mirrored:
        found = found.mirrored(mask.shape[1])
    flags = list(found.flags)
    if mask[0].any() or mask[:, 0].any() or mask[:, -1].any():
        flags.append("femur_cut_by_image_edge")
    return Landmarks2D(
        side=side,
        shape=(int(mask.shape[0]), int(mask.shape[1])),
        pixel_spacing_mm=float(spacing_mm),
        head_centre_px=_pair(found.points["head_centre"]),
        head_radius_mm=found.head_radius_px * spacing_mm,
        neck_narrowest_px=_pair(found.points["neck_narrowest"]),
        neck_base_px=_pair(found.points["neck_base"]),
        lesser_trochanter_px=_pair(found.points["lesser_trochanter"]),
        greater_trochanter_px=_pair(found.points["greater_trochanter"]),
        shaft_axis=_pair(found.shaft_down),
        neck_axis=_pair(found.neck_up),
        neck_shaft_angle_deg=found.neck_shaft_angle_deg,
        flags=tuple(flags),
        qc={k: float(v) for k, v in found.qc.items()},
    )


def visible_shaft_axis(
    image_g_cm2: npt.ArrayLike,
    spacing_mm: float,
    lesser_trochanter_px: tuple[float, float],
    neck_base_px: tuple[float, float],
    on_image: BoolImage | None = None,
    threshold_g_cm2: float = BONE_THRESHOLD_G_CM2,
) -> tuple[tuple[float, float], float]:
    """A right femur's shaft axis from what the image shows of the shaft below a given lesser trochanter.

    The line through the midpoints of the shaft's edges, row by row, from
    ``SHORT_SHAFT_START_BELOW_LESSER_TROCHANTER_MM`` below the trochanter tip down to the first row where
    the radiograph's edge (``on_image`` False) reaches the shaft's columns, the bone run in each row chosen
    nearest a vertical line through ``neck_base_px`` (as
    :meth:`~hipbmd.femur.outline_2d.RightFemurOutline.fit_shaft`): a row the edge cuts through would pull
    the midpoints aside. For a femur the image cuts too close below the trochanter for the full fit
    (:func:`find_landmarks_2d`), whose other landmarks come from elsewhere.

    Args:
        image_g_cm2: (H, W) areal density of a right femur (medial = +column).
        spacing_mm: square pixel size.
        lesser_trochanter_px, neck_base_px: (row, col) pixels.
        on_image: (H, W) True where the image shows the radiograph (None: everywhere).
        threshold_g_cm2: areal density above which a pixel is bone.

    Returns:
        The unit (row, col) direction of the axis, distal, and the length of shaft (rows × pixel size,
        mm) it was fitted to.

    Raises:
        NoShaftAxisError: less than ``MIN_SHAFT_FIT_MM`` of shaft below the start.
    """
    image = np.asarray(image_g_cm2, dtype=np.float64)
    if on_image is not None:
        image = np.where(on_image, image, 0.0)
    mask = np.asarray(ndimage.binary_fill_holes(femur_mask(image, threshold_g_cm2)))
    start_row = lesser_trochanter_px[0] + SHORT_SHAFT_START_BELOW_LESSER_TROCHANTER_MM / spacing_mm
    if on_image is not None:
        mask = _above_edge_across_shaft(mask, on_image, start_row, neck_base_px[1])
    if not mask[max(math.ceil(start_row), 0) :].any():
        raise NoShaftAxisError("no shaft below the lesser trochanter")
    outline = RightFemurOutline(mask, spacing_mm)
    try:
        _, down = outline.fit_shaft(start_row, (np.asarray(neck_base_px, np.float64), np.array([1.0, 0.0])))
    except LandmarkError as error:
        raise NoShaftAxisError(str(error)) from None
    return _pair(down), outline.qc["shaft_fit_length_mm"]


def _above_edge_across_shaft(
    mask: BoolImage, on_image: BoolImage, start_row: float, hint_col: float
) -> BoolImage:
    """``mask`` with every row from the first one (at or below ``start_row``) in which the image's edge
    reaches the columns of the shaft's bone run (the run nearest ``hint_col`` in the start row, one pixel
    wider either side) cleared."""
    first = max(math.ceil(start_row), 0)
    if first >= mask.shape[0]:
        return mask
    run = bone_run(mask[first], hint_col)
    if run is None:
        return mask
    low, high = round(run[0] + 0.5), round(run[1] - 0.5)  # the run's first and last columns
    columns = slice(max(low - 1, 0), min(high + 2, mask.shape[1]))
    cut = np.nonzero(~on_image[first:, columns].all(axis=1))[0]
    if not len(cut):
        return mask
    kept = mask.copy()
    kept[first + int(cut[0]) :] = False
    return kept


def _pair(values: Point) -> tuple[float, float]:
    return float(values[0]), float(values[1])
