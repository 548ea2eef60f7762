"""BMD of each hip on a radiograph: locate, crop, decompose, measure, calibrate, interpret, check.

For each hip found (:func:`hipbmd.localisation.locate.locate_hips`): the crop on the model's grid
(left hips, and right hips of a mirrored image, are mirrored into the right-hip orientation), the femur
DRR predicted with Monte-Carlo dropout (:func:`hipbmd.decomposition.predict.predict_drr`), the regions
and their mean areal density on the mean DRR (:func:`hipbmd.femur.measure_2d.measure_femur_drr`), the
DXA-equivalent aBMD through the model's per-ROI line, the T-score (NHANES III), %YAM (a user table) and
the WHO and JOS categories. With a model whose intervals were calibrated on a held-out cohort
(:mod:`hipbmd.bmd.interval_calibration`) the DXA line and the 95 % interval are the calibration's: the
interval's half-width scales with the Monte-Carlo spread and the hip's out-of-distribution distance, and
the categories come with their probabilities (:mod:`hipbmd.bmd.hip_category`). Without one, the interval
combines the Monte-Carlo spread with the training line's residual SD and the categories are withheld
(``intervals_not_calibrated``). QC flags (:mod:`hipbmd.bmd.qc`) withhold the categories for stated reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from hipbmd.bmd.category_confidence import (
    DEFAULT_CATEGORY_CONFIDENCE,
    region_jos_call,
    region_tail,
    region_who_call,
)
from hipbmd.bmd.classify import percent_yam, reported, t_score
from hipbmd.bmd.dxa_calibration import LinearDXAMap
from hipbmd.bmd.hip_category import hip_category
from hipbmd.bmd.hip_evidence import SPREAD_FLOOR_G_CM2, HipEvidence
from hipbmd.bmd.interval_calibration import Z_95, IntervalCalibration
from hipbmd.bmd.levelling import levelling
from hipbmd.bmd.qc import LOW_CONFIDENCE, implant_suspected, withholding_flag
from hipbmd.bmd.record_parts import HipCategory, ROIMeasurement
from hipbmd.bmd.reference import NHANES_III, YAMTable, t_reference
from hipbmd.bmd.region_coverage import (
    invented_share_half_width_g_cm2,
    off_image_shares,
    on_image_mask,
    region_off_image,
    region_partly_off_image,
)
from hipbmd.decomposition.crop import (
    CropGrid,
    CropPlacement,
    crop_frame,
    normalise_radiograph,
    sample_crop,
)
from hipbmd.femur.measure_2d import CUT_NEAR_LESSER_TROCHANTER
from hipbmd.io.exposed_field import ExposedField, exposed_field
from hipbmd.io.radiograph_geometry import radiograph_geometry
from hipbmd.io.radiograph_tags import PLACEHOLDER_SPACING_MM
from hipbmd.localisation.hip_location import IMPLANT_THRESHOLD, HipLocation
from hipbmd.types import Radiograph, Side

if TYPE_CHECKING:
    from hipbmd.decomposition.model_files import DecompositionModel
    from hipbmd.decomposition.predict import PredictedDRR
    from hipbmd.femur.measure_2d import FemurBMD
    from hipbmd.localisation.network import HipLocaliser

REPORTED_ROIS = ("neck", "total_hip")
# The T-score compares with young adults (NHANES III, 20-29 years): below 20 it has no meaning, and the
# ISCD Official Positions (2019) prefer Z-scores to T-scores before 50 in men and premenopausal women.
ADULT_AGE_YEARS = 20.0
T_SCORE_AGE_YEARS = 50.0
PLACEHOLDER_REASON = (
    "spacing_placeholder: the file's pixel spacing is a 1 mm placeholder, so the regions' size is unknown; "
    "give --spacing-mm"
)
# The head centre of the regions replaces the localiser's when this close (detector mm).
HEAD_REFINEMENT_MM = 10.0
TYPICAL_NECK_UP = np.array([-0.6, 0.8])  # (row, col) neck base → head of a right femur as displayed
HEAD_SHIFT_FLAG_MM = 5.0  # a larger shift is flagged: the localiser's head was off by more than usual
# The lesser trochanter tip lies at least this far below the head centre (patient plane, adult femurs).
LESSER_TROCHANTER_BELOW_HEAD_MM = 40.0
# The implant check looks at the same hip region whatever the model's grid: the one it was tuned on.
QC_GRID = CropGrid((128, 128), 1.25, (0.30, 0.62))


@dataclass(frozen=True)
class EstimateSettings:
    """Monte-Carlo samples and seed, user overrides of side and head centre, an optional YAM table, and the
    probability a category must reach to be given."""

    samples: int = 8
    seed: int = 0
    side: Side | None = None
    center_mm: tuple[float, float] | None = None
    yam: YAMTable | None = None
    category_confidence: float = DEFAULT_CATEGORY_CONFIDENCE


@dataclass
class HipEstimate:
    """Everything measured on one hip (images kept for the overlay)."""

    side: Side
    location: HipLocation
    placement: CropPlacement | None = None
    crop: np.ndarray | None = None
    drr: PredictedDRR | None = None
    femur: FemurBMD | None = None
    raw_abmd_g_cm2: dict[str, float] = field(default_factory=dict)
    off_image_shares: dict[str, float] = field(default_factory=dict)  # region -> share beyond the edge
    measurements: list[ROIMeasurement] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    evidence: HipEvidence | None = None
    ood_distance: float | None = None
    category: HipCategory | None = None


@dataclass
class RadiographEstimate:
    """The hips of one radiograph, and why there are none when none was found."""

    hips: list[HipEstimate]
    no_hip_reason: str | None = None


def estimate_hips(
    radiograph: Radiograph, model: DecompositionModel, localiser: HipLocaliser, settings: EstimateSettings
) -> RadiographEstimate:
    """Estimates of every hip found on ``radiograph`` (see the module docstring)."""
    from hipbmd.localisation.locate import find_hips
    from hipbmd.localisation.orientation import display_orientation

    if radiograph.pixel_spacing_mm is None:
        raise ValueError("the radiograph has no pixel spacing: give --spacing-mm")
    geometry = radiograph_geometry(radiograph)
    magnification, input_flags = geometry.magnification, geometry.flags + _input_flags(radiograph)
    orientation = display_orientation(radiograph)
    exposed = exposed_field(radiograph.array)
    if not exposed.whole:
        input_flags.append(exposed.describe())
    search = find_hips(radiograph, localiser, side=settings.side, center_mm=settings.center_mm)
    calibration = interval_calibration(model)
    estimates = []
    for location in search.hips:
        hip = HipEstimate(location.side, location, flags=list(input_flags) + list(location.flags))
        if orientation.upside_down:
            hip.flags.append("image_upside_down: not measured")
        else:
            mirror = (location.side == "left") != orientation.mirrored
            spacing = radiograph.pixel_spacing_mm
            level = levelling(location, search.tilt_deg, spacing, mirror)
            hip.placement = CropPlacement(
                location.head_centre_px, spacing, magnification, mirror, level.turn_deg
            )
            hip.flags += [flag for flag in [level.flag()] if flag is not None]
            _measure(hip, radiograph, exposed, model, settings, calibration)
        estimates.append(hip)
    if estimates and all(_no_femoral_head(hip) for hip in estimates):
        return RadiographEstimate([], _why_no_adult_hip(estimates))
    return RadiographEstimate(estimates, None if estimates else search.why_none)


def interval_calibration(model: DecompositionModel) -> IntervalCalibration | None:
    """The model's interval calibration (``interval_calibration`` in its ``model.json``), None without one.

    Raises:
        ValueError: a calibration this version cannot read.
    """
    record = model.manifest.get("interval_calibration")
    return None if not record else IntervalCalibration.from_dict(record)


def _no_femoral_head(hip: HipEstimate) -> bool:
    """Not a hip: the localiser saw it only faintly (below ``LOW_CONFIDENCE``), the decomposed image
    shows no femoral head there, and no metal could hide one. A clear localiser response keeps a hip
    (the decomposition may be what failed), reported as not measured."""
    metal = any(flag.startswith("implant_suspected") for flag in hip.flags)
    faint = hip.location.confidence < LOW_CONFIDENCE
    return faint and hip.femur is not None and hip.femur.no_femoral_head and not metal


def _why_no_adult_hip(hips: list[HipEstimate]) -> str:
    """Why a radiograph whose every candidate hip shows no femoral head has no hip, in one line."""
    strongest = max(hip.location.confidence for hip in hips)
    return (
        f"no adult femoral head: the {len(hips)} place(s) the localiser pointed to (strongest head "
        f"response {strongest:.2f}) show no round femoral head on the decomposed image (an unossified "
        "head, as in a child, or not a hip)"
    )


def _input_flags(radiograph: Radiograph) -> list[str]:
    flags = []
    if radiograph.spacing_source in ("assumed", "unknown"):
        flags.append(f"spacing_{radiograph.spacing_source}")
    if radiograph.view not in (None, "AP"):
        flags.append(f"view_not_ap: {radiograph.view}")
    age = radiograph.age_years
    if age is not None and age < ADULT_AGE_YEARS:
        flags.append(f"age_under_20: {int(age)} years; no T-score or category (the reference is for adults)")
    elif age is not None and age < T_SCORE_AGE_YEARS:
        flags.append(f"age_under_50: {int(age)} years; the ISCD advises Z-scores, not T-scores, at this age")
    return flags


def _measure(
    hip: HipEstimate,
    radiograph: Radiograph,
    exposed: ExposedField,
    model: DecompositionModel,
    settings: EstimateSettings,
    calibration: IntervalCalibration | None,
) -> None:
    from hipbmd.decomposition.predict import predict_drr
    from hipbmd.femur.measure_2d import measure_femur_drr

    assert hip.placement is not None
    raw = sample_crop(radiograph.array, model.grid, hip.placement, outside=None)
    hip.crop = normalise_radiograph(raw)
    implant = _implant_flag(hip, radiograph)
    if implant is not None:
        hip.flags.append(implant)
    if hip.location.confidence < LOW_CONFIDENCE:
        hip.flags.append(f"low_localisation_confidence: {hip.location.confidence:.2f}")
    hip.drr = predict_drr(model.generator, hip.crop, settings.samples, settings.seed)
    learnt = _learnt_points_crop_px(hip.location, model.grid, hip.placement)
    crop_to_image = crop_frame(model.grid, hip.placement)
    on_image = on_image_mask(crop_to_image, hip.drr.mean_g_cm2.shape, exposed)
    hip.femur = measure_femur_drr(
        hip.drr.mean_g_cm2, model.grid.spacing_mm, "right", learnt_points_px=learnt, on_image=on_image
    )
    hip.flags += landmark_flags(hip.femur.flags)
    if not hip.femur.ok:
        hip.flags.append(f"not_measured: {_why_not_measured(hip, radiograph, exposed)}")
        outline_centre = _head_outline_centre(hip, model.grid, learnt)
        if outline_centre is not None:
            _refine_head_centre(hip, model.grid, outline_centre)
        return
    assert hip.femur.landmarks is not None
    head_shift_mm = _refine_head_centre(hip, model.grid, hip.femur.landmarks.head_centre_px)
    shares = off_image_shares(hip.femur, on_image, REPORTED_ROIS)
    hip.off_image_shares = shares
    off_image = region_off_image(shares)
    if off_image is not None:
        hip.flags.append(f"not_measured: {off_image}")
        return
    partly_off = region_partly_off_image(shares)
    if partly_off is not None:
        hip.flags.append(partly_off)
    if _placeholder_spacing(radiograph):
        hip.flags.append(f"not_measured: {PLACEHOLDER_REASON}")
        return
    hip.raw_abmd_g_cm2 = dict(hip.femur.abmd_g_cm2)
    hip.evidence = _evidence(hip, head_shift_mm)
    if calibration is not None:
        if settings.samples != calibration.samples:  # the spread, and so the interval, depend on them
            hip.flags.append(
                f"samples_differ_from_calibration: {settings.samples} Monte-Carlo samples; the intervals "
                f"were calibrated with {calibration.samples}"
            )
        hip.ood_distance = calibration.ood.distance(hip.evidence)
        if hip.ood_distance > calibration.ood.threshold:
            hip.flags.append(
                f"out_of_distribution: distance {hip.ood_distance:.1f} > {calibration.ood.threshold:.1f}"
            )
    else:
        hip.flags.append("intervals_not_calibrated: the model has no interval calibration")
    for roi in REPORTED_ROIS:
        hip.measurements.append(
            _roi_measurement(hip, roi, model, settings, radiograph.age_years, calibration)
        )
    hip.category = hip_category(hip.measurements, hip.flags, settings.category_confidence)


def landmark_flags(femur_flags: tuple[str, ...]) -> list[str]:
    """The hip's flags from its landmarks' and regions' own: each as ``landmarks: …``, and
    ``region_points_incomplete`` (which withholds the category) when no greater trochanter was placed."""
    flags = [f"landmarks: {flag}" for flag in femur_flags]
    if "greater_trochanter_not_placed" in femur_flags:
        flags.append("region_points_incomplete: the localiser placed no greater trochanter")
    return flags


def _evidence(hip: HipEstimate, head_shift_mm: float) -> HipEvidence:
    """What the interval calibration conditions on, for a measured hip."""
    assert hip.femur is not None and hip.femur.landmarks is not None
    landmarks, rois = hip.femur.landmarks, hip.femur.rois
    return HipEvidence(
        {roi: _sample_sd(hip, roi) for roi in REPORTED_ROIS},
        hip.location.confidence,
        hip.location.implant_probability or 0.0,
        head_shift_mm,
        landmarks.head_radius_mm,
        landmarks.neck_shaft_angle_deg,
        float("nan") if rois is None else rois.neck_width_mm,
        float("nan") if rois is None else abs(rois.narrowest_offset_mm),
        float("nan") if hip.location.region_confidence is None else hip.location.region_confidence,
    )


def _placeholder_spacing(radiograph: Radiograph) -> bool:
    """The file's only spacing is a PixelSpacing of exactly 1 mm: what converters write when they know
    none. The crop's size in millimetres, and so every region, would rest on it."""
    placeholder = (PLACEHOLDER_SPACING_MM, PLACEHOLDER_SPACING_MM)
    return radiograph.spacing_source == "pixel" and radiograph.pixel_spacing_mm == placeholder


