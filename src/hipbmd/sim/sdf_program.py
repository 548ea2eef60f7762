"""Compiled evaluation of shapes built from primitives: a "program" of rows run per point with numba.

A program is a list of :class:`Part` rows. Each row is one primitive (sphere, ellipsoid, tapered capsule
with an optional oval cross-section, or an acetabular cup) with a bounding box and a blend distance; the
shape is their running smooth union (the first row's blend is ignored). Points outside a row's box skip
it, so a bone costs about one primitive per point. The numpy versions in :mod:`hipbmd.sim.shapes` are
the reference the tests compare against.

A second kind of program sums Gaussian "bands" around segments (amplitude·exp(−d²/2σ²)), which is how the
trabecular density pattern is described.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float32]
FAR_MM = 1.0e3
SPHERE, ELLIPSOID, CAPSULE, CUP = 0, 1, 2, 3
ROW = 32  # kind, blend, box (6), parameters (24)


@dataclass(frozen=True)
class Part:
    """One primitive of a program.

    Attributes:
        kind: SPHERE, ELLIPSOID, CAPSULE or CUP.
        parameters: the primitive's numbers (see the ``sphere``/``ellipsoid``/``capsule``/``cup`` helpers).
        low_mm, high_mm: bounding box outside which the part is not evaluated (grown by the blend).
        blend_mm: smooth-union distance with the parts before it.
    """

    kind: int
    parameters: tuple[float, ...]
    low_mm: tuple[float, float, float]
    high_mm: tuple[float, float, float]
    blend_mm: float = 0.0


def _box(
    centre: npt.ArrayLike, reach: float
) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    c = np.asarray(centre, np.float64)
    low, high = c - reach, c + reach
    return (float(low[0]), float(low[1]), float(low[2])), (float(high[0]), float(high[1]), float(high[2]))


def _floats(*values: npt.ArrayLike) -> tuple[float, ...]:
    return tuple(float(v) for v in np.concatenate([np.ravel(np.asarray(v, np.float64)) for v in values]))


def sphere(centre_mm: npt.ArrayLike, radius_mm: float, blend_mm: float = 0.0) -> Part:
    """A ball."""
    return Part(SPHERE, _floats(centre_mm, radius_mm), *_box(centre_mm, radius_mm + blend_mm), blend_mm)


def ellipsoid(
    centre_mm: npt.ArrayLike, axes: npt.ArrayLike, semi_axes_mm: npt.ArrayLike, blend_mm: float = 0.0
) -> Part:
    """An ellipsoid with orthonormal ``axes`` (rows) and semi-axes (mm)."""
    reach = float(np.max(semi_axes_mm)) + blend_mm
    return Part(ELLIPSOID, _floats(centre_mm, axes, semi_axes_mm), *_box(centre_mm, reach), blend_mm)


def capsule(
    start_mm: npt.ArrayLike,
    end_mm: npt.ArrayLike,
    start_radius_mm: float,
    end_radius_mm: float,
    blend_mm: float = 0.0,
    flattening: float = 1.0,
    flat_direction: npt.ArrayLike = (1.0, 0.0, 0.0),
) -> Part:
    """A segment swept by a linearly varying radius; ``flattening`` < 1 squeezes it along ``flat_direction``.

    The flattening makes an oval cross-section, such as the femoral neck's.
    """
    start, end = np.asarray(start_mm, np.float64), np.asarray(end_mm, np.float64)
    axis = (end - start) / np.linalg.norm(end - start)
    flat = np.asarray(flat_direction, np.float64)
    flat = flat - (flat @ axis) * axis
    flat /= np.linalg.norm(flat)
    reach = max(start_radius_mm, end_radius_mm) + blend_mm
    ends = np.stack([start, end])
    low, high = ends.min(axis=0) - reach, ends.max(axis=0) + reach
    return Part(
        CAPSULE,
        _floats(start, end, start_radius_mm, end_radius_mm, flattening, flat),
        (float(low[0]), float(low[1]), float(low[2])),
        (float(high[0]), float(high[1]), float(high[2])),
        blend_mm,
    )


def cup(
    centre_mm: npt.ArrayLike,
    inner_radius_mm: float,
    outer_radius_mm: float,
    opening: npt.ArrayLike,
    rim_offset_mm: float,
    blend_mm: float = 0.0,
) -> Part:
    """A spherical shell cut by a plane: the shell's points with (p − c)·opening < ``rim_offset_mm``."""
    normal = np.asarray(opening, np.float64) / np.linalg.norm(opening)
    return Part(
        CUP,
        _floats(centre_mm, inner_radius_mm, outer_radius_mm, normal, rim_offset_mm),
        *_box(centre_mm, outer_radius_mm + blend_mm),
        blend_mm,
    )


def compile_program(parts: list[Part]) -> npt.NDArray[np.float64]:
    """The parts as a (rows, 32) array for :func:`evaluate`.

    A part's box is grown by the largest blend of the parts after it: a later part melts into the union
    within its blend distance, so every earlier part must be evaluated that far from its surface.
    """
    rows = np.zeros((len(parts), ROW), np.float64)
    blends = [part.blend_mm for part in parts]
    for index, (row, part) in enumerate(zip(rows, parts, strict=True)):
        grow = max([part.blend_mm, *blends[index + 1 :]])
        row[0], row[1] = part.kind, part.blend_mm
        row[2:5] = np.asarray(part.low_mm) - grow
        row[5:8] = np.asarray(part.high_mm) + grow
        row[8 : 8 + len(part.parameters)] = part.parameters
    return rows


