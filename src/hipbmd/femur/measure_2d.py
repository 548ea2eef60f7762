"""aBMD of the proximal femur read from a femur-only areal-density image (a predicted or rendered DRR).

The image (g/cm², AP view, square pixels) holds one femur. Its landmarks are found on the image
(:mod:`hipbmd.femur.landmarks_2d`), the DXA-like regions are placed as on a DXA-position image
(:func:`hipbmd.femur.roi.hip_rois`: neck box, total hip, proximal femur) and each region's aBMD is the
mean areal density over its bone pixels (:func:`hipbmd.femur.roi.measure_rois`); BMC = aBMD × bone
area. Bone is the largest connected piece above :data:`~hipbmd.femur.roi.BONE_THRESHOLD_G_CM2`, so
stray specks of a predicted image do not count.

On a DXA-position image the shaft is vertical and the regions' distal edges are horizontal lines below
the lesser trochanter. A radiograph shows the shaft at some tilt (hip ab-/adduction); here the distal
edges are taken perpendicular to the image's shaft axis, the same lines in the femur's own frame. With
a vertical shaft the regions are exactly those of :func:`hip_rois`.

Lengths (the 15 mm neck box, the edges 10 and 20 mm below the lesser trochanter) and areas are in the
units of ``spacing_mm``: pass the spacing at the femur (detector spacing / magnification) when the
magnification is known; with the detector spacing, lengths and areas are magnified (aBMD, a mean of
areal densities, is not). A fit that fails gives no numbers, only the reason.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hipbmd.femur.landmarks_2d import (
    SHORT_SHAFT_START_BELOW_LESSER_TROCHANTER_MM,
    Landmarks2D,
    femur_mask,
    find_landmarks_2d,
    visible_shaft_axis,
)
from hipbmd.femur.landmarks_from_mask import (
    LandmarkError,
    NoFemoralHeadError,
    NoShaftAxisError,
    ShaftTooShortError,
)
from hipbmd.femur.landmarks_learnt import learnt_landmarks
from hipbmd.femur.outline_2d import MIN_SHAFT_BELOW_LESSER_TROCHANTER_MM, MIN_SHAFT_FIT_MM
from hipbmd.femur.roi import BONE_THRESHOLD_G_CM2, HipROIs, ROISettings, hip_rois, measure_rois
from hipbmd.types import Side

BoolImage = npt.NDArray[np.bool_]
LANDMARK_AGREEMENT_MM = 5.0  # learnt and fitted head centres farther apart are flagged
# Shaft the image must show below the lesser trochanter tip when no distal shaft point orients the regions
SHAFT_NEEDED_BELOW_LESSER_TROCHANTER_MM = SHORT_SHAFT_START_BELOW_LESSER_TROCHANTER_MM + MIN_SHAFT_FIT_MM
CUT_NEAR_LESSER_TROCHANTER = "femur_cut_near_lesser_trochanter"  # the failure's code
SHAFT_BAND_MM = 5.0  # the image's reach below the lesser trochanter is read this close to the shaft axis
EDGE_TOLERANCE_PX = 1e-6  # a pixel on a distal edge is in, as in hip_rois (rounding of a near-vertical axis)


@dataclass(frozen=True)
class RegionDensity:
    """One region: aBMD (g/cm², NaN without bone), bone area (cm²), BMC (g), bone pixel count."""

    abmd_g_cm2: float
    area_cm2: float
    bmc_g: float
    bone_pixels: int

    def to_dict(self) -> dict[str, float | int | None]:
        """JSON-ready form (NaN → None)."""
        return {
            "abmd_g_cm2": _rounded(self.abmd_g_cm2),
            "area_cm2": _rounded(self.area_cm2),
            "bmc_g": _rounded(self.bmc_g),
            "bone_pixels": self.bone_pixels,
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> RegionDensity:
        """Inverse of :meth:`to_dict` (None → NaN)."""
        return cls(
            _nan_if_none(record["abmd_g_cm2"]),
            _nan_if_none(record["area_cm2"]),
            _nan_if_none(record["bmc_g"]),
            int(record["bone_pixels"]),
        )


@dataclass(frozen=True)
class FemurBMD:
    """aBMD of one femur's DXA-like regions on an areal-density image, or why there is none.

    Attributes:
        side: the patient's side of the femur.
        pixel_spacing_mm: square pixel size the lengths and areas use.
        regions: region name ("neck", "total_hip", "proximal_femur") → measurement; empty on failure.
        landmarks: the landmarks the regions were placed with (None when they failed).
        rois: region masks (H, W) and their placement, for overlays (None on failure).
        bone: (H, W) bone mask the means were taken over.
        flags: QC codes of the landmarks and regions (empty when none).
        failure: why there are no numbers (None when there are).
        no_femoral_head: the failure is that no femoral head was found at all (neither the learnt nor the
            fitted landmarks saw round bone about the head centre).
    """

    side: Side
    pixel_spacing_mm: float
    regions: dict[str, RegionDensity]
    landmarks: Landmarks2D | None
    rois: HipROIs | None
    bone: BoolImage
    flags: tuple[str, ...] = ()
    failure: str | None = None
    no_femoral_head: bool = False

    @property
    def ok(self) -> bool:
        """True when the regions were measured."""
        return self.failure is None

    @property
    def abmd_g_cm2(self) -> dict[str, float]:
        """Region → aBMD (g/cm²); empty on failure."""
        return {name: region.abmd_g_cm2 for name, region in self.regions.items()}

    @property
    def neck_shaft_angle_deg(self) -> float | None:
        """Angle between the neck axis and the distal shaft axis in the image (None on failure)."""
        return None if self.landmarks is None else self.landmarks.neck_shaft_angle_deg

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary (no images)."""
        return {
            "side": self.side,
            "pixel_spacing_mm": self.pixel_spacing_mm,
            "failure": self.failure,
            "regions": {name: region.to_dict() for name, region in self.regions.items()},
            "neck_shaft_angle_deg": _rounded(self.neck_shaft_angle_deg, 2),
            "landmarks": None if self.landmarks is None else self.landmarks.summary(),
            "roi_geometry": None if self.rois is None else self.rois.geometry_dict(),
            "flags": list(self.flags),
        }