def _head_outline_centre(
    hip: HipEstimate, grid: CropGrid, learnt: dict[str, tuple[float, float]] | None
) -> tuple[float, float] | None:
    """For a hip whose regions could not be placed: the centre (crop pixels) of the head's outline on
    the decomposed image, read as for a measured hip from the localiser's head and neck base (the crop's
    head and a typical neck direction without them); None when no round head is seen there."""
    from hipbmd.femur.landmarks_from_mask import LandmarkError
    from hipbmd.femur.landmarks_learnt import head_circle

    assert hip.drr is not None
    points = learnt or {}
    head = np.asarray(points.get("head_centre", grid.head_px), dtype=np.float64)
    base = points.get("neck_base")
    neck_up = TYPICAL_NECK_UP if base is None else head - np.asarray(base, dtype=np.float64)
    length = float(np.linalg.norm(neck_up))
    if length < 1e-6:
        return None
    try:
        centre, _ = head_circle(
            hip.drr.mean_g_cm2.astype(np.float64), head, neck_up / length, grid.spacing_mm
        )
    except LandmarkError:
        return None
    return float(centre[0]), float(centre[1])


def _refine_head_centre(hip: HipEstimate, grid: CropGrid, outline_centre_px: tuple[float, float]) -> float:
    """Report the centre of the head's outline on the decomposed image (crop pixels; for a measured hip
    the one its regions stand on) as the hip's head centre when it lies within ``HEAD_REFINEMENT_MM`` of
    the localiser's; a shift over ``HEAD_SHIFT_FLAG_MM`` (the localiser missed the head by more than its
    usual error) is flagged ``head_centre_refined: d mm`` (d at the detector). Returns the distance
    between the two (mm)."""
    assert hip.placement is not None
    moved = crop_frame(grid, hip.placement).apply(np.asarray(outline_centre_px))
    shift_px = np.asarray(moved) - np.asarray(hip.location.head_centre_px)
    shift_mm = float(np.hypot(*(shift_px * np.asarray(hip.placement.detector_spacing_mm))))
    if shift_mm > HEAD_REFINEMENT_MM:
        return shift_mm
    hip.location = replace(hip.location, head_centre_px=(float(moved[0]), float(moved[1])))
    if shift_mm > HEAD_SHIFT_FLAG_MM:
        hip.flags.append(f"head_centre_refined: {shift_mm:.1f} mm")
    return shift_mm