def evaluate(points_mm: Array, parts: list[Part]) -> Array:
    """Signed distance (mm) of the program's shape at points (..., 3)."""
    flat = np.ascontiguousarray(points_mm.reshape(-1, 3), dtype=np.float32)
    out = _evaluate(flat, compile_program(parts))
    return out.reshape(points_mm.shape[:-1])


@numba.njit(cache=True, inline="always")
def _primitive(row: npt.NDArray[np.float64], x: float, y: float, z: float) -> float:
    kind = int(row[0])
    p = row[8:]
    if kind == SPHERE:
        return float(np.sqrt((x - p[0]) ** 2 + (y - p[1]) ** 2 + (z - p[2]) ** 2) - p[3])
    if kind == ELLIPSOID:
        dx, dy, dz = x - p[0], y - p[1], z - p[2]
        k0 = 0.0
        k1 = 0.0
        for a in range(3):
            local = dx * p[3 + 3 * a] + dy * p[4 + 3 * a] + dz * p[5 + 3 * a]
            scaled = local / p[12 + a]
            k0 += scaled * scaled
            k1 += (scaled / p[12 + a]) ** 2
        k0, k1 = np.sqrt(k0), np.sqrt(k1)
        return float(k0 * (k0 - 1.0) / max(k1, 1e-6))
    if kind == CAPSULE:
        ax, ay, az = p[3] - p[0], p[4] - p[1], p[5] - p[2]
        length = np.sqrt(ax * ax + ay * ay + az * az)
        ax, ay, az = ax / length, ay / length, az / length
        dx, dy, dz = x - p[0], y - p[1], z - p[2]
        along = min(max(dx * ax + dy * ay + dz * az, 0.0), length)
        rx, ry, rz = dx - along * ax, dy - along * ay, dz - along * az
        flattening = p[8]
        if flattening != 1.0:
            across = rx * p[9] + ry * p[10] + rz * p[11]
            stretch = (1.0 / flattening - 1.0) * across
            rx, ry, rz = rx + stretch * p[9], ry + stretch * p[10], rz + stretch * p[11]
        radius = p[6] + (p[7] - p[6]) * along / length
        return float(np.sqrt(rx * rx + ry * ry + rz * rz) - radius)
    # CUP: shell between the radii, on the closed side of the rim plane
    dx, dy, dz = x - p[0], y - p[1], z - p[2]
    r = np.sqrt(dx * dx + dy * dy + dz * dz)
    shell = max(r - p[4], p[3] - r)
    plane = dx * p[5] + dy * p[6] + dz * p[7] - p[8]
    return float(max(shell, plane))


@numba.njit(cache=True, parallel=True)
def _evaluate(points: npt.NDArray[np.float32], rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    out = np.empty(points.shape[0], np.float32)
    for n in numba.prange(points.shape[0]):
        x, y, z = float(points[n, 0]), float(points[n, 1]), float(points[n, 2])
        distance = FAR_MM
        for i in range(rows.shape[0]):
            row = rows[i]
            if x < row[2] or y < row[3] or z < row[4] or x > row[5] or y > row[6] or z > row[7]:
                part = FAR_MM
            else:
                part = _primitive(row, x, y, z)
            blend = row[1]
            if i == 0 or blend <= 0.0:
                distance = min(distance, part)
            else:
                h = min(max(0.5 + 0.5 * (part - distance) / blend, 0.0), 1.0)
                distance = part * (1.0 - h) + distance * h - blend * h * (1.0 - h)
        out[n] = distance
    return out


@dataclass(frozen=True)
class Band:
    """A Gaussian band around a segment: ``amplitude``·exp(−d²/2σ²), d the distance to the segment (mm)."""

    start_mm: tuple[float, float, float]
    end_mm: tuple[float, float, float]
    sigma_mm: float
    amplitude: float


def band(start_mm: npt.ArrayLike, end_mm: npt.ArrayLike, sigma_mm: float, amplitude: float) -> Band:
    """A band (a point when start = end)."""
    s, e = np.asarray(start_mm, np.float64), np.asarray(end_mm, np.float64)
    return Band(
        (float(s[0]), float(s[1]), float(s[2])), (float(e[0]), float(e[1]), float(e[2])), sigma_mm, amplitude
    )


def sum_of_bands(points_mm: Array, bands: list[Band], base: float) -> Array:
    """``base`` plus the sum of the bands at points (N, 3)."""
    rows = np.array([[*b.start_mm, *b.end_mm, b.sigma_mm, b.amplitude] for b in bands], np.float64)
    flat = np.ascontiguousarray(points_mm.reshape(-1, 3), dtype=np.float32)
    return _sum_of_bands(flat, rows, base).reshape(points_mm.shape[:-1])


@numba.njit(cache=True, parallel=True)
def _sum_of_bands(
    points: npt.NDArray[np.float32], rows: npt.NDArray[np.float64], base: float
) -> npt.NDArray[np.float32]:
    out = np.empty(points.shape[0], np.float32)
    for n in numba.prange(points.shape[0]):
        x, y, z = float(points[n, 0]), float(points[n, 1]), float(points[n, 2])
        total = base
        for i in range(rows.shape[0]):
            r = rows[i]
            ax, ay, az = r[3] - r[0], r[4] - r[1], r[5] - r[2]
            dx, dy, dz = x - r[0], y - r[1], z - r[2]
            length2 = ax * ax + ay * ay + az * az
            t = 0.0
            if length2 > 0.0:
                t = min(max((dx * ax + dy * ay + dz * az) / length2, 0.0), 1.0)
            ex, ey, ez = dx - t * ax, dy - t * ay, dz - t * az
            total += r[7] * np.exp(-(ex * ex + ey * ey + ez * ez) / (2.0 * r[6] * r[6]))
        out[n] = total
    return out
