"""DXA-like regions of interest on a femur projection in the DXA position, and their aBMD.

The image is an areal-density image (g/cm²) of the femur alone in the DXA position (see
:mod:`hipbmd.femur.dxa_pose`): shaft vertical, neck axis at its true length, square pixels. The bone
is where the areal density exceeds a small threshold (:data:`BONE_THRESHOLD_G_CM2`).

Regions (all as boolean masks on the image grid; a region is intersected with the bone mask when
measured):

* ``neck``: a rectangle 15 mm along the neck axis (the width of Hologic's default femoral neck box),
  1.5 × the neck width across it, centred on the narrowest section of the neck. The narrowest section
  is found here by scanning the bone width perpendicular to the projected neck axis from the head
  outline (head radius from the head centre) to the neck base; near-ties (within 0.5 mm of the
  minimum) are resolved by taking the middle of the run of near-minimal widths. Its offset from the
  landmark ``neck_narrowest_mm`` is reported. A run that reaches the scan's end at the neck base is
  flagged (``neck_narrowest_at_scan_limit``: the neck may narrow further down); one that starts at the
  head outline is not, as the narrowest neck commonly lies against the head.
* ``total_hip``: neck + trochanter + intertrochanteric region: every femur pixel on the trochanter side
  of the line through the neck box's medial (head-side) edge, down to a horizontal line 10 mm below the
  lesser trochanter tip. DXA software ends this region a short fixed distance below the lesser
  trochanter, counted in its own scan pixels; it is stated here in millimetres so that the region does
  not depend on a pixel size. The distal edge matters: the Osaka group measured +0.62 % aBMD per mm of
  distal edge shift (DESIGN.md).
* ``proximal_femur``: the Osaka group's ROI (Uemura et al., Arch Osteoporos 2022): the femur distal to
  the head–neck junction line down to a horizontal line 20 mm below the lesser trochanter. They place
  the junction line through four head–neck junction landmarks; here it is the line perpendicular to the
  neck axis where a neck of the measured narrowest half-width w meets a sphere of the head radius r,
  at √(r² − w²) from the head centre.

aBMD of a region = mean areal density over its bone pixels (g/cm²), as DXA and the source group
compute it; BMC = aBMD × bone area.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from hipbmd.femur.dxa_pose import DXAView

BONE_THRESHOLD_G_CM2 = 0.01  # 100 mg/cm³ over 1 mm: below any real bone path, above numerical noise
ROI_NAMES = ("neck", "total_hip", "proximal_femur")

BoolImage = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ROISettings:
    """Sizes that define the regions (mm unless said otherwise).

    Attributes:
        neck_box_width_mm: neck box extent along the neck axis.
        neck_box_length_factor: neck box extent across the neck, as a multiple of the narrowest width.
        total_hip_below_lesser_trochanter_mm: total hip bottom edge below the lesser trochanter tip.
        proximal_below_lesser_trochanter_mm: proximal femur bottom edge below the lesser trochanter tip.
        narrowest_tolerance_mm: widths within this of the minimum count as the narrowest section.
        scan_step_mm: spacing of the neck width scan.
    """

    neck_box_width_mm: float = 15.0
    neck_box_length_factor: float = 1.5
    total_hip_below_lesser_trochanter_mm: float = 10.0
    proximal_below_lesser_trochanter_mm: float = 20.0
    narrowest_tolerance_mm: float = 0.5
    scan_step_mm: float = 0.5


@dataclass
class HipROIs:
    """Regions of interest on a DXA-position image and the geometry that placed them.

    Attributes:
        masks: region name → boolean mask (H, W); geometric regions, not yet limited to bone.
        pixel_spacing_mm: square pixel size.
        neck_axis_px: unit vector (row, column) of the projected neck axis, pointing to the head.
        neck_box_corners_px: (4, 2) corners (row, column) of the neck box, in drawing order.
        neck_centre_px: centre (row, column) of the neck box.
        neck_width_mm: bone width of the narrowest neck section.
        narrowest_from_head_mm: distance of the narrowest section from the head centre along the axis.
        narrowest_offset_mm: narrowest section found − landmark ``neck_narrowest`` along the axis
            (positive: the found one lies further from the head).
        head_neck_junction_from_head_mm: distance of the head–neck junction line from the head centre.
        bottom_rows: region name → the row of its horizontal bottom edge (fractional).
        flags: problems met while placing the regions.
    """

    masks: dict[str, BoolImage]
    pixel_spacing_mm: float
    neck_axis_px: tuple[float, float]
    neck_box_corners_px: npt.NDArray[np.float64]
    neck_centre_px: tuple[float, float]
    neck_width_mm: float
    narrowest_from_head_mm: float
    narrowest_offset_mm: float
    head_neck_junction_from_head_mm: float
    bottom_rows: dict[str, float] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)

    def geometry_dict(self) -> dict[str, object]:
        """JSON-ready summary of the placement (pixels as (row, column))."""
        return {
            "neck_width_mm": round(self.neck_width_mm, 3),
            "narrowest_from_head_mm": round(self.narrowest_from_head_mm, 3),
            "narrowest_offset_from_landmark_mm": round(self.narrowest_offset_mm, 3),
            "head_neck_junction_from_head_mm": round(self.head_neck_junction_from_head_mm, 3),
            "neck_box_corners_px": np.round(self.neck_box_corners_px, 3).tolist(),
            "bottom_rows": {k: round(v, 3) for k, v in self.bottom_rows.items()},
            "flags": list(self.flags),
        }


def bone_mask(image_g_cm2: npt.ArrayLike, threshold_g_cm2: float = BONE_THRESHOLD_G_CM2) -> BoolImage:
    """Pixels whose areal density exceeds ``threshold_g_cm2``."""
    return np.asarray(image_g_cm2) > threshold_g_cm2


def hip_rois(
    image_g_cm2: npt.ArrayLike,
    view: DXAView,
    settings: ROISettings | None = None,
    bone: BoolImage | None = None,
) -> HipROIs:
    """Neck, total hip and proximal femur regions on a DXA-position femur image (see module docstring)."""
    settings = settings or ROISettings()
    bone = bone_mask(image_g_cm2) if bone is None else bone
    spacing = view.pixel_spacing_mm
    head = np.array(view.landmarks_px["head_centre"])
    base = np.array(view.landmarks_px["neck_base"])
    axis = (head - base) / np.linalg.norm(head - base)  # (row, col), towards the head
    across = np.array([-axis[1], axis[0]])
    length_mm = float(np.linalg.norm(head - base)) * spacing
    scan = _scan_neck(bone, head, axis, across, view.head_radius_mm, length_mm, spacing, settings)
    t_centre, width_mm, mid_mm, flags = scan
    centre = head - axis * t_centre / spacing + across * mid_mm / spacing
    half_along = settings.neck_box_width_mm / 2.0 / spacing
    half_across = settings.neck_box_length_factor * width_mm / 2.0 / spacing
    rows, cols = np.meshgrid(np.arange(bone.shape[0]), np.arange(bone.shape[1]), indexing="ij")
    along = (rows - centre[0]) * axis[0] + (cols - centre[1]) * axis[1]
    side = (rows - centre[0]) * across[0] + (cols - centre[1]) * across[1]
    neck = (np.abs(along) <= half_along) & (np.abs(side) <= half_across)
    lesser_row = view.landmarks_px["lesser_trochanter"][0]
    bottom_total = lesser_row + settings.total_hip_below_lesser_trochanter_mm / spacing
    bottom_proximal = lesser_row + settings.proximal_below_lesser_trochanter_mm / spacing
    total_hip = (along <= half_along) & (rows <= bottom_total)
    junction_mm = float(np.sqrt(max(view.head_radius_mm**2 - (width_mm / 2.0) ** 2, 0.0)))
    from_head = (rows - head[0]) * axis[0] + (cols - head[1]) * axis[1]  # px, positive towards the head
    proximal = (from_head <= -junction_mm / spacing) & (rows <= bottom_proximal)
    landmark = np.array(view.landmarks_px["neck_narrowest"])
    landmark_t = float((head - landmark) @ axis) * spacing
    corners = np.array([centre + a * half_along * axis + b * half_across * across for a, b in _CORNER_SIGNS])
    return HipROIs(
        masks={"neck": neck, "total_hip": total_hip, "proximal_femur": proximal},
        pixel_spacing_mm=spacing,
        neck_axis_px=(float(axis[0]), float(axis[1])),
        neck_box_corners_px=corners,
        neck_centre_px=(float(centre[0]), float(centre[1])),
        neck_width_mm=width_mm,
        narrowest_from_head_mm=t_centre,
        narrowest_offset_mm=t_centre - landmark_t,
        head_neck_junction_from_head_mm=junction_mm,
        bottom_rows={"total_hip": float(bottom_total), "proximal_femur": float(bottom_proximal)},
        flags=flags,
    )


_CORNER_SIGNS = ((1, 1), (1, -1), (-1, -1), (-1, 1))


def neck_widths_mm(
    bone: BoolImage,
    head_px: npt.NDArray[np.float64],
    axis_px: npt.NDArray[np.float64],
    distances_mm: npt.NDArray[np.float64],
    spacing_mm: float,
    reach_mm: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Bone width across the neck axis at each distance from the head centre, and the run's midpoint.

    At each distance the bone mask is sampled (nearest pixel, half-pixel steps) along the line
    perpendicular to the axis out to ± ``reach_mm``; the width is the length of the run of bone that
    contains the axis point (0 if the axis point is not bone). The midpoint is the run centre's signed
    offset from the axis, mm, along (−axis[1], axis[0]).
    """
    step = spacing_mm / 2.0
    offsets = np.arange(-reach_mm, reach_mm + step / 2, step)
    across = np.array([-axis_px[1], axis_px[0]])
    centres = head_px[None, :] - np.outer(distances_mm / spacing_mm, axis_px)
    points = centres[:, None, :] + offsets[None, :, None] * across / spacing_mm
    samples = ndimage.map_coordinates(bone.astype(np.uint8), points.transpose(2, 0, 1), order=0, cval=0)
    inside = samples.astype(bool)
    middle = len(offsets) // 2
    # run ends: first non-bone sample on each side of the axis (the line ends count as non-bone)
    right = np.argmin(np.pad(inside[:, middle:], ((0, 0), (0, 1))), axis=1)
    left = np.argmin(np.pad(inside[:, middle::-1], ((0, 0), (0, 1))), axis=1)
    widths = np.where(inside[:, middle], (right + left - 1) * step, 0.0)
    mids = np.where(inside[:, middle], (right - left) * step / 2.0, 0.0)
    return widths, mids