def _learnt_points_crop_px(
    location: HipLocation, grid: CropGrid, placement: CropPlacement
) -> dict[str, tuple[float, float]] | None:
    """The localiser's head, lesser trochanter and region points on the crop (None: a localiser without
    region channels)."""
    if not location.region_points_px:
        return None
    points = dict(location.region_points_px, head_centre=location.head_centre_px)
    if location.lesser_trochanter_px is not None:
        points["lesser_trochanter"] = location.lesser_trochanter_px
    to_crop = crop_frame(grid, placement).inverse()
    in_crop = {name: to_crop.apply(np.asarray(point, dtype=np.float64)) for name, point in points.items()}
    return {name: (float(point[0]), float(point[1])) for name, point in in_crop.items()}


def _why_not_measured(hip: HipEstimate, radiograph: Radiograph, exposed: ExposedField | None = None) -> str:
    """The true cause when the image (its exposed field; default the whole image) lacks what the regions
    need (the head, or the femur down to the lesser trochanter), else the landmark steps' own reason."""
    exposed = exposed or ExposedField(radiograph.shape)
    head_row, head_col = hip.location.head_centre_px
    if not exposed.contains((head_row, head_col)):
        return "head_outside_image: the femoral head centre lies outside the image"
    lesser = hip.location.lesser_trochanter_px
    if lesser is None:  # where it would be, at the least, in an upright femur
        spacing = radiograph.pixel_spacing_mm or (1.0, 1.0)
        assert hip.placement is not None
        lesser = (head_row + LESSER_TROCHANTER_BELOW_HEAD_MM * hip.placement.magnification / spacing[0], 0.0)
    if not 0 <= lesser[0] < radiograph.shape[0]:
        return "femur_cut_above_lesser_trochanter: the image ends above the lesser trochanter"
    assert hip.femur is not None
    if hip.femur.no_femoral_head and not str(hip.femur.failure).startswith(CUT_NEAR_LESSER_TROCHANTER):
        return f"no_femoral_head: {hip.femur.failure}"
    return str(hip.femur.failure)