def _nan_if_none(value: Any) -> float:
    return math.nan if value is None else float(value)


def _rounded(value: float | None, digits: int = 5) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


def measure_femur_drr(
    image_g_cm2: npt.ArrayLike,
    spacing_mm: float,
    side: Side,
    settings: ROISettings | None = None,
    bone_threshold_g_cm2: float = BONE_THRESHOLD_G_CM2,
    learnt_points_px: Mapping[str, tuple[float, float]] | None = None,
    on_image: BoolImage | None = None,
) -> FemurBMD:
    """aBMD, area and BMC of the neck, total hip and proximal femur regions of a femur DRR.

    With ``learnt_points_px`` (a right femur's points named as in
    :data:`~hipbmd.femur.landmarks_learnt.LEARNT_POINTS`, image pixels) the regions stand on those points
    (:func:`~hipbmd.femur.landmarks_learnt.learnt_landmarks`) and the landmarks fitted to the image are a
    consistency check: ``landmarks_learnt`` always, ``landmarks_disagree: …`` when the fitted head centre
    lies more than ``LANDMARK_AGREEMENT_MM`` away. When the learnt points give no landmarks the fitted ones
    are used and the learnt failure is kept in the flags. Without a distal shaft point or a fitted shaft
    axis, when the fit found too little shaft or ``on_image`` ends less than
    ``MIN_SHAFT_BELOW_LESSER_TROCHANTER_MM`` below the learnt lesser trochanter, the learnt regions take
    the axis of the short shaft the image shows there (``shaft_axis_from_short_fit: L mm``); where it
    ends less than
    ``SHAFT_NEEDED_BELOW_LESSER_TROCHANTER_MM`` below, the failure says so
    (``femur_cut_near_lesser_trochanter: …``).

    Args:
        image_g_cm2: (H, W) areal density of one femur (g/cm²), AP view, rows superior → inferior.
        spacing_mm: square pixel size (see the module docstring about magnification).
        side: the patient's side of the femur ("left" / "right").
        settings: region sizes (defaults: :class:`~hipbmd.femur.roi.ROISettings`).
        bone_threshold_g_cm2: areal density above which a pixel is bone.
        learnt_points_px: a right femur's learnt points, as above (None: the fits alone).
        on_image: (H, W) True where the image shows the radiograph (a crop reaching beyond a radiograph's
            edge repeats the edge there, and a femur drawn there is invented). The fitted landmarks, and
            so a fitted shaft axis, see no bone beyond it; the regions are measured on the whole image,
            for the caller to weigh what lies beyond (:mod:`hipbmd.bmd.region_coverage`).

    Raises:
        ValueError: not a 2-D image, non-finite pixels, or a spacing that is not positive.
    """
    image = np.asarray(image_g_cm2, dtype=np.float32)
    if image.ndim != 2 or not np.isfinite(image).all() or not spacing_mm > 0:
        raise ValueError("need a finite 2-D areal-density image and a positive pixel spacing")
    if on_image is not None and np.shape(on_image) != image.shape:
        raise ValueError(f"on-image mask of shape {np.shape(on_image)} for an image of {image.shape}")
    bone = femur_mask(image, bone_threshold_g_cm2)
    fit_image = image if on_image is None else np.where(on_image, image, np.float32(0.0))
    try:
        landmarks = _landmarks(
            image, fit_image, on_image, bone, spacing_mm, side, bone_threshold_g_cm2, learnt_points_px
        )
    except LandmarkError as error:
        missing = isinstance(error, NoFemoralHeadError)
        failure = f"landmarks: {error}"
        if isinstance(error, NoShaftAxisError):
            failure = _cut_near_lesser_trochanter(learnt_points_px, on_image, spacing_mm) or failure
        return FemurBMD(side, float(spacing_mm), {}, None, None, bone, (), failure, missing)
    try:
        rois = shaft_aligned_rois(image, landmarks, settings, bone)
    except ValueError as error:  # hip_rois: the neck axis misses the bone
        return FemurBMD(
            side, float(spacing_mm), {}, landmarks, None, bone, landmarks.flags, f"regions: {error}"
        )
    measured = measure_rois(image, rois.masks, bone, spacing_mm)
    regions = {
        name: RegionDensity(v["abmd_g_cm2"], v["area_cm2"], v["bmc_g"], int(v["bone_pixels"]))
        for name, v in measured.items()
    }
    flags = list(landmarks.flags) + list(rois.flags)
    flags += [f"empty_roi:{name}" for name, region in regions.items() if not region.bone_pixels]
    return FemurBMD(side, float(spacing_mm), regions, landmarks, rois, bone, tuple(flags))


