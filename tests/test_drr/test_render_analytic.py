"""The exact renderer against analytic answers: voxel, box, sphere, cylinder, units, limits."""

from __future__ import annotations

import numpy as np
import pytest
from phantoms import box, cylinder_z, grid, sphere

from hipbmd.drr.geometry import PoseParameters, project_points
from hipbmd.drr.reference import siddon_reference
from hipbmd.drr.render import Projector, hu_to_attenuation, render, render_channels
from hipbmd.drr.siddon import integrate_rays
from hipbmd.types import Camera, Volume


def _ap(shape=(64, 64), spacing=(1.0, 1.0), sdd=1200.0, sod=1000.0, projection="perspective", **pose):  # type: ignore[no-untyped-def]
    return Camera(
        shape, spacing, sdd, projection=projection, pose=PoseParameters(sod_mm=sod, **pose).to_pose()
    )


def test_one_unit_voxel_integrates_to_its_path_length() -> None:
    volume = np.ones((1, 1, 1), np.float32)
    affine = np.eye(4)
    straight = integrate_rays(volume, affine, np.array([[-3.0, 0, 0]]), np.array([[3.0, 0, 0]]))
    diagonal = integrate_rays(volume, affine, np.array([[-1.5, -1.5, -1.5]]), np.array([[1.5, 1.5, 1.5]]))
    assert straight[0] == pytest.approx(1.0)
    assert diagonal[0] == pytest.approx(np.sqrt(3.0))


def test_density_units_give_grams_per_square_centimetre() -> None:
    # 1000 mg/cm³ through 10 mm = 1 g/cm³ × 1 cm = 1 g/cm².
    volume = box((10, 10, 10), 1.0, density=1000.0)
    image = render(volume, _ap(shape=(4, 4), projection="parallel")).images[0]
    assert image[1:3, 1:3] == pytest.approx(1.0, rel=1e-6)


def test_oblique_rays_through_a_box_match_slab_chords() -> None:
    volume = box((12, 9, 7), 2.0, density=1.0)
    volume = Volume(volume.array, volume.affine, "1/mm")
    half = np.array([12, 9, 7]) * 2.0 / 2
    rng = np.random.default_rng(3)
    starts = rng.uniform(-60, 60, (200, 3))
    ends = rng.uniform(-60, 60, (200, 3))
    got = integrate_rays(volume.array, np.linalg.inv(volume.affine), starts, ends)
    for start, end, value in zip(starts, ends, got, strict=True):
        delta = end - start
        with np.errstate(divide="ignore", invalid="ignore"):
            t0, t1 = (-half - start) / delta, (half - start) / delta
        enter = max(0.0, np.nanmax(np.minimum(t0, t1)))
        leave = min(1.0, np.nanmin(np.maximum(t0, t1)))
        assert value == pytest.approx(max(0.0, leave - enter) * np.linalg.norm(delta), abs=1e-9)


def test_agrees_with_the_independent_siddon_reference() -> None:
    rng = np.random.default_rng(7)
    values = rng.uniform(0, 2, (9, 11, 6)).astype(np.float32)
    affine = np.array([[0.7, 0.1, 0, -3], [0, 0.9, 0.2, 2], [0.1, 0, 1.3, -1], [0, 0, 0, 1.0]])
    starts, ends = rng.uniform(-15, 15, (100, 3)), rng.uniform(-15, 15, (100, 3))
    fast = integrate_rays(values, np.linalg.inv(affine), starts, ends)
    slow = [siddon_reference(values, affine, s, e) for s, e in zip(starts, ends, strict=True)]
    assert fast == pytest.approx(slow, rel=1e-9, abs=1e-9)


def test_channels_rendered_together_equal_each_rendered_alone() -> None:
    rng = np.random.default_rng(11)
    arrays = [rng.uniform(0, 900, (13, 10, 17)).astype(np.float32) for _ in range(3)]
    arrays = [np.pad(a, ((3, 2), (0, 4), (1, 0))) for a in arrays]  # zero columns, cropped before tracing
    affine = np.array([[0.9, 0.1, 0, -6], [0, 1.1, 0.2, -5], [0.1, 0, 0.8, -7], [0, 0, 0, 1.0]])
    camera = _ap(shape=(24, 20), spacing=(0.6, 0.6), rotation_deg=(4.0, -7.0, 3.0))
    together = render_channels(arrays, affine, camera)
    alone = [render(Volume(a, affine, "mg/cm3"), camera).images[0] for a in arrays]
    assert together.shape == (3, 24, 20)
    assert together.max() > 0
    np.testing.assert_allclose(together, np.stack(alone), rtol=1e-6, atol=1e-9)