def _implant_flag(hip: HipEstimate, radiograph: Radiograph) -> str | None:
    """``implant_suspected`` from the localiser's learnt implant response when it has one (with the
    response), else from the grey-level plateau of the raw crop; None for a native-looking hip."""
    probability = hip.location.implant_probability
    if probability is not None:
        return f"implant_suspected: {probability:.2f}" if probability >= IMPLANT_THRESHOLD else None
    assert hip.placement is not None
    crop = sample_crop(radiograph.array, QC_GRID, hip.placement, outside=None)
    return "implant_suspected" if implant_suspected(crop) else None


def _roi_measurement(
    hip: HipEstimate,
    roi: str,
    model: DecompositionModel,
    settings: EstimateSettings,
    age_years: float | None,
    calibration: IntervalCalibration | None = None,
) -> ROIMeasurement:
    """One region's DXA-equivalent aBMD, its 95 % interval and calibrated error, T-score, %YAM, the chances
    of T ≤ −2.5 and T < −1, and the region's own categories when their probability reaches the confidence
    and no flag withholds them."""
    line, half_width = _line_and_half_width(hip, roi, model, calibration)
    if line is None or roi not in hip.raw_abmd_g_cm2:
        hip.flags.append(f"not_calibrated: {roi}")
        return ROIMeasurement(hip.side, roi, None)
    abmd = line.apply(hip.raw_abmd_g_cm2[roi])
    adult = age_years is None or age_years >= ADULT_AGE_YEARS
    t = t_score(max(abmd, 0.0), roi) if adult else None
    yam = settings.yam.yam_g_cm2(roi) if settings.yam is not None else None
    percent = percent_yam(max(abmd, 0.0), yam) if yam and adult else None
    calibrated = calibration is not None and roi in calibration.regions
    error_sd = half_width / Z_95 if calibrated else None
    tail = region_tail(roi, abmd, error_sd) if error_sd and t is not None else None
    who = jos = None
    if tail is not None and withholding_flag(hip.flags) is None:
        who = region_who_call(tail, settings.category_confidence).category
        young = t_reference(roi, NHANES_III)
        if yam and young is not None and error_sd:
            jos = region_jos_call(abmd, error_sd, yam, young, settings.category_confidence).category
    return ROIMeasurement(
        hip.side,
        roi,
        round(abmd, 4),
        (round(abmd - half_width, 4), round(abmd + half_width, 4)),
        None if t is None else reported(t),
        None if percent is None else reported(percent),
        who,
        jos,
        None if error_sd is None else round(error_sd, 4),
        None if tail is None else round(tail.p_osteoporosis, 4),
        None if tail is None else round(tail.p_below_normal, 4),
    )


