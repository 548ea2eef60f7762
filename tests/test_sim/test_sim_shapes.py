"""Signed-distance shapes: compiled programs agree with the numpy primitives; voxel grids and their boxes."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from hipbmd.sim import sdf_program as sdf
from hipbmd.sim import shapes
from hipbmd.sim.femur_bone import femur_parts
from hipbmd.sim.femur_shape import FemurShape, femur_frame
from hipbmd.sim.grid import Grid, index_points, near_voxels

Array = npt.NDArray[np.float32]
TOLERANCE_MM = 1e-4


def _points_in(part: sdf.Part, count: int, rng: np.random.Generator) -> Array:
    """Random points inside the box where the compiled program evaluates ``part``."""
    low = np.asarray(part.low_mm) - part.blend_mm
    high = np.asarray(part.high_mm) + part.blend_mm
    return rng.uniform(low, high, (count, 3)).astype(np.float32)


def _rotation(rng: np.random.Generator) -> npt.NDArray[np.float64]:
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    return np.asarray(q * np.sign(np.diag(r)), np.float64)


def _numpy_shape(part: sdf.Part):  # type: ignore[no-untyped-def]
    """The numpy reference of a compiled part, as a function of points."""
    p = np.asarray(part.parameters)
    if part.kind == sdf.SPHERE:
        return lambda x: shapes.sphere(x, p[:3], p[3])
    if part.kind == sdf.ELLIPSOID:
        return lambda x: shapes.ellipsoid(x, p[:3], p[3:12].reshape(3, 3), p[12:15])
    if part.kind == sdf.CAPSULE:
        return lambda x: shapes.tapered_capsule(x, p[:3], p[3:6], p[6], p[7], p[8], p[9:12])
    raise ValueError(part.kind)


def _exact_union(points: Array, parts: list[sdf.Part]) -> Array:
    """The smooth union of the parts evaluated everywhere (no bounding boxes)."""
    distance = _numpy_shape(parts[0])(points)
    for part in parts[1:]:
        distance = shapes.smooth_union(distance, _numpy_shape(part)(points), part.blend_mm)
    return distance


def test_compiled_sphere_matches_numpy(rng: np.random.Generator) -> None:
    part = sdf.sphere((3.0, -2.0, 5.0), 12.0)
    points = _points_in(part, 5000, rng)
    expected = shapes.sphere(points, (3.0, -2.0, 5.0), 12.0)
    np.testing.assert_allclose(sdf.evaluate(points, [part]), expected, atol=TOLERANCE_MM)


def test_compiled_ellipsoid_matches_numpy(rng: np.random.Generator) -> None:
    axes = _rotation(rng)
    part = sdf.ellipsoid((10.0, 4.0, -7.0), axes, (20.0, 9.0, 14.0))
    points = _points_in(part, 5000, rng)
    expected = shapes.ellipsoid(points, (10.0, 4.0, -7.0), axes, (20.0, 9.0, 14.0))
    np.testing.assert_allclose(sdf.evaluate(points, [part]), expected, atol=TOLERANCE_MM)


@pytest.mark.parametrize("flattening", [1.0, 0.7])
def test_compiled_tapered_capsule_matches_numpy(flattening: float, rng: np.random.Generator) -> None:
    start, end, flat = (0.0, 0.0, 0.0), (30.0, 10.0, -40.0), (1.0, 0.3, 0.2)  # flat not ⟂ to the axis
    part = sdf.capsule(start, end, 10.0, 6.0, flattening=flattening, flat_direction=flat)
    points = _points_in(part, 5000, rng)
    expected = shapes.tapered_capsule(points, start, end, 10.0, 6.0, flattening, flat)
    np.testing.assert_allclose(sdf.evaluate(points, [part]), expected, atol=TOLERANCE_MM)


def test_flattening_squeezes_the_cross_section_along_its_direction() -> None:
    part = sdf.capsule(
        (0.0, 0.0, 0.0), (0.0, 0.0, 50.0), 10.0, 10.0, flattening=0.5, flat_direction=(0, 1, 0)
    )
    points = np.array([[10.0, 0.0, 25.0], [0.0, 5.0, 25.0], [0.0, 10.0, 25.0]], np.float32)
    distance = sdf.evaluate(points, [part])
    # surface at 10 mm across the flattening, at 0.5·10 mm along it; beyond, distances scale by 1/0.5
    np.testing.assert_allclose(distance, [0.0, 0.0, 10.0], atol=TOLERANCE_MM)


def _union_parts(rng: np.random.Generator) -> list[sdf.Part]:
    return [
        sdf.capsule((0.0, 0.0, -60.0), (0.0, 0.0, 10.0), 12.0, 14.0),
        sdf.sphere((0.0, 5.0, 25.0), 16.0, blend_mm=6.0),
        sdf.ellipsoid((18.0, 0.0, 0.0), _rotation(rng), (14.0, 8.0, 10.0), blend_mm=4.0),
        sdf.capsule((-5.0, 0.0, 5.0), (-30.0, 5.0, -10.0), 6.0, 4.0, 3.0, 0.8, (0.0, 1.0, 0.0)),
    ]


def test_compiled_union_matches_numpy_blended_union(rng: np.random.Generator) -> None:
    parts = _union_parts(rng)
    points = rng.uniform((-60.0, -40.0, -90.0), (60.0, 40.0, 60.0), (40000, 3)).astype(np.float32)
    reference = shapes.blended_union(
        points,
        [((np.asarray(p.low_mm), np.asarray(p.high_mm)), _numpy_shape(p), p.blend_mm) for p in parts],
    )
    np.testing.assert_allclose(sdf.evaluate(points, parts), reference, atol=TOLERANCE_MM)


def test_compiled_union_is_the_smooth_union_where_every_box_applies(rng: np.random.Generator) -> None:
    parts = _union_parts(rng)
    points = rng.uniform((-60.0, -40.0, -90.0), (60.0, 40.0, 60.0), (40000, 3)).astype(np.float32)
    rows = sdf.compile_program(parts)
    in_all = np.all([np.all((points >= r[2:5]) & (points <= r[5:8]), axis=1) for r in rows], axis=0)
    assert in_all.sum() > 100
    exact = _exact_union(points[in_all], parts)
    np.testing.assert_allclose(sdf.evaluate(points[in_all], parts), exact, atol=TOLERANCE_MM)
    # and the blend really melts: the union is below the plain minimum where parts are close
    plain = np.min([_numpy_shape(p)(points[in_all]) for p in parts], axis=0)
    assert np.all(exact <= plain + TOLERANCE_MM) and np.any(exact < plain - 1.0)


def test_compiled_femur_contains_every_point_of_the_exact_smooth_union() -> None:
    shape = FemurShape()
    parts = femur_parts(shape, femur_frame(shape))
    points = np.random.default_rng(5).uniform((-45, -50, -120), (95, 50, 40), (200000, 3)).astype(np.float32)
    exact = _exact_union(points, parts)
    compiled = sdf.evaluate(points, parts)
    lost = (exact < 0) & (compiled >= 0)
    assert lost.sum() == 0, f"{lost.sum()} of {(exact < 0).sum()} inside points lost"


def test_cup_is_the_shell_on_the_closed_side_of_the_rim(rng: np.random.Generator) -> None:
    centre, inner, outer, rim = np.array([5.0, -3.0, 8.0]), 24.0, 30.0, 4.8
    opening = np.array([1.0, -1.0, -1.0]) / np.sqrt(3.0)
    part = sdf.cup(centre, inner, outer, opening, rim)
    points = _points_in(part, 20000, rng)
    distance = sdf.evaluate(points, [part])
    offset = points - centre
    radius, height = np.linalg.norm(offset, axis=1), offset @ opening
    inside = distance < 0
    assert inside.sum() > 1000
    assert np.all(radius[inside] >= inner - 1e-3) and np.all(radius[inside] <= outer + 1e-3)
    assert np.all(height[inside] <= rim + 1e-3)
    in_shell = (radius > inner + 0.1) & (radius < outer - 0.1)
    np.testing.assert_array_equal(inside[in_shell], height[in_shell] < rim)
    # the same shape from numpy primitives: shell = outer ball minus inner ball, cut by the rim plane
    shell = shapes.subtraction(shapes.sphere(points, centre, outer), shapes.sphere(points, centre, inner))
    expected = shapes.intersection(shell, shapes.slab(points, centre + rim * opening, opening))
    np.testing.assert_allclose(distance, expected, atol=TOLERANCE_MM)


def test_occupancy_is_full_inside_empty_outside_and_half_on_the_surface() -> None:
    distance = np.array([-10.0, -0.75, 0.0, 0.25, 0.75, 10.0], np.float32)
    np.testing.assert_allclose(shapes.occupancy(distance, 1.5), [1.0, 1.0, 0.5, 1 / 3, 0.0, 0.0], atol=1e-6)


@pytest.mark.parametrize("offset", [-0.4, -0.1, 0.0, 0.2, 0.45])
def test_occupancy_is_the_voxel_fraction_behind_an_axis_aligned_plane(offset: float) -> None:
    voxel = 2.0
    # sub-sample one voxel centred at 0; the plane x = offset·voxel; inside is x < plane
    ticks = (np.arange(200) + 0.5) / 200 * voxel - voxel / 2
    fraction = float(np.mean(ticks < offset * voxel))
    distance = np.float32(-offset * voxel)  # the voxel centre's signed distance to the plane's inside
    assert float(shapes.occupancy(np.array([distance]), voxel)[0]) == pytest.approx(fraction, abs=0.01)


def test_sum_of_bands_equals_the_gaussian_sum(rng: np.random.Generator) -> None:
    bands = [
        sdf.band((0.0, 0.0, 0.0), (30.0, 10.0, -20.0), 4.0, 0.9),
        sdf.band((5.0, 5.0, 5.0), (5.0, 5.0, 5.0), 7.0, -0.45),  # a point
        sdf.band((-10.0, 0.0, 10.0), (-10.0, 20.0, 10.0), 2.5, 0.3),
    ]
    points = rng.uniform(-40.0, 40.0, (3000, 3)).astype(np.float32)
    expected = np.full(len(points), 0.6)
    for b in bands:
        if b.start_mm == b.end_mm:
            d = np.linalg.norm(points - np.asarray(b.start_mm), axis=1)
        else:
            d = shapes.segment_distance(points, b.start_mm, b.end_mm)
        expected += b.amplitude * np.exp(-(d.astype(np.float64) ** 2) / (2 * b.sigma_mm**2))
    np.testing.assert_allclose(sdf.sum_of_bands(points, bands, 0.6), expected, rtol=1e-5, atol=1e-6)


def test_grid_covering_places_voxel_centres_half_a_voxel_in() -> None:
    grid = Grid.covering((0.0, -5.0, 10.0), (10.5, 5.0, 13.0), (2.0, 2.0, 0.5))
    assert grid.shape == (6, 5, 6)  # ceil(10.5 / 2) = 6: the voxels cover the whole box
    assert grid.origin_mm == pytest.approx((1.0, -4.0, 10.25))
    np.testing.assert_allclose(grid.affine @ [5, 4, 5, 1], [11.0, 4.0, 12.75, 1.0])
    assert grid.voxel_mm == pytest.approx((2.0 * 2.0 * 0.5) ** (1 / 3))
    degenerate = Grid.covering((0.0, 0.0, 0.0), (0.0, 1.0, 1.0), (1.0, 1.0, 1.0))
    assert degenerate.shape == (1, 1, 1)


def test_grid_points_are_the_affine_of_the_indices() -> None:
    grid = Grid((7, 5, 4), (1.5, 0.8, 2.0), (-3.0, 10.0, -1.0))
    box = (slice(2, 6), slice(0, 5), slice(1, 3))
    points = grid.points(box)
    assert points.shape == (4, 5, 2, 3)
    i, j, k = 3, 4, 1  # box-relative voxel → grid voxel (5, 4, 2)
    np.testing.assert_allclose(points[i, j, k], (grid.affine @ [5, 4, 2, 1])[:3], atol=1e-5)
    index = (np.array([5, 0]), np.array([4, 1]), np.array([2, 3]))
    np.testing.assert_allclose(index_points(grid, index), [[4.5, 13.2, 3.0], [-3.0, 10.8, 5.0]], atol=1e-5)


@pytest.mark.parametrize(
    ("low", "high"),
    [((-1.0, 10.5, 0.0), (4.6, 12.9, 3.0)), ((-100.0, -100.0, -100.0), (100.0, 100.0, 100.0))],
)
def test_grid_box_holds_exactly_the_voxels_with_centres_inside(
    low: tuple[float, float, float], high: tuple[float, float, float]
) -> None:
    grid = Grid((7, 5, 4), (1.5, 0.8, 2.0), (-3.0, 10.0, -1.0))
    full = grid.points((slice(0, 7), slice(0, 5), slice(0, 4)))
    inside = np.all((full >= np.asarray(low, np.float32)) & (full <= np.asarray(high, np.float32)), axis=-1)
    expected = np.zeros(grid.shape, bool)
    expected[grid.box(low, high)] = True
    np.testing.assert_array_equal(expected, inside)


def test_grid_box_outside_the_grid_is_empty() -> None:
    grid = Grid((7, 5, 4), (1.5, 0.8, 2.0), (-3.0, 10.0, -1.0))
    box = grid.box((50.0, 0.0, 0.0), (60.0, 20.0, 5.0))
    assert any(s.stop <= s.start for s in box)


@pytest.mark.parametrize("reach_mm", [0.0, 2.0])
def test_near_voxels_keeps_every_voxel_the_shape_reaches(reach_mm: float) -> None:
    grid = Grid((61, 53, 47), (1.5, 2.0, 1.2), (-45.0, -50.0, -28.0))
    box = (slice(3, 58), slice(2, 51), slice(1, 46))  # sizes 55, 49, 45: not multiples of the block

    def distance(points: Array) -> Array:
        ball = shapes.sphere(points, (2.0, -3.0, 1.0), 6.0)
        rod = shapes.tapered_capsule(points, (-10.0, -10.0, -5.0), (-4.0, 8.0, 6.0), 2.0, 1.5)
        return np.minimum(ball, rod)

    kept = near_voxels(grid, box, distance, reach_mm=reach_mm, block=4)
    mask = np.zeros(grid.shape, bool)
    mask[kept] = True
    assert len(kept[0]) == mask.sum(), "a voxel is listed twice"
    outside_box = mask.copy()
    outside_box[box] = False
    assert not outside_box.any()
    brute = np.zeros(grid.shape, bool)
    brute[box] = distance(grid.points(box)) < reach_mm
    assert brute.sum() > 50
    assert not (brute & ~mask).any(), "a voxel the shape reaches was dropped"
    # and it is a pruning: far voxels go, none kept is further than two block diagonals plus the reach
    diagonal = float(np.linalg.norm(np.asarray(grid.spacing_mm) * 4))
    assert mask.sum() < 0.25 * mask[box].size
    assert distance(index_points(grid, kept)).max() < 2 * diagonal + reach_mm
