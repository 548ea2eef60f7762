"""Trilinear resampling on a lattice, one axis at a time, against scipy's affine_transform."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from hipbmd.sim.resampling import linear_on_lattice


def test_matches_scipy_linear_interpolation_with_repeated_edges() -> None:
    rng = np.random.default_rng(5)
    volume = rng.normal(0.0, 100.0, (9, 7, 12)).astype(np.float32)
    positions = [np.linspace(-1.4, 9.3, 13), np.linspace(0.25, 5.75, 4), np.linspace(-0.6, 11.8, 7)]
    expected = ndimage.affine_transform(
        volume,
        [p[1] - p[0] for p in positions],
        [p[0] for p in positions],
        output_shape=tuple(len(p) for p in positions),
        order=1,
        mode="nearest",
    )
    got = linear_on_lattice(volume, positions)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-3)


def test_a_linear_field_is_reproduced_exactly_inside() -> None:
    x, y, z = np.meshgrid(np.arange(6.0), np.arange(5.0), np.arange(4.0), indexing="ij")
    volume = (2.0 * x - 3.0 * y + 0.5 * z).astype(np.float32)
    positions = [np.array([0.5, 2.25, 4.9]), np.array([1.0, 3.5]), np.array([0.0, 2.75])]
    px, py, pz = np.meshgrid(*positions, indexing="ij")
    np.testing.assert_allclose(linear_on_lattice(volume, positions), 2 * px - 3 * py + 0.5 * pz, atol=1e-5)
