"""The appearance perturbations of training views change the look and never the landmarks' place."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from hipbmd.localisation.appearance import (
    AppearanceSettings,
    add_edge,
    occlude,
    perturb_appearance,
    random_curve,
    tone_curve,
    unsharp,
)

SIZE = 64


def _disc_image() -> np.ndarray:
    """A bright disc (a "head") of radius 6 px at (20, 24) on a ramp background."""
    rows, cols = np.mgrid[:SIZE, :SIZE]
    image = 0.3 + 0.004 * cols + 0.5 * (np.hypot(rows - 20, cols - 24) <= 6)
    return image.astype(np.float32)


def _disc_sample() -> tuple[Any, Any]:
    """A tiny localiser config and a training sample of the disc image, its head at the disc."""
    from hipbmd.localisation.data import LocaliserSample
    from hipbmd.localisation.network import LocaliserConfig

    config = LocaliserConfig(channels=(4, 8), pitch_mm=3.0, size=SIZE, sigma_px=2.0)
    landmarks = np.full((len(config.landmarks), 2), np.nan)
    landmarks[0] = (20.0, 24.0)
    image = _disc_image()
    return config, LocaliserSample("disc", image, np.ones_like(image, bool), landmarks, {})


def test_random_curve_is_monotone_from_zero_to_one() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        curve = random_curve(4, rng)
        assert curve[0] == 0.0
        assert curve[-1] == pytest.approx(1.0)
        assert np.all(np.diff(curve) > 0.0)


def test_tone_curve_keeps_grey_level_order_inside_and_outside_the_unit_range() -> None:
    levels = np.linspace(-0.5, 1.5, 201, dtype=np.float32)
    mapped = tone_curve(levels, random_curve(4, np.random.default_rng(2)))
    assert np.all(np.diff(mapped) > 0.0)
    identity = tone_curve(levels, np.linspace(0.0, 1.0, 6))
    np.testing.assert_allclose(identity, levels, atol=1e-6)


def test_unsharp_keeps_flat_regions_and_raises_edge_contrast() -> None:
    image = _disc_image()
    sharpened = unsharp(image, 2.0, 1.0)
    assert sharpened[20, 24] == pytest.approx(image[20, 24], abs=0.02)  # the disc's flat middle
    assert sharpened[20, 29] > image[20, 29]  # just inside the rim: brighter
    assert sharpened[20, 32] < image[20, 32]  # just outside: darker
    assert np.unravel_index(np.argmax(sharpened[:, :40]), (SIZE, 40))[0] in range(14, 27)


def test_occlusions_never_cover_a_head_or_leave_the_valid_area() -> None:
    image = _disc_image()
    valid = np.zeros((SIZE, SIZE), dtype=bool)
    valid[:, :56] = True
    heads = np.array([[20.0, 24.0], [np.nan, np.nan]])
    settings = AppearanceSettings(occlusion=1.0, max_occlusions=3, occlusion_size_px=(10, 30))
    rng = np.random.default_rng(3)
    changed_any = False
    for _ in range(40):
        result, hidden = occlude(image, valid, heads, settings, rng)
        changed = result != image
        changed_any |= bool(changed.any())
        assert np.all(hidden[changed]) and not hidden[~valid].any()
        rows, cols = np.nonzero(changed)
        assert np.all(np.hypot(rows - 20.0, cols - 24.0) >= settings.keep_clear_px - 1.0)
        assert not changed[:, 56:].any()
    assert changed_any


def test_perturbation_is_seeded_and_off_changes_nothing() -> None:
    image = _disc_image()
    valid = np.ones((SIZE, SIZE), dtype=bool)
    heads = np.array([[20.0, 24.0]])
    first = perturb_appearance(image, valid, heads, AppearanceSettings(), np.random.default_rng(4))
    again = perturb_appearance(image, valid, heads, AppearanceSettings(), np.random.default_rng(4))
    np.testing.assert_array_equal(first.image, again.image)
    np.testing.assert_array_equal(first.hidden, again.hidden)
    untouched = perturb_appearance(image, valid, heads, AppearanceSettings.off(), np.random.default_rng(4))
    np.testing.assert_array_equal(untouched.image, image)
    assert not untouched.hidden.any()
    looks = [
        perturb_appearance(image, valid, heads, AppearanceSettings(), np.random.default_rng(s)).image
        for s in range(8)
    ]
    assert sum(not np.array_equal(look, image) for look in looks) >= 5


def test_an_edge_is_a_sharp_step_or_band_of_the_drawn_height_and_a_soft_one_rises_gradually() -> None:
    image = _disc_image()
    settings = AppearanceSettings(edge_step=(0.3, 0.3), edge_rim_px=(0.0, 0.0), band_width_px=(20.0, 20.0))
    kinds = set()
    for seed in range(16):
        added = (add_edge(image, settings, np.random.default_rng(seed)) - image).astype(np.float64)
        levels = np.unique(np.round(added, 3))
        assert len(levels) == 2 and 0.0 in levels and np.isclose(np.abs(levels).max(), 0.3)
        stepped = np.abs(added) > 0.15
        touches_border = stepped[0].any() or stepped[-1].any() or stepped[:, 0].any() or stepped[:, -1].any()
        assert touches_border  # a line across the whole view, never an island
        kinds.add(float(levels[levels != 0.0][0] > 0))
    assert kinds == {0.0, 1.0}  # both signs
    soft = AppearanceSettings(edge_step=(0.3, 0.3), edge_rim_px=(3.0, 3.0))
    smooth = add_edge(image, soft, np.random.default_rng(1)) - image
    assert np.abs(np.diff(smooth, axis=0)).max() < 0.15 and np.abs(np.diff(smooth, axis=1)).max() < 0.15


def test_a_landmark_under_an_occlusion_is_left_out_of_the_loss() -> None:
    pytest.importorskip("torch")
    from hipbmd.localisation.augment import AugmentSettings, RandomViews

    config, sample = _disc_sample()
    sample.landmarks[3] = (50.0, 40.0)  # a point beside the head, far enough for a rectangle to cover
    views = RandomViews([sample], config, AugmentSettings(), seed=0)
    valid = np.ones((SIZE, SIZE), dtype=bool)
    hidden = np.zeros((SIZE, SIZE), dtype=bool)
    points = np.array(sample.landmarks)
    open_weights = views._presence(points, valid, hidden)
    hidden[45:56, 35:46] = True
    covered_weights = views._presence(points, valid, hidden)
    assert open_weights[3, 0] == 1.0 and open_weights[3, 1] == 1.0
    assert covered_weights[3, 0] == 0.0
    np.testing.assert_array_equal(np.delete(covered_weights, 3, 0), np.delete(open_weights, 3, 0))


def test_training_views_with_and_without_perturbations_share_their_targets() -> None:
    pytest.importorskip("torch")
    from hipbmd.localisation.augment import AugmentSettings, RandomViews

    config, sample = _disc_sample()
    plain = RandomViews([sample], config, AugmentSettings(appearance=AppearanceSettings.off()), seed=5)
    varied = RandomViews([sample], config, AugmentSettings(), seed=5)
    plain_image, plain_targets, plain_weights = plain.view(sample)
    varied_image, varied_targets, varied_weights = varied.view(sample)
    np.testing.assert_array_equal(plain_targets, varied_targets)
    np.testing.assert_array_equal(plain_weights, varied_weights)
    assert plain_image.shape == varied_image.shape == (SIZE, SIZE)
    looks = [RandomViews([sample], config, AugmentSettings(), seed=s).view(sample)[0] for s in range(6)]
    plains = [RandomViews([sample], config, plain.settings, seed=s).view(sample)[0] for s in range(6)]
    assert sum(not np.allclose(look, flat) for look, flat in zip(looks, plains, strict=True)) >= 3


def test_negative_views_hold_no_hip_and_count_every_channel() -> None:
    pytest.importorskip("torch")
    from hipbmd.localisation.augment import AugmentSettings, RandomViews

    config, sample = _disc_sample()
    image = sample.image
    views = RandomViews([sample], config, AugmentSettings(negative=1.0), seed=6)
    for _ in range(6):
        view, targets, weights = views.view(sample)
        assert not targets.any() and np.all(weights == 1.0)
        assert np.percentile(view, 1) == pytest.approx(0.0, abs=1e-6)
        assert np.percentile(view, 99) == pytest.approx(1.0, abs=1e-6)
        assert not np.allclose(view, image)
    never = RandomViews([sample], config, AugmentSettings(negative=0.0), seed=6)
    assert never.view(sample)[1].any()