def _scan_neck(
    bone: BoolImage,
    head: npt.NDArray[np.float64],
    axis: npt.NDArray[np.float64],
    across: npt.NDArray[np.float64],
    head_radius_mm: float,
    length_mm: float,
    spacing: float,
    settings: ROISettings,
) -> tuple[float, float, float, list[str]]:
    """Distance from the head of the narrowest neck section, its width and run midpoint (mm), flags."""
    flags: list[str] = []
    distances = np.arange(head_radius_mm, max(length_mm, head_radius_mm + spacing), settings.scan_step_mm)
    widths, mids = neck_widths_mm(bone, head, axis, distances, spacing, 1.5 * head_radius_mm + 10.0)
    valid = widths > 0
    if not valid.any():
        raise ValueError("no bone along the projected neck axis: cannot place the neck box")
    if not valid.all():
        flags.append("neck_axis_leaves_bone")
    masked = np.where(valid, widths, np.inf)
    best = int(np.argmin(masked))
    near = masked <= masked[best] + settings.narrowest_tolerance_mm
    first, last = best, best
    while first > 0 and near[first - 1]:
        first -= 1
    while last < len(near) - 1 and near[last + 1]:
        last += 1
    if last == len(near) - 1:  # at the head end the head's outline closes the scan: no flag there
        flags.append("neck_narrowest_at_scan_limit")
    chosen = (first + last) // 2
    return float(distances[chosen]), float(widths[chosen]), float(mids[chosen]), flags