def _landmarks(
    image: npt.NDArray[np.float32],
    fit_image: npt.NDArray[np.float32],
    on_image: BoolImage | None,
    bone: BoolImage,
    spacing_mm: float,
    side: Side,
    threshold_g_cm2: float,
    learnt_points_px: Mapping[str, tuple[float, float]] | None,
) -> Landmarks2D:
    """The learnt landmarks checked against the fitted ones, else the fitted ones (see
    :func:`measure_femur_drr`); the fits read ``fit_image``."""
    try:
        fitted: Landmarks2D | None = find_landmarks_2d(fit_image, spacing_mm, side, threshold_g_cm2)
        fit_error: LandmarkError | None = None
    except LandmarkError as error:
        fitted, fit_error = None, error
    if learnt_points_px is None:
        if fit_error is not None:
            raise fit_error
        assert fitted is not None
        return fitted
    fit_short = isinstance(fit_error, ShaftTooShortError)
    fitted_axis, axis_flag = _fitted_shaft_axis(
        fitted, fit_short, image, on_image, spacing_mm, threshold_g_cm2, learnt_points_px
    )
    try:
        learnt = learnt_landmarks(
            image,
            learnt_points_px,
            spacing_mm,
            threshold_g_cm2,
            fitted_axis,
            axis_flag or "shaft_axis_from_fit",
        )
    except LandmarkError as error:
        if fitted is not None:
            return dataclasses.replace(fitted, flags=(*fitted.flags, f"landmarks_learnt_failed: {error}"))
        # No femoral head: the learnt way saw no round bone about its head centre, or it stopped before
        # looking and the fit found no head either.
        no_head = isinstance(error, NoFemoralHeadError) or isinstance(fit_error, NoFemoralHeadError)
        kind: type[LandmarkError] = NoFemoralHeadError if no_head else LandmarkError
        if isinstance(error, NoShaftAxisError):
            kind = _NoShaftNorHeadError if no_head else NoShaftAxisError
        raise kind(f"{error}; fitted: {fit_error}") from None
    flags = ["landmarks_learnt", *learnt.flags]
    if fitted is not None:
        apart_mm = math.dist(fitted.head_centre_px, learnt.head_centre_px) * spacing_mm
        if apart_mm > LANDMARK_AGREEMENT_MM:
            flags.append(f"landmarks_disagree: head centres {apart_mm:.1f} mm apart")
    if bone[0].any() or bone[:, 0].any() or bone[:, -1].any():
        flags.append("femur_cut_by_image_edge")
    return dataclasses.replace(learnt, flags=tuple(flags))


