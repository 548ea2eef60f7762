"""The proximal femur as bone: surface, cortical shell and trabecular density in mg/cm³ hydroxyapatite.

The outer surface is a smooth union of a head (sphere), an oval neck, the shaft and both trochanters
(:mod:`hipbmd.sim.shapes`). The cortex is a shell of varying thickness inside that surface: thick in the
shaft, thin over the head and the superior neck, thicker at the calcar (inferomedial neck). Trabecular
density follows the classical pattern of the proximal femur (Singh et al., J Bone Joint Surg Am
1970;52:457–467): a dense principal compressive group from the dome of the head to the calcar, a principal
tensile group arching from below the head over the superior neck to the lateral cortex, the sparse Ward's
triangle between them, and a sparser greater trochanter. Below the lesser trochanter the trabecular bone
gives way to the marrow canal. A fixed random texture, defined in the femur's own frame, gives the
trabecular grain; it moves with the bone, so the same femur looks the same in every pose.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from hipbmd.sim import sdf_program as sdf
from hipbmd.sim import shapes
from hipbmd.sim.femur_shape import FemurFrame, FemurPlacement, FemurShape, femur_frame
from hipbmd.sim.implants import Implant, metal_parts, resection_mm

Array = npt.NDArray[np.float32]
# Extent of the canonical femur's texture box (mm): medial/lateral, posterior/anterior, inferior/superior.
TEXTURE_LOW_MM = np.array([-40.0, -45.0, -260.0], np.float32)
TEXTURE_HIGH_MM = np.array([90.0, 45.0, 45.0], np.float32)
TEXTURE_SPACING_MM = 1.0


@dataclass(frozen=True)
class FemurDensity:
    """Density parameters of one femur (before the cohort's scaling to a target aBMD).

    Attributes:
        cortical_mg_cm3: mineral density of cortical bone (HA mg/cm³).
        trabecular_mg_cm3: mean trabecular density of the neck region (HA mg/cm³).
        shaft_cortex_mm: cortical thickness of the proximal shaft.
        neck_cortex_mm: cortical thickness of the neck away from the calcar.
        texture_contrast: relative amplitude of the trabecular grain.
    """

    cortical_mg_cm3: float = 1000.0
    trabecular_mg_cm3: float = 220.0
    shaft_cortex_mm: float = 5.5
    neck_cortex_mm: float = 1.8
    texture_contrast: float = 0.35


@dataclass
class BoneFields:
    """A bone sampled on points: voxel fraction inside the bone and mean mineral density (HA mg/cm³).

    ``metal`` holds the voxel fraction of each implant metal (empty without an implant).
    """

    occupancy: Array
    mineral_mg_cm3: Array
    marrow_cavity: Array
    metal: dict[str, Array] = field(default_factory=dict)


def femur_texture(rng: np.random.Generator) -> Array:
    """A smooth random field (unit SD) on the canonical texture box, the femur's trabecular grain."""
    shape = np.ceil((TEXTURE_HIGH_MM - TEXTURE_LOW_MM) / TEXTURE_SPACING_MM).astype(int) + 1
    noise = ndimage.gaussian_filter(rng.standard_normal(tuple(shape)).astype(np.float32), 1.1)
    return np.asarray(noise / max(float(noise.std()), 1e-6), np.float32)


def canonical_points(points_mm: Array, placement: FemurPlacement) -> Array:
    """World points → the canonical right-femur frame (see :mod:`hipbmd.sim.femur_shape`)."""
    rotation = placement.rotation().astype(np.float32)
    centred = points_mm - np.asarray(placement.head_centre_mm, np.float32)
    return np.asarray(centred @ rotation, np.float32)  # M is orthogonal: M⁻¹·v = Mᵀ·v


def femur_parts(shape: FemurShape, frame: FemurFrame) -> list[sdf.Part]:
    """The femur's outer surface as a program of primitives (canonical frame)."""
    r_neck, g, s = shape.neck_radius_mm, shape.greater_trochanter_size, shape.lesser_trochanter_size
    axes = np.stack([frame.shaft_axis, frame.lateral, frame.anterior])
    top = frame.neck_base + 12.0 * frame.shaft_axis
    bottom = frame.neck_base - 320.0 * frame.shaft_axis
    flat, across = shape.neck_flattening, frame.anterior
    return [
        sdf.capsule(top, bottom, shape.shaft_radius_mm * 1.15, shape.shaft_radius_mm * 0.9),
        sdf.capsule(frame.neck_narrowest, frame.neck_base, r_neck, 1.45 * r_neck, 12.0, flat, across),
        sdf.ellipsoid(frame.greater_trochanter_centre, axes, (26.0 * g, 13.0 * g, 20.0 * g), 10.0),
        sdf.ellipsoid(frame.lesser_trochanter_centre, axes, (12.0 * s, 9.0 * s, 8.0 * s), 6.0),
        sdf.capsule((0.0, 0.0, 0.0), frame.neck_narrowest, r_neck * 1.05, r_neck, 4.0, flat, across),
        sdf.sphere((0.0, 0.0, 0.0), shape.head_radius_mm, 5.0),
        *_osteophytes(shape, frame),
    ]


def _osteophytes(shape: FemurShape, frame: FemurFrame) -> list[sdf.Part]:
    """Bony lips around the head–neck junction, strongest inferiorly, as in hip osteoarthritis."""
    if shape.osteophyte_mm <= 0:
        return []
    up = np.cross(frame.anterior, frame.neck_axis)
    junction = -0.8 * shape.head_radius_mm * frame.neck_axis
    ring = shape.neck_radius_mm * 1.05
    spots = ((-up, 1.0), (up, 0.7), (frame.anterior, 0.6), (-frame.anterior, 0.6))
    return [
        sdf.sphere(junction + ring * direction, shape.osteophyte_mm * size, 3.0) for direction, size in spots
    ]


def femur_surface(points: Array, shape: FemurShape, frame: FemurFrame) -> Array:
    """Signed distance (mm) to the femur's outer surface, points in the canonical frame.

    A shape with a mesh ``outline`` uses it (with its osteophytes blended on) instead of the primitives.
    """
    if shape.outline is None:
        return sdf.evaluate(points, femur_parts(shape, frame))
    outline = shape.outline(points)
    spurs = _osteophytes(shape, frame)
    return outline if not spurs else shapes.smooth_union(outline, sdf.evaluate(points, spurs), 3.0)


def _shaft_weight(points: Array, frame: FemurFrame, start_mm: float, end_mm: float) -> Array:
    """0 above ``start_mm`` below the neck base along the shaft axis, rising to 1 at ``end_mm``."""
    along = (points - frame.neck_base.astype(np.float32)) @ frame.shaft_axis.astype(np.float32)
    return np.asarray(np.clip((-along - start_mm) / (end_mm - start_mm), 0.0, 1.0), np.float32)


def cortical_thickness_mm(
    points: Array, shape: FemurShape, frame: FemurFrame, density: FemurDensity
) -> Array:
    """Cortical thickness (mm) at each point: shaft, neck, calcar and head values blended smoothly."""
    shaft = _shaft_weight(points, frame, 25.0, 60.0)
    thickness = density.neck_cortex_mm + (density.shaft_cortex_mm - density.neck_cortex_mm) * shaft
    calcar = frame.neck_base - 13.0 * frame.lateral - 12.0 * frame.shaft_axis
    thickness += 0.9 * density.neck_cortex_mm * _gaussian(points, calcar, 12.0)
    head = np.clip((shape.head_radius_mm + 2.0 - np.linalg.norm(points, axis=-1)) / 4.0, 0.0, 1.0)
    return np.asarray(thickness * (1.0 - head) + 0.8 * head, np.float32)


def _gaussian(points: Array, centre: npt.ArrayLike, sigma_mm: float) -> Array:
    offset = points - np.asarray(centre, np.float32)
    return np.asarray(np.exp(-np.sum(offset * offset, axis=-1) / (2.0 * sigma_mm**2)), np.float32)


def trabecular_pattern(points: Array, shape: FemurShape, frame: FemurFrame) -> Array:
    """Relative trabecular density (about 1 in the neck): compressive and tensile groups, Ward's triangle."""
    radius = shape.head_radius_mm
    dome = 0.85 * radius * _unit((-0.3, 0.0, 1.0))
    calcar = frame.neck_base - 14.0 * frame.lateral - 10.0 * frame.shaft_axis
    below_head = 0.8 * radius * _unit((-0.5, 0.0, -0.85))
    up_neck = _unit(np.cross(frame.anterior, frame.neck_axis))
    superior_neck = frame.neck_narrowest + 0.55 * shape.neck_radius_mm * up_neck
    lateral_cortex = frame.neck_base + 15.0 * frame.lateral - 20.0 * frame.shaft_axis
    wards = frame.neck_base + 15.0 * frame.neck_axis - 3.0 * frame.shaft_axis
    centre = np.zeros(3)
    bands = [
        sdf.band(dome, calcar, 6.0, 0.9),
        sdf.band(below_head, superior_neck, 4.5, 0.45),
        sdf.band(superior_neck, lateral_cortex, 4.5, 0.45),
        sdf.band(wards, wards, 7.0, -0.45),
        sdf.band(frame.greater_trochanter_centre, frame.greater_trochanter_centre, 14.0, -0.3),
        sdf.band(centre, centre, 0.7 * radius, 0.25),
    ]
    return np.asarray(np.clip(sdf.sum_of_bands(points, bands, 0.6), 0.1, None), np.float32)


def _unit(vector: npt.ArrayLike) -> npt.NDArray[np.float64]:
    values = np.asarray(vector, np.float64)
    return values / np.linalg.norm(values)


def sample_texture(texture: Array, points: Array, wrap: bool = False) -> Array:
    """The texture field at points of its frame (trilinear; outside its box zero, or periodic if ``wrap``)."""
    index = ((points - TEXTURE_LOW_MM) / TEXTURE_SPACING_MM).reshape(-1, 3).T
    mode = "grid-wrap" if wrap else "constant"
    values = ndimage.map_coordinates(texture, index, order=1, mode=mode, cval=0.0)
    return np.asarray(values.reshape(points.shape[:-1]), np.float32)


def femur_fields(
    points_mm: Array,
    shape: FemurShape,
    density: FemurDensity,
    placement: FemurPlacement,
    texture: Array,
    voxel_mm: float,
    implant: Implant | None = None,
) -> BoneFields:
    """Occupancy and mineral density of the placed femur at world points (mm), with its implant if any."""
    frame = femur_frame(shape)
    points = canonical_points(points_mm, placement)
    distance = femur_surface(points, shape, frame)
    occupancy = shapes.occupancy(distance, voxel_mm)
    mineral = np.zeros(distance.shape, np.float32)
    cavity = np.zeros(distance.shape, np.float32)
    inside = occupancy > 0
    p, d = points[inside], distance[inside]
    thickness = cortical_thickness_mm(p, shape, frame, density)
    interior = shapes.occupancy(d + thickness, voxel_mm)
    cortex = occupancy[inside] - interior
    canal = _shaft_weight(p, frame, 45.0, 75.0)
    grain = 1.0 + density.texture_contrast * sample_texture(texture, p)
    trabecular = density.trabecular_mg_cm3 * trabecular_pattern(p, shape, frame) * np.clip(grain, 0.0, None)
    mineral[inside] = cortex * density.cortical_mg_cm3 + interior * (1.0 - canal) * trabecular
    cavity[inside] = interior * canal
    fields = BoneFields(occupancy, mineral, cavity)
    return fields if implant is None else _with_implant(fields, points, shape, frame, implant, voxel_mm)


def _with_implant(
    fields: BoneFields, points: Array, shape: FemurShape, frame: FemurFrame, implant: Implant, voxel_mm: float
) -> BoneFields:
    """Remove the resected bone, then let metal replace the bone it occupies."""
    keep = np.ones(points.shape[:-1], np.float32)
    cut = resection_mm(points, implant, frame)
    if cut is not None:
        keep = shapes.occupancy(cut, voxel_mm)
    metal = {
        name: shapes.occupancy(sdf.evaluate(points, parts), voxel_mm)
        for name, parts in metal_parts(implant, shape, frame).items()
    }
    for occupancy in metal.values():
        keep = keep * (1.0 - occupancy)
    return BoneFields(
        fields.occupancy * keep, fields.mineral_mg_cm3 * keep, fields.marrow_cavity * keep, metal
    )