def measure_rois(
    image_g_cm2: npt.ArrayLike,
    rois: Mapping[str, BoolImage],
    bone: BoolImage,
    pixel_spacing_mm: float,
    mineral_beyond_bone: bool = False,
) -> dict[str, dict[str, float]]:
    """aBMD (g/cm²), bone area (cm²), BMC (g) and bone pixel count of each region.

    aBMD = mean areal density over the region's bone pixels; area = bone pixels × pixel area. With
    ``mineral_beyond_bone`` the BMC is the areal density summed over the whole region, so mineral that
    blur carried outside the bone outline still counts, and aBMD = BMC / bone area. A region without
    bone pixels gets NaN aBMD (never a plausible-looking number).
    """
    image = np.asarray(image_g_cm2, dtype=np.float64)
    pixel_area_cm2 = (pixel_spacing_mm / 10.0) ** 2
    results: dict[str, dict[str, float]] = {}
    for name, region in rois.items():
        selected = region & bone
        count = int(selected.sum())
        summed = image[region] if mineral_beyond_bone else image[selected]
        abmd = float(summed.sum()) / count if count else float("nan")
        area = count * pixel_area_cm2
        results[name] = {
            "abmd_g_cm2": abmd,
            "area_cm2": area,
            "bmc_g": abmd * area if count else float("nan"),
            "bone_pixels": count,
        }
    return results