class _NoShaftNorHeadError(NoFemoralHeadError, NoShaftAxisError):
    """No shaft axis for the learnt points (which stop there, before looking at the head), and the fits
    saw no femoral head."""


def _cut_near_lesser_trochanter(
    learnt_points_px: Mapping[str, tuple[float, float]] | None,
    on_image: BoolImage | None,
    spacing_mm: float,
) -> str | None:
    """``femur_cut_near_lesser_trochanter: …`` when the radiograph (``on_image``) ends less than
    ``SHAFT_NEEDED_BELOW_LESSER_TROCHANTER_MM`` below the learnt lesser trochanter tip
    (:func:`_shown_below_lesser_trochanter_mm`); None otherwise."""
    shown_mm = _shown_below_lesser_trochanter_mm(learnt_points_px, on_image, spacing_mm)
    if shown_mm is None or shown_mm >= SHAFT_NEEDED_BELOW_LESSER_TROCHANTER_MM:
        return None
    return (
        f"{CUT_NEAR_LESSER_TROCHANTER}: the image ends {shown_mm:.0f} mm below the lesser trochanter; "
        f"without a distal shaft point the regions need {SHAFT_NEEDED_BELOW_LESSER_TROCHANTER_MM:.0f} mm of "
        "shaft there to be oriented"
    )


def _shown_below_lesser_trochanter_mm(
    learnt_points_px: Mapping[str, tuple[float, float]] | None,
    on_image: BoolImage | None,
    spacing_mm: float,
) -> float | None:
    """How far (mm, straight down) the radiograph reaches below the learnt lesser trochanter tip: the
    median over the columns within ``SHAFT_BAND_MM`` of the learnt neck base (a right femur, rows superior
    → inferior, the shaft below the neck base); None without ``on_image`` or those points."""
    if on_image is None or not learnt_points_px:
        return None
    if not {"lesser_trochanter", "neck_base"} <= learnt_points_px.keys():
        return None
    rows, cols = on_image.shape
    first = max(round(learnt_points_px["lesser_trochanter"][0]), 0)
    centre, half = learnt_points_px["neck_base"][1], SHAFT_BAND_MM / spacing_mm
    band = on_image[first:, max(round(centre - half), 0) : min(round(centre + half) + 1, cols)]
    if first >= rows or band.shape[1] == 0:
        return None  # the crop, not the radiograph, ends there
    reach = np.where(band.all(axis=0), band.shape[0], np.argmin(band, axis=0))
    return float(np.median(reach)) * spacing_mm


