"""Find the hips in a radiograph: femoral head centre, lesser trochanter tip, side and confidence.

The radiograph is flipped into the standard AP display (:mod:`~hipbmd.localisation.orientation`), resampled
to the localiser's pitch, normalised, padded and passed through the network (:func:`predict_heatmaps`). Each
head channel's sub-pixel peak is a hip when its height (the confidence, 0–1) reaches the model's threshold.
When the line through both heads tilts by ``RELOCATE_TILT_DEG`` or more
(:mod:`~hipbmd.localisation.head_line`), the search is run again on a grid turned to level it, as the
network was trained on near-level pelves, and kept when it finds as many hips. The lesser trochanter is the
peak of the same side's trochanter channel within ``LT_SEARCH_MM`` of the head; it and the region points
are each the consensus of three looks, the frame's grid and two turned ``VIEW_TURN_DEG`` either way
(:mod:`~hipbmd.localisation.consensus`), so that one look's stray peak is outvoted. Positions are returned in
the original image's pixels. Sides are the patient's: from PatientOrientation when the file has it
(``side_source="dicom"``), else from the assumed standard display (``"assumed"``), or from the user
(``"user"``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from hipbmd.frames import Affine2D
from hipbmd.io.radiograph_tags import PLACEHOLDER_SPACING_MM
from hipbmd.localisation.consensus import consensus_point
from hipbmd.localisation.grid import low_passed, to_turned_grid, to_working_grid
from hipbmd.localisation.head_line import head_line_tilt_deg
from hipbmd.localisation.heatmaps import REGION_POINTS, Peak, find_peak
from hipbmd.localisation.hip_location import HipLocation
from hipbmd.localisation.network import normalise_intensity
from hipbmd.localisation.orientation import (
    DisplayOrientation,
    SideSource,
    display_orientation,
    display_transform,
    to_standard,
)
from hipbmd.types import Radiograph, Side

CHANNELS: dict[Side, tuple[int, int]] = {"right": (0, 1), "left": (2, 3)}
PLACEHOLDER_SPACING = (PLACEHOLDER_SPACING_MM, PLACEHOLDER_SPACING_MM)  # "unknown" in converted files
ASSUMED_FIELD_MM = 430.0  # a 43 cm cassette, when an image carries no spacing
LT_SEARCH_MM = 150.0
REGION_POINT_FLOOR = 0.1  # a region point's least heatmap response (see _region_points)
LT_RANGE_MM = (25.0, 140.0)  # plausible head → lesser trochanter distance at the detector
SAME_HEAD_MM = 40.0
IMPLANT_SEARCH_MM = 30.0  # an implant channel's response is read within this distance of the head
USER_SIDE_RADIUS_MM = 15.0
RELOCATE_TILT_DEG = 8.0  # a head line tilted this much: the hips are looked for again on a levelled grid
VIEW_TURN_DEG = 6.0  # two further looks for the trochanters and region points, turned this much either way
AGREE_MM = 10.0  # looks whose points lie this close to their medoid agree (see consensus.py)


@dataclass(frozen=True)
class _Frame:
    """The standardised working image of one radiograph and the one frame change from the file's pixels
    to its working pixels (display flips, then the working grid)."""

    heatmaps: npt.NDArray[np.float32]
    file_to_working: Affine2D
    orientation: DisplayOrientation
    spacing_mm: tuple[float, float]
    pitch_mm: float
    flags: tuple[str, ...]
    channel_names: tuple[str, ...] = ()
    views: tuple[_Frame, ...] = ()  # the same radiograph on grids turned ±VIEW_TURN_DEG

    def implant_response(self, side: Side, head: Peak) -> float | None:
        """The largest response of ``side``'s implant channel within ``IMPLANT_SEARCH_MM`` of the head;
        None for a model without implant channels."""
        name = f"{side}_implant"
        if name not in self.channel_names:
            return None
        near = self.within_mm(np.asarray([head.row, head.col]), IMPLANT_SEARCH_MM)
        channel = self.heatmaps[self.channel_names.index(name)]
        return float(channel[near].max()) if near.any() else 0.0

    def to_original(self, row: float, col: float) -> tuple[float, float]:
        point = self.file_to_working.inverse().apply([row, col])
        return float(point[0]), float(point[1])

    def to_working(self, point_px: tuple[float, float]) -> npt.NDArray[np.float64]:
        return self.file_to_working.apply(point_px)

    def within_mm(self, centre: npt.NDArray[np.float64], radius_mm: float) -> npt.NDArray[np.bool_]:
        """Working pixels within ``radius_mm`` of a working point."""
        rows, cols = np.indices(self.heatmaps.shape[1:], dtype=np.float64)
        return np.asarray(np.hypot(rows - centre[0], cols - centre[1]) * self.pitch_mm <= radius_mm)


def predict_heatmaps(model: Any, image: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Heatmaps (K, H, W) in 0–1 of a normalised working image (H, W), padded as the model needs; run on
    the device the model lives on."""
    import torch

    from hipbmd.torch_device import module_device

    config = model.config
    multiple = config.size_multiple
    rows, cols = image.shape
    padded_shape = [max(config.size, -(-n // multiple) * multiple) for n in (rows, cols)]
    top, left = (padded_shape[0] - rows) // 2, (padded_shape[1] - cols) // 2
    padded = np.zeros(padded_shape, dtype=np.float32)
    padded[top : top + rows, left : left + cols] = image
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(padded)[None, None].to(module_device(model)))
    maps = torch.sigmoid(logits)[0, :, top : top + rows, left : left + cols]
    return np.ascontiguousarray(maps.cpu().numpy(), dtype=np.float32)


@dataclass(frozen=True)
class HipSearch:
    """The hips found on a radiograph and how clear the clearest head was.

    Attributes:
        hips: the hips found (head response at least ``threshold``), patient's right first.
        strongest_head: the highest head response anywhere on the image, 0–1.
        threshold: the response a head needs to count as found.
        tilt_deg: the tilt of the line through both femoral heads in the file's pixels (deg,
            counter-clockwise as the pixels are stored, :mod:`~hipbmd.localisation.head_line`), from both
            heads found whether or not both are returned (``side`` or ``center_mm`` given); None unless
            two heads were found an adult pelvis apart.
    """

    hips: list[HipLocation]
    strongest_head: float
    threshold: float
    tilt_deg: float | None = None

    @property
    def why_none(self) -> str:
        """Why no hip was found, in one line."""
        return (
            f"no femoral head on the image (strongest head response {self.strongest_head:.2f}, "
            f"{self.threshold:.2f} needed)"
        )


def find_hips(
    radiograph: Radiograph,
    model: Any = None,
    *,
    side: Side | None = None,
    center_mm: tuple[float, float] | None = None,
    threshold: float | None = None,
) -> HipSearch:
    """The hips in ``radiograph``, patient's right first, with the strongest head response seen.

    Args:
        radiograph: the image as read (any orientation the file states; standard AP display otherwise).
        model: a :class:`~hipbmd.localisation.network.HipLocaliser`; default the shipped one.
        side: the hip to return, its side taken from the user: the model's hip of that side, else (a
            single-hip image the model reads as the other side) the other side's hip, flagged
            ``side_disagrees_with_image``.
        center_mm: the femoral head centre given by the user, (row, col) mm at the detector from the
            centre of the image's top-left pixel (pixel index × pixel spacing); head detection of that
            hip is skipped and only that hip is returned.
        threshold: head peak height below which a hip is absent; default the model's.
    """
    if model is None:
        from hipbmd.localisation.model_files import load_localiser

        model = load_localiser()
    source = _source(radiograph, model)
    frame = _frame(source, model)
    limit = float(model.config.threshold if threshold is None else threshold)
    found, strongest = _both_hips(frame, limit)
    tilt = head_line_tilt_deg([hip.head_centre_px for hip in found], frame.spacing_mm)
    if center_mm is not None:
        hip = _given_centre(frame, center_mm, side, limit)
        return HipSearch([hip], hip.confidence, limit, tilt)
    if side is not None:
        hip = _given_side(frame, side, limit)
        return HipSearch([hip], hip.confidence, limit, tilt)
    # one flip of the file into the display mirrors every angle; two (a half turn) keep them
    display_tilt = None if tilt is None else tilt * frame.orientation.angle_sign
    if display_tilt is not None and abs(display_tilt) >= RELOCATE_TILT_DEG:  # look again, levelled
        levelled, levelled_strongest = _both_hips(_frame(source, model, display_tilt), limit)
        if len(levelled) >= len(found):
            found, strongest = levelled, levelled_strongest
            tilt = head_line_tilt_deg([hip.head_centre_px for hip in found], frame.spacing_mm)
    return HipSearch(_check_laterality(found, radiograph), strongest, limit, tilt)


def _both_hips(frame: _Frame, limit: float) -> tuple[list[HipLocation], float]:
    """The hips found on a frame (both heads firing on one merged), and the strongest head response."""
    hips = [_hip(frame, s, _head_peak(frame, s), frame.orientation.source, limit) for s in CHANNELS]
    found = [hip for hip in hips if hip.confidence >= limit]
    return _merge_same_head(found, frame), max(hip.confidence for hip in hips)


def locate_hips(
    radiograph: Radiograph,
    model: Any = None,
    *,
    side: Side | None = None,
    center_mm: tuple[float, float] | None = None,
    threshold: float | None = None,
) -> list[HipLocation]:
    """The hips in ``radiograph`` (:func:`find_hips` without the search's summary)."""
    return find_hips(radiograph, model, side=side, center_mm=center_mm, threshold=threshold).hips


@dataclass(frozen=True)
class _Source:
    """A radiograph as every working grid samples it: in the standard display, low-passed for the
    working pitch once, with its spacing (mm) and the frame flags."""

    image: npt.NDArray[np.floating[Any]]
    smooth: npt.NDArray[np.float32]
    to_display: Affine2D
    orientation: DisplayOrientation
    spacing_mm: tuple[float, float]
    flags: tuple[str, ...]


def _source(radiograph: Radiograph, model: Any) -> _Source:
    """The radiograph flipped into the standard display and low-passed for the model's pitch."""
    orientation = display_orientation(radiograph)
    flags = () if orientation.source == "dicom" else ("side_assumed",)
    spacing = radiograph.pixel_spacing_mm
    if spacing == PLACEHOLDER_SPACING and radiograph.spacing_source not in ("imager", "calibrated"):
        flags = (*flags, "spacing_maybe_placeholder")
    if spacing is None:
        size = ASSUMED_FIELD_MM / max(radiograph.shape)
        spacing, flags = (size, size), (*flags, "spacing_assumed")
    image = to_standard(radiograph.array, orientation)
    smooth = low_passed(image, spacing, float(model.config.pitch_mm))
    to_display = display_transform(orientation, radiograph.shape)
    return _Source(image, smooth, to_display, orientation, spacing, flags)


def _frame(source: _Source, model: Any, turn_deg: float = 0.0) -> _Frame:
    """The working frame of a radiograph: on the axis-aligned grid, or on one turned by ``turn_deg``;
    with its two views turned ``VIEW_TURN_DEG`` further either way."""
    views = tuple(_look(source, model, turn_deg + sign * VIEW_TURN_DEG) for sign in (-1.0, 1.0))
    return replace(_look(source, model, turn_deg), views=views)


def _look(source: _Source, model: Any, turn_deg: float) -> _Frame:
    """One look: the heatmaps of the radiograph on the working grid turned by ``turn_deg``."""
    pitch = float(model.config.pitch_mm)
    image, spacing = source.image, source.spacing_mm
    if turn_deg == 0.0:
        working, valid, mapping = to_working_grid(image, spacing, pitch, source.smooth)
        working_to_display = mapping.working_to_original
    else:
        working, valid, working_to_display = to_turned_grid(image, spacing, pitch, turn_deg, source.smooth)
    normalised = np.where(valid, normalise_intensity(working, model.config.percentiles, valid), 0.0)
    heatmaps = predict_heatmaps(model, normalised.astype(np.float32))
    file_to_working = source.to_display.then(working_to_display.inverse())
    names = tuple(model.config.landmarks)
    return _Frame(heatmaps, file_to_working, source.orientation, spacing, pitch, source.flags, names)


def _head_peak(frame: _Frame, side: Side) -> Peak:
    return find_peak(frame.heatmaps[CHANNELS[side][0]])


def _hip(
    frame: _Frame, side: Side, head: Peak, source: SideSource, limit: float, seen_as: Side | None = None
) -> HipLocation:
    """A hip with head ``head``; its trochanter from the channel of ``seen_as`` (default ``side``)."""
    near = frame.within_mm(np.asarray([head.row, head.col]), LT_SEARCH_MM)
    head_px = frame.to_original(head.row, head.col)
    near_in_views = tuple(view.within_mm(view.to_working(head_px), LT_SEARCH_MM) for view in frame.views)
    trochanter = _trochanter(frame, CHANNELS[seen_as or side][1], near, near_in_views)
    flags = [flag for flag in frame.flags if not (source == "user" and flag == "side_assumed")]
    lesser: tuple[float, float] | None = frame.to_original(trochanter.row, trochanter.col)
    distance_mm = float(np.hypot(head.row - trochanter.row, head.col - trochanter.col)) * frame.pitch_mm
    if trochanter.height < limit:
        lesser = None
        flags.append("lesser_trochanter_not_found")
    elif not LT_RANGE_MM[0] <= distance_mm <= LT_RANGE_MM[1] or trochanter.row <= head.row:
        flags.append("lesser_trochanter_implausible")
    implant = frame.implant_response(seen_as or side, head)
    regions, region_confidence = _region_points(frame, seen_as or side, near, near_in_views)
    plausible = LT_RANGE_MM[0] <= distance_mm <= LT_RANGE_MM[1] and trochanter.row > head.row
    if lesser is None and trochanter.height >= REGION_POINT_FLOOR and regions and plausible:
        # too faint to report as found, but the regions may stand on it like the other region points
        regions["lesser_trochanter"] = frame.to_original(trochanter.row, trochanter.col)
        region_confidence = round(min(region_confidence or 1.0, trochanter.height), 4)
    return HipLocation(
        side=side,
        head_centre_px=frame.to_original(head.row, head.col),
        lesser_trochanter_px=lesser,
        confidence=round(head.height, 4),
        lesser_trochanter_confidence=round(trochanter.height, 4),
        side_source=source,
        flags=tuple(flags),
        implant_probability=None if implant is None else round(implant, 4),
        region_points_px=regions,
        region_confidence=region_confidence,
    )


def _region_points(
    frame: _Frame,
    side: Side,
    near: npt.NDArray[np.bool_],
    near_in_views: tuple[npt.NDArray[np.bool_], ...],
) -> tuple[dict[str, tuple[float, float]], float | None]:
    """The region points of ``side``'s channels (original pixels) whose peak within ``near`` (the working
    pixels within ``LT_SEARCH_MM`` of the head; ``near_in_views``: the same in each of the frame's views)
    reaches ``REGION_POINT_FLOOR``, and the weakest of their
    peaks (none for a model without region channels).

    The floor lies below the detection threshold on purpose: a region point is the network's best guess
    of where a point lies near a head already found, not a detection; the regions' geometric checks
    judge it, and the weakest response is part of the evidence the intervals are calibrated on."""
    points, heights = {}, []
    for point in REGION_POINTS:
        name = f"{side}_{point}"
        if name in frame.channel_names:
            channel = frame.channel_names.index(name)
            peak = find_peak(np.where(near, frame.heatmaps[channel], 0.0))
            peak = _steady(frame, channel, peak, near_in_views)
            if peak.height >= REGION_POINT_FLOOR:
                points[point] = frame.to_original(peak.row, peak.col)
                heights.append(peak.height)
    return points, (round(min(heights), 4) if heights else None)


def _trochanter(
    frame: _Frame,
    channel: int,
    near: npt.NDArray[np.bool_],
    near_in_views: tuple[npt.NDArray[np.bool_], ...],
) -> Peak:
    """Peak of a trochanter channel within ``near`` (working pixels within ``LT_SEARCH_MM`` of the head;
    ``near_in_views``: the same in each of the frame's views)."""
    return _steady(frame, channel, find_peak(np.where(near, frame.heatmaps[channel], 0.0)), near_in_views)


def _steady(
    frame: _Frame, channel: int, peak: Peak, near_in_views: tuple[npt.NDArray[np.bool_], ...]
) -> Peak:
    """``peak`` (of ``channel``, near one hip's head; working pixels) moved to the consensus of the frame's
    looks at it (:func:`~hipbmd.localisation.consensus.consensus_point`): its own and each view's peak of
    that channel within the view's ``near_in_views`` mask (the pixels near the same head) that reaches
    ``REGION_POINT_FLOOR``. Its height, which decides whether the point is there, stays the frame's own."""
    if peak.height < REGION_POINT_FLOOR or not frame.views:
        return peak
    looks = [frame.to_original(peak.row, peak.col)]
    for view, near in zip(frame.views, near_in_views, strict=True):
        seen = find_peak(np.where(near, view.heatmaps[channel], 0.0))
        if seen.height >= REGION_POINT_FLOOR:
            looks.append(view.to_original(seen.row, seen.col))
    agreed = frame.to_working(tuple(consensus_point(looks, frame.spacing_mm, AGREE_MM)))
    return Peak(float(agreed[0]), float(agreed[1]), peak.height)


def _given_side(frame: _Frame, side: Side, limit: float) -> HipLocation:
    """The user says which hip to return: that side's head, else the other side's head called ``side``."""
    own = _head_peak(frame, side)
    if own.height >= limit:
        return _hip(frame, side, own, "user", limit)
    other: Side = "left" if side == "right" else "right"
    seen = _head_peak(frame, other)
    if seen.height < limit:  # nothing clear: the stronger of the two, flagged
        hip = _hip(frame, side, max(own, seen, key=lambda p: p.height), "user", limit)
        return replace(hip, flags=(*hip.flags, "hip_not_found"))
    hip = _hip(frame, side, seen, "user", limit, seen_as=other)
    return replace(hip, flags=(*hip.flags, "side_disagrees_with_image"))


def _given_centre(
    frame: _Frame, center_mm: tuple[float, float], side: Side | None, limit: float
) -> HipLocation:
    """The user gives the head centre (and maybe the side): only the trochanter is searched for."""
    centre_px = (center_mm[0] / frame.spacing_mm[0], center_mm[1] / frame.spacing_mm[1])
    working = frame.to_working(centre_px)
    responses = _responses(frame, working)
    flags = ["centre_from_user"]
    chosen: Side
    source: SideSource
    if side is not None:
        chosen, source = side, "user"
    elif max(responses.values()) >= limit / 2.0:
        chosen, source = max(responses, key=lambda s: responses[s]), frame.orientation.source
    else:  # nothing there: the image half under the (stated or assumed) display
        chosen = "right" if working[1] < frame.heatmaps.shape[2] / 2.0 else "left"
        source = frame.orientation.source
        flags.append("side_from_position")
    head = Peak(float(working[0]), float(working[1]), 1.0)
    # The channels of the head the image shows there (its trochanter, its implant), whatever it is called.
    strongest: Side = "right" if responses["right"] >= responses["left"] else "left"
    seen = strongest if responses[strongest] >= limit / 2.0 else None
    hip = _hip(frame, chosen, head, source, limit, seen_as=seen)
    return replace(hip, head_centre_px=centre_px, flags=(*hip.flags, *flags))


def _responses(frame: _Frame, working: npt.NDArray[np.float64]) -> dict[Side, float]:
    """Largest head response of each side within ``USER_SIDE_RADIUS_MM`` of a working point."""
    near = frame.within_mm(working, USER_SIDE_RADIUS_MM)
    if not near.any():
        return {"right": 0.0, "left": 0.0}
    return {s: float(frame.heatmaps[CHANNELS[s][0]][near].max()) for s in ("right", "left")}


def _merge_same_head(hips: list[HipLocation], frame: _Frame) -> list[HipLocation]:
    """Both head channels firing on one head: keep the stronger, flagged ``side_uncertain``."""
    if len(hips) < 2:
        return hips
    right, left = frame.to_working(hips[0].head_centre_px), frame.to_working(hips[1].head_centre_px)
    if float(np.hypot(*(right - left))) * frame.pitch_mm >= SAME_HEAD_MM:
        return hips
    best = max(hips, key=lambda hip: hip.confidence)
    return [replace(best, flags=(*best.flags, "side_uncertain"))]


def _check_laterality(hips: list[HipLocation], radiograph: Radiograph) -> list[HipLocation]:
    """Flag hips whose side contradicts a single-side ImageLaterality."""
    if radiograph.laterality not in ("left", "right"):
        return hips
    return [
        hip
        if hip.side == radiograph.laterality
        else replace(hip, flags=(*hip.flags, "side_disagrees_with_laterality"))
        for hip in hips
    ]