def _line_and_half_width(
    hip: HipEstimate, roi: str, model: DecompositionModel, calibration: IntervalCalibration | None
) -> tuple[LinearDXAMap | None, float]:
    """The region's DXA line and 95 % half-width (g/cm²): the calibration's when the model has one
    (``high_uncertainty`` when wider than 90 % of the calibration cohort's), else the training line's with
    its residual SD and the Monte-Carlo spread combined; either way widened for a share of the region's
    bone invented beyond the image's edge
    (:func:`~hipbmd.bmd.region_coverage.invented_share_half_width_g_cm2`)."""
    spread = hip.evidence.spread_g_cm2.get(roi, 0.0) if hip.evidence is not None else _sample_sd(hip, roi)
    invented = invented_share_half_width_g_cm2(hip.off_image_shares.get(roi, 0.0), roi)
    if calibration is not None and roi in calibration.regions:
        region = calibration.regions[roi]
        half_width = region.half_width_g_cm2(max(spread, SPREAD_FLOOR_G_CM2), hip.ood_distance or 0.0)
        half_width = float(np.hypot(half_width, invented))
        if half_width > region.wide_half_width_g_cm2:
            hip.flags.append(f"high_uncertainty: {roi} ±{half_width:.3f} g/cm2")
        return region.line, half_width
    record = model.dxa_calibration.get(roi)
    if record is None:
        return None, 0.0
    line = LinearDXAMap.from_dict(record)
    return line, float(np.hypot(Z_95 * np.hypot(line.slope * spread, line.residual_sd_g_cm2), invented))


def _sample_sd(hip: HipEstimate, roi: str) -> float:
    """SD over the Monte-Carlo samples of the ROI's mean areal density (regions fixed on the mean DRR)."""
    if hip.femur is None or hip.femur.rois is None or hip.drr is None:
        return 0.0
    region = hip.femur.rois.masks[roi] & hip.femur.bone
    if not region.any() or len(hip.drr.samples_g_cm2) < 2:
        return 0.0
    values = [float(sample[region].mean()) for sample in hip.drr.samples_g_cm2]
    return float(np.std(values, ddof=1))
