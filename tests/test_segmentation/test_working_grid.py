from __future__ import annotations

import numpy as np
from scipy import ndimage

from hipbmd.segmentation.working_grid import to_native, to_working, voxel_sizes_mm, working_grid
from hipbmd.types import Volume


def sphere_volume(spacing: tuple[float, float, float], radius_mm: float) -> Volume:
    shape = (60, 60, 40)
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = [-30 * spacing[0], -30 * spacing[1], -20 * spacing[2]]
    world = np.stack(np.indices(shape), -1) * np.array(spacing) + affine[:3, 3]
    inside = np.linalg.norm(world, axis=-1) <= radius_mm
    return Volume(inside.astype(np.float32), affine, "label")


def test_the_working_grid_is_isotropic_and_starts_at_the_first_voxel() -> None:
    volume = sphere_volume((0.8, 0.8, 1.5), 15.0)
    grid = working_grid(volume, 2.0)
    assert np.allclose(voxel_sizes_mm(grid.affine), 2.0)
    assert np.allclose(grid.affine[:3, 3], volume.affine[:3, 3])
    # the last working voxel lies inside the native field of view
    last = grid.affine @ np.array([*(np.array(grid.shape) - 1), 1.0])
    native_last = volume.affine @ np.array([*(np.array(volume.array.shape) - 1), 1.0])
    assert np.all(last[:3] <= native_last[:3] + 1e-9)


def test_a_sphere_survives_the_round_trip_through_the_working_grid() -> None:
    volume = sphere_volume((0.8, 0.8, 1.5), 15.0)
    grid = working_grid(volume, 2.0)
    fraction = to_working(volume.array, grid)
    world_volume_ml = fraction.sum() * 8.0 / 1000.0
    assert abs(world_volume_ml - 4 / 3 * np.pi * 15.0**3 / 1000.0) < 0.03 * 14.1
    back = to_native(fraction, grid) > 0.5
    truth = volume.array > 0.5
    dice = 2 * (back & truth).sum() / (back.sum() + truth.sum())
    assert dice > 0.97


def test_to_working_keeps_the_centre_of_mass_in_world_coordinates() -> None:
    volume = sphere_volume((0.8, 0.8, 1.5), 10.0)
    grid = working_grid(volume, 2.0)
    centre = grid.affine @ np.array([*ndimage.center_of_mass(to_working(volume.array, grid)), 1.0])
    assert np.allclose(centre[:3], 0.0, atol=0.2)