def _fitted_shaft_axis(
    fitted: Landmarks2D | None,
    fit_short: bool,
    image: npt.NDArray[np.float32],
    on_image: BoolImage | None,
    spacing_mm: float,
    threshold_g_cm2: float,
    learnt_points_px: Mapping[str, tuple[float, float]],
) -> tuple[tuple[float, float] | None, str]:
    """The shaft axis the learnt landmarks fall back on without a distal shaft point, and its flag: the
    fitted landmarks' (``shaft_axis_from_fit``) when they stand; else, for a femur with too little shaft
    for that fit (the fit says so, ``fit_short``, or the radiograph ends less than
    ``MIN_SHAFT_BELOW_LESSER_TROCHANTER_MM`` below the learnt lesser trochanter), the axis of the short
    shaft it shows (``shaft_axis_from_short_fit: L mm``); else None."""
    if fitted is not None:
        return fitted.shaft_axis, "shaft_axis_from_fit"
    needed = {"lesser_trochanter", "neck_base"}
    if "shaft_distal" in learnt_points_px or not needed <= learnt_points_px.keys():
        return None, ""
    shown_mm = _shown_below_lesser_trochanter_mm(learnt_points_px, on_image, spacing_mm)
    cut = shown_mm is not None and shown_mm < MIN_SHAFT_BELOW_LESSER_TROCHANTER_MM
    if not (fit_short or cut):
        return None, ""  # the fit had the shaft it needs and failed for another reason
    try:
        axis, length_mm = visible_shaft_axis(  # it leaves out what lies beyond the radiograph itself
            image,
            spacing_mm,
            learnt_points_px["lesser_trochanter"],
            learnt_points_px["neck_base"],
            on_image,
            threshold_g_cm2,
        )
    except LandmarkError:
        return None, ""
    return axis, f"shaft_axis_from_short_fit: {length_mm:.0f} mm"


def shaft_aligned_rois(
    image_g_cm2: npt.ArrayLike,
    landmarks: Landmarks2D,
    settings: ROISettings | None = None,
    bone: BoolImage | None = None,
) -> HipROIs:
    """The regions of :func:`hip_rois` with their distal edges perpendicular to the shaft axis.

    ``bottom_rows`` then holds the row where each distal edge crosses the shaft axis.
    """
    settings = settings or ROISettings()
    uncut = dataclasses.replace(
        settings, total_hip_below_lesser_trochanter_mm=math.inf, proximal_below_lesser_trochanter_mm=math.inf
    )
    rois = hip_rois(image_g_cm2, landmarks.view(), uncut, bone)
    spacing = landmarks.pixel_spacing_mm
    down = np.array(landmarks.shaft_axis)
    lesser = np.array(landmarks.lesser_trochanter_px)
    rows, cols = np.indices(rois.masks["neck"].shape)
    below_px = (rows - lesser[0]) * down[0] + (cols - lesser[1]) * down[1]
    base = np.array(landmarks.neck_base_px)
    foot = base + float((lesser - base) @ down) * down  # the lesser trochanter tip's level on the axis
    masks, bottom_rows = dict(rois.masks), {}
    for name, depth_mm in (
        ("total_hip", settings.total_hip_below_lesser_trochanter_mm),
        ("proximal_femur", settings.proximal_below_lesser_trochanter_mm),
    ):
        masks[name] = masks[name] & (below_px <= depth_mm / spacing + EDGE_TOLERANCE_PX)
        bottom_rows[name] = float(foot[0] + depth_mm / spacing * down[0])
    return dataclasses.replace(rois, masks=masks, bottom_rows=bottom_rows)
