"""Rigid 6-DoF 2D/3D registration: find the patient pose in which a CT's DRR best matches a radiograph.

Multi-resolution: the radiograph is block-averaged by each factor in ``levels`` (coarse to fine), the detector
is coarsened to match, and at each level Powell's derivative-free method maximises the similarity between
the radiograph and the exact DRR of the CT's attenuation (:mod:`hipbmd.drr.render`). With a ``structure``
(label values, e.g. the femur), the similarity is computed only around that structure's projection.
Optionally (``interior_fraction``) the similarity is restricted to the interior of the patient's shadow (where
the DRR exceeds a fraction of its maximum): the body outline's look depends on each site's tone curve, and on
simulated radiographs with a vendor-like tone curve it biased the depth (magnification) by 1–2 mm. The
region then moves with the pose, which can stall the optimiser on small or simple volumes, so it is off by
default.
Parameters are those of :class:`~hipbmd.drr.geometry.PoseParameters` (degrees and mm).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage, optimize

from hipbmd.drr.geometry import (
    PoseParameters,
    camera_from_radiograph,
    camera_with_pose,
    structure_centre_mm,
)
from hipbmd.drr.render import Projector, hu_to_attenuation
from hipbmd.registration.similarity import MEASURES, combined
from hipbmd.types import Camera, Radiograph, Volume

# Coarse-to-fine pixel sizes (mm at the detector) that the automatic levels aim for.
LEVEL_TARGETS_MM = (12.0, 6.0, 3.0, 1.5)
MIN_LEVEL_PIXELS = 16
# Powell's first search directions per level, in (deg, deg, deg, mm, mm, mm) for a factor-1 level.
_STEP = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 3.0])
MASK_MARGIN_MM = 15.0
INTERIOR_EROSION_PX = 2


@dataclass
class RegistrationReport:
    """How the registration went.

    Attributes:
        similarity: final similarity at the finest level (1 = identical up to a linear intensity map).
        initial_similarity: similarity of the initial pose at the finest level.
        converged: the optimiser stopped on its tolerances and the similarity reached ``min_similarity``.
        measure: the similarity measure used.
        levels: per level: downsampling factor, evaluations, similarity, seconds.
        seconds: total time.
        notes: assumptions made (e.g. an assumed SID).
    """

    similarity: float
    initial_similarity: float
    converged: bool
    measure: str
    levels: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> RegistrationReport:
        """Inverse of :meth:`to_dict`."""
        return cls(
            float(record["similarity"]),
            float(record["initial_similarity"]),
            bool(record["converged"]),
            str(record["measure"]),
            [dict(level) for level in record.get("levels", [])],
            float(record.get("seconds", 0.0)),
            [str(note) for note in record.get("notes", [])],
        )


def register(
    radiograph: Radiograph,
    volume: Volume,
    init_pose: PoseParameters | None = None,
    labels: Volume | None = None,
    structure: Sequence[int] | None = None,
    measure: str = "mapped",
    levels: Sequence[int] | None = None,
    min_similarity: float = 0.5,
    max_evaluations_per_level: int = 400,
    interior_fraction: float = 0.0,
    on_level: Callable[[int, int, dict[str, float]], None] | None = None,
    coarse_starts: int = 5,
) -> tuple[PoseParameters, RegistrationReport]:
    """Register ``radiograph`` to the CT ``volume`` (HU or 1/mm), starting from ``init_pose``.

    Args:
        radiograph: the fixed image; its detector spacing must be known.
        volume: the CT, in HU (converted to attenuation) or as attenuation ("1/mm").
        init_pose: starting pose; default the AP view centred on the structure (or the volume).
        labels, structure: label map on the CT grid and the label values to register on.
        measure: "mapped" (NCC + gradient correlation after fitting a quadratic tone map, multi-scale;
            the default), "combined" (the same without the tone map), "ncc", "gc" or "poly".
        levels: downsampling factors of the radiograph, coarse to fine; default from the pixel size
            (aiming at about 12, 6, 3 and 1.5 mm pixels, never finer than the radiograph's own).
        min_similarity: below this final similarity the result is flagged as not converged.
        interior_fraction: compare only where the DRR exceeds this fraction of its maximum; 0 for
            the whole image.
        on_level: called after each level with (levels done, levels in all, that level's summary),
            e.g. to drive a progress bar.
        coarse_starts: at the coarsest level, also start from this many − 1 perturbed poses (flexion
            ±6°, depth ±15 mm, …) and keep the best, against local optima.

    Returns:
        The estimated pose and a :class:`RegistrationReport`.
    """
    if measure != "combined" and measure not in MEASURES:
        raise ValueError(f"unknown similarity measure {measure!r}; use combined, {', '.join(MEASURES)}")
    started = time.perf_counter()
    camera, sod_mm, notes = camera_from_radiograph(radiograph, radiograph.meta.get("source", "radiograph"))
    levels = list(levels) if levels else automatic_levels(camera)
    attenuation = hu_to_attenuation(volume) if volume.unit == "HU" else volume
    start = init_pose or PoseParameters(
        isocenter_mm=structure_centre_mm(volume, labels, structure), sod_mm=sod_mm
    )
    similarity = combined if measure == "combined" else MEASURES[measure]
    projector = Projector(attenuation)
    footprint = Projector(attenuation, labels, structure) if structure else None

    def level(factor: int) -> _Level:
        return _Level(radiograph.array, camera, factor, projector, footprint, similarity, interior_fraction)

    finest = level(min(levels))
    finest.set_mask(start)
    report = RegistrationReport(0.0, finest.similarity(start), False, measure, notes=notes)
    pose = start
    for done, factor in enumerate(levels, start=1):
        starts = _perturbed_starts(pose, coarse_starts if done == 1 else 1)
        results = [level(factor).optimise(candidate, max_evaluations_per_level) for candidate in starts]
        # Judge the candidates at the finest resolution: coarse similarities barely tell basins apart.
        pose, summary = max(results, key=lambda result: finest.similarity(result[0]))
        report.levels.append(summary)
        if on_level is not None:
            on_level(done, len(levels), summary)
    finest.set_mask(pose)  # the structure's neighbourhood at the final pose, not the initial one
    report.similarity = finest.similarity(pose)
    report.converged = bool(report.levels[-1]["optimiser_success"]) and report.similarity >= min_similarity
    report.seconds = time.perf_counter() - started
    return pose, report


def automatic_levels(camera: Camera) -> list[int]:
    """Power-of-two downsampling factors whose pixels are near LEVEL_TARGETS_MM, coarse to fine."""
    spacing = min(camera.pixel_spacing_mm)
    factors: list[int] = []
    for target in LEVEL_TARGETS_MM:
        factor = 2 ** max(0, round(np.log2(target / spacing)))
        if min(camera.shape) // factor >= MIN_LEVEL_PIXELS and factor not in factors:
            factors.append(int(factor))
    return factors or [1]


# Perturbations tried at the coarsest level: (rotation deg about x, y, z), (translation mm x, y, z).
_PERTURBATIONS = (
    ((6.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
    ((-6.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
    ((0.0, 0.0, 0.0), (0.0, 15.0, 0.0)),
    ((0.0, 0.0, 0.0), (0.0, -15.0, 0.0)),
    ((0.0, 0.0, 6.0), (0.0, 0.0, 0.0)),
    ((0.0, 0.0, -6.0), (0.0, 0.0, 0.0)),
)


def _perturbed_starts(pose: PoseParameters, count: int) -> list[PoseParameters]:
    """``pose`` and up to count − 1 perturbed copies of it."""
    starts = [pose]
    for rotation, translation in _PERTURBATIONS[: max(0, count - 1)]:
        starts.append(
            PoseParameters(
                tuple(np.add(pose.rotation_deg, rotation)),
                tuple(np.add(pose.translation_mm, translation)),
                pose.isocenter_mm,
                pose.sod_mm,
            )
        )
    return starts


class _Level:
    """One resolution level: the block-averaged radiograph, its detector and the objective."""

    def __init__(
        self,
        image: npt.NDArray[np.float32],
        camera: Camera,
        factor: int,
        projector: Projector,
        footprint: Projector | None,
        measure: Callable[..., float],
        interior_fraction: float = 0.0,
    ) -> None:
        self.factor = factor
        self.fixed = block_mean(image, factor)
        row0, col0 = camera.principal_point
        self.camera = Camera(
            self.fixed.shape,
            (camera.pixel_spacing_mm[0] * factor, camera.pixel_spacing_mm[1] * factor),
            camera.sdd_mm,
            ((row0 + 0.5) / factor - 0.5, (col0 + 0.5) / factor - 0.5),
        )
        self.projector, self.footprint, self.measure = projector, footprint, measure
        self.mask: npt.NDArray[np.bool_] | None = None
        self.interior_fraction = interior_fraction
        self.evaluations = 0

    def render(self, pose: PoseParameters) -> npt.NDArray[np.float32]:
        camera = camera_with_pose(self.camera, pose.to_pose())
        return np.asarray(self.projector.render(camera).images[0], dtype=np.float32)

    def similarity(self, pose: PoseParameters) -> float:
        self.evaluations += 1
        moving = self.render(pose)
        return self.measure(self.fixed, moving, self._compared_region(moving))

    def _compared_region(self, moving: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_] | None:
        """The structure mask (if any) intersected with the interior of the DRR's shadow."""
        if self.interior_fraction <= 0:
            return self.mask
        interior = ndimage.binary_erosion(
            moving > self.interior_fraction * float(moving.max()), iterations=INTERIOR_EROSION_PX
        )
        if interior.sum() < 16:  # too little to compare: fall back to the whole image
            return self.mask
        region: npt.NDArray[np.bool_] = interior if self.mask is None else interior & self.mask
        return region

    def set_mask(self, pose: PoseParameters) -> None:
        """Restrict the similarity to the structure's projection at ``pose``, dilated by a margin."""
        if self.footprint is None:
            return
        camera = camera_with_pose(self.camera, pose.to_pose())
        shadow = self.footprint.render(camera).images[0] > 0
        margin_px = max(1, round(MASK_MARGIN_MM / self.camera.pixel_spacing_mm[0]))
        self.mask = ndimage.binary_dilation(shadow, iterations=margin_px)

    def optimise(
        self, start: PoseParameters, max_evaluations: int
    ) -> tuple[PoseParameters, dict[str, float]]:
        """Powell's method from ``start``; returns the best pose and a summary."""
        began = time.perf_counter()
        self.set_mask(start)
        origin = np.array([*start.rotation_deg, *start.translation_mm])

        def pose_of(x: npt.NDArray[np.float64]) -> PoseParameters:
            return PoseParameters(tuple(x[:3]), tuple(x[3:]), start.isocenter_mm, start.sod_mm)

        result = optimize.minimize(
            lambda x: -self.similarity(pose_of(x)),
            origin,
            method="Powell",
            options={
                "direc": np.diag(_STEP * self.factor),
                "xtol": 1e-2,
                "ftol": 1e-5,
                "maxfev": max_evaluations,
            },
        )
        summary = {
            "factor": float(self.factor),
            "evaluations": float(self.evaluations),
            "similarity": float(-result.fun),
            "seconds": time.perf_counter() - began,
            "optimiser_success": float(bool(result.success)),
        }
        return pose_of(result.x), summary


def block_mean(image: npt.NDArray[np.floating], factor: int) -> npt.NDArray[np.float32]:
    """Average non-overlapping factor × factor blocks (the image is cropped to a multiple of factor)."""
    if factor == 1:
        return np.asarray(image, np.float32)
    rows, cols = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    blocks = np.asarray(image[:rows, :cols], np.float64).reshape(
        rows // factor, factor, cols // factor, factor
    )
    return np.asarray(blocks.mean(axis=(1, 3)), dtype=np.float32)
