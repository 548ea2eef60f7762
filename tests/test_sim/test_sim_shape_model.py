"""The shape_model anatomy source: converted gias2 femur and pelvis, mesh signed distance, region draws."""

from __future__ import annotations

import numpy as np

from hipbmd.sim.femur_mesh_fit import fit_sphere, measure_femur
from hipbmd.sim.femur_shape_model import (
    HELD_OUT_MODES,
    TRAINING_LIMIT_SD,
    draw_mode_weights,
    draw_shape_model_femurs,
    load_femur_model,
)
from hipbmd.sim.grid import Grid
from hipbmd.sim.mesh_distance import mesh_distance
from hipbmd.sim.pelvis_mesh import load_pelvis_mesh


def icosphere(radius_mm: float, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """A subdivided icosahedron on a sphere, outward triangles."""
    t = (1.0 + 5.0**0.5) / 2.0
    corners = [(-1, t, 0), (1, t, 0), (-1, -t, 0), (1, -t, 0), (0, -1, t), (0, 1, t)]
    corners += [(0, -1, -t), (0, 1, -t), (t, 0, -1), (t, 0, 1), (-t, 0, -1), (-t, 0, 1)]
    faces = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4), (11, 10, 2)]
    faces += [(10, 7, 6), (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8), (3, 8, 9), (4, 9, 5)]
    faces += [(2, 4, 11), (6, 2, 10), (8, 6, 7), (9, 8, 1)]
    points = [np.asarray(c, float) / np.linalg.norm(c) for c in corners]
    for _ in range(levels):
        middle: dict[tuple[int, int], int] = {}

        def mid(a: int, b: int, middle: dict[tuple[int, int], int] = middle) -> int:
            key = (min(a, b), max(a, b))
            if key not in middle:
                m = points[a] + points[b]
                points.append(m / np.linalg.norm(m))
                middle[key] = len(points) - 1
            return middle[key]

        finer = []
        for a, b, c in faces:
            ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
            finer += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
        faces = finer
    return np.asarray(points) * radius_mm, np.asarray(faces, np.int32)


def test_mesh_distance_of_an_icosphere_matches_the_sphere() -> None:
    vertices, triangles = icosphere(20.0, 4)
    centre = np.array([1.3, 0.2, -0.7])
    grid = Grid.covering((-30.0, -30.0, -30.0), (30.0, 30.0, 30.0), (1.0, 1.0, 1.0))
    distance = mesh_distance(vertices + centre, triangles, grid)
    points = np.random.default_rng(0).uniform(-28.0, 28.0, (4000, 3)).astype(np.float32)
    true = np.linalg.norm(points - centre, axis=1) - 20.0
    error = distance(points) - true
    assert np.abs(error[np.abs(true) < 3.0]).max() < 0.3
    assert np.abs(error).max() < 1.0
    assert np.all(np.sign(distance(points))[np.abs(true) > 1.0] == np.sign(true)[np.abs(true) > 1.0])


def test_the_converted_mean_femur_has_adult_proportions() -> None:
    model = load_femur_model()
    measures = measure_femur(model.mean_mm)
    assert 20.0 <= measures.head.radius_mm <= 27.0
    assert 120.0 <= measures.neck_shaft_angle_deg <= 140.0
    assert 350.0 < np.ptp(model.mean_mm[:, 2]) < 500.0  # a whole femur's length
    assert model.modes.shape == (len(model.mode_sd_mm), *model.mean_mm.shape)


def test_training_draws_stay_within_two_sd_and_held_out_draws_leave_it() -> None:
    rng = np.random.default_rng(5)
    for _ in range(50):
        training = draw_mode_weights(rng, 25, "training")
        held_out = draw_mode_weights(rng, 25, "held-out")
        assert np.abs(training).max() <= TRAINING_LIMIT_SD
        beyond = np.abs(held_out) > TRAINING_LIMIT_SD
        assert beyond.sum() == 1 and beyond[:HELD_OUT_MODES].any()


def test_the_same_seed_draws_the_same_femurs() -> None:
    first = draw_shape_model_femurs(np.random.default_rng(11), 1.02, "training")
    second = draw_shape_model_femurs(np.random.default_rng(11), 1.02, "training")
    other = draw_shape_model_femurs(np.random.default_rng(12), 1.02, "training")
    assert first == second
    assert first != other


def test_the_placed_pelvis_has_its_acetabula_on_the_hips() -> None:
    pelvis = load_pelvis_mesh()
    for side in ("right", "left"):
        assert 20.0 < pelvis.acetabula[side].radius_mm < 30.0
    half = pelvis.half_distance_for_socket_mm(25.0)
    placed = pelvis.placed(half)
    radii = []
    for side, sign in (("right", 1.0), ("left", -1.0)):
        found = pelvis.acetabula[side]
        bone = pelvis.bones[f"hip_{side}"].vertices_mm
        cup = np.abs(np.linalg.norm(bone - found.centre_mm, axis=1) - found.radius_mm) < 2.5
        placed_cup = fit_sphere(placed[f"hip_{side}"].vertices_mm[cup])
        assert np.allclose(placed_cup.centre_mm, [sign * half, 0.0, 0.0], atol=0.5)
        radii.append(placed_cup.radius_mm)
    assert abs(np.mean(radii) - 25.0) < 0.3  # the sockets, on average, fit the head plus joint space