def test_uniform_sphere_chords_and_mass() -> None:
    radius, spacing = 10.0, 0.25
    ball = sphere(radius, spacing, density=1000.0)
    camera = _ap(shape=(81, 81), spacing=(0.5, 0.5), projection="parallel")
    image = render(ball, camera).images[0]  # g/cm²; 1000 mg/cm³ → 0.1 g/cm² per mm
    rows, cols = np.meshgrid(np.arange(81) - 40.0, np.arange(81) - 40.0, indexing="ij")
    impact = 0.5 * np.hypot(rows, cols)
    chord_mm = 2 * np.sqrt(np.clip(radius**2 - impact**2, 0, None))
    # A voxelised chord differs from the true one by less than a voxel at each end.
    assert np.abs(image - 0.1 * chord_mm).max() <= 0.1 * 2 * spacing
    mass_g = image.sum() * (0.05 * 0.05)  # g/cm² × pixel area cm²
    assert mass_g == pytest.approx(1.0 * 4 / 3 * np.pi * (radius / 10) ** 3, rel=0.01)


def test_uniform_cylinder_profile() -> None:
    radius = 8.0
    rod = cylinder_z(radius, 20.0, 0.2)
    image = render(rod, _ap(shape=(9, 61), spacing=(0.4, 0.4), projection="parallel")).images[0]
    impact = 0.4 * np.abs(np.arange(61) - 30.0)  # rays through voxel centres
    chord = 2 * np.sqrt(np.clip(radius**2 - impact**2, 0, None))
    assert np.abs(image[4] - 0.1 * chord).max() <= 0.1 * 2 * 0.2
    assert np.allclose(image[4], image[2])  # constant along the axis


def test_perspective_tends_to_parallel_as_the_source_recedes() -> None:
    ball = sphere(6.0, 0.5)
    parallel = render(ball, _ap(shape=(33, 33), spacing=(0.5, 0.5), projection="parallel")).images[0]
    errors = []
    for sdd in (500.0, 5_000.0, 50_000.0):
        camera = _ap(shape=(33, 33), spacing=(0.5, 0.5), sdd=sdd, sod=sdd - 20.0)
        image = render(ball, camera).images[0]
        errors.append(np.abs(image - parallel).max())
    assert errors[0] > errors[1] > errors[2] and errors[2] < 0.01 * parallel.max()


def test_rays_stop_at_the_detector() -> None:
    slab = box((20, 20, 20), 1.0)
    camera = _ap(shape=(5, 5), sdd=1000.0, sod=1005.0)  # the slab centre lies 5 mm past the detector
    image = render(slab, camera).images[0]
    assert image[2, 2] == pytest.approx(0.1 * 5.0, rel=1e-3)  # only the 5 mm in front of the detector


@pytest.mark.parametrize("seed", range(4))
def test_a_bead_renders_where_its_centre_projects(seed: int) -> None:
    rng = np.random.default_rng(seed)
    affine, centres = grid((41, 41, 41), 1.0)
    bead_index = tuple(rng.integers(5, 36, 3))
    values = np.zeros((41, 41, 41), np.float32)
    values[bead_index] = 1.0
    bead = Volume(values, affine, "1/mm")
    camera = _ap(
        shape=(400, 400),
        spacing=(0.1, 0.1),
        sdd=1100.0,
        sod=900.0,
        rotation_deg=tuple(rng.uniform(-15, 15, 3)),
        translation_mm=tuple(rng.uniform(-5, 5, 3)),
    )
    image = render(bead, camera).images[0]
    rows, cols = np.indices(image.shape)
    centroid = np.array([(rows * image).sum(), (cols * image).sum()]) / image.sum()
    projected = project_points(camera, centres[bead_index][None])[0]
    assert np.abs(centroid - projected).max() < 0.05  # pixels
    assert tuple(np.round(centroid)) == tuple(np.round(projected))


def test_label_restriction_and_per_label_images() -> None:
    affine, _centres = grid((30, 30, 30), 1.0)
    values = np.full((30, 30, 30), 500.0, np.float32)
    labels = np.zeros((30, 30, 30), np.int32)
    labels[18:25, 5:25, 5:25] = 89  # +x: the patient's right
    labels[5:12, 5:25, 5:25] = 88
    volume = Volume(values, affine, "mg/cm3")
    label_map = Volume(labels, affine, "label")
    camera = _ap(shape=(40, 40), spacing=(1.0, 1.0))
    whole = Projector(volume, label_map, [88, 89]).render(camera).images[0]
    parts = Projector(volume, label_map, [88, 89], per_label=True).render([camera, camera]).images
    masked = Volume(np.where(labels > 0, values, 0), affine, "mg/cm3")
    assert parts.shape == (2, 2, 40, 40)
    assert np.allclose(parts[0].sum(axis=0), whole, atol=1e-6)
    assert np.allclose(whole, render(masked, camera).images[0], atol=1e-6)
    right_only = parts[0, 1]
    assert right_only[:, :20].sum() > 0 and right_only[:, 21:].sum() == 0  # right femur on viewer's left


def test_hu_is_refused_and_converted_to_attenuation() -> None:
    affine, _ = grid((4, 4, 4), 1.0)
    ct = Volume(
        np.array([-1000.0, 0.0, 1000.0, -2000.0]).repeat(16).reshape(4, 4, 4).astype(np.float32), affine, "HU"
    )
    with pytest.raises(ValueError, match="hu_to_attenuation"):
        Projector(ct)
    mu = hu_to_attenuation(ct, mu_water_per_mm=0.02)
    assert mu.unit == "1/mm"
    assert mu.array[:, 0, 0] == pytest.approx([0.0, 0.02, 0.04, 0.0])
