"""Augmentation: the Gaussian low-pass on analytic images, the vendor-like band re-weighting, edges, local
contrast."""

from __future__ import annotations

import dataclasses
import math

import torch

from hipbmd.decomposition.augment import (
    Augmentation,
    _edges,
    _local_contrast,
    _processing,
    _smooth_field,
    augment,
    blended_local_normalisation,
    gaussian_blur,
    local_tone_curve,
    locally_normalised,
    percentile_normalised,
)


def test_the_low_pass_keeps_a_constant_and_spreads_a_point_by_sigma() -> None:
    flat = torch.full((1, 1, 64, 64), 3.0)
    assert torch.allclose(gaussian_blur(flat, 4.0), flat)
    point = torch.zeros((1, 1, 65, 65))
    point[0, 0, 32, 32] = 1.0
    blurred = gaussian_blur(point, 3.0)[0, 0]
    assert abs(float(blurred.sum()) - 1.0) < 1e-5
    offsets = torch.arange(65, dtype=torch.float32) - 32
    profile = blurred.sum(dim=0)
    sd = float(torch.sqrt((profile * offsets**2).sum()))
    assert abs(sd - 3.0) < 0.05


def test_unit_gains_only_renormalise_the_crop() -> None:
    generator = torch.Generator().manual_seed(0)
    crops = torch.rand((3, 1, 32, 32), generator=generator) * 5.0 + 2.0
    settings = dataclasses.replace(
        Augmentation(), processing_probability=1.0, base_gain=(1.0, 1.0), detail_gain=(1.0, 1.0)
    )
    out = _processing(crops, settings, generator)
    expected = torch.stack([percentile_normalised(crop) for crop in crops])
    assert torch.allclose(out, expected, atol=1e-5)


def test_detail_gain_sharpens_and_base_gain_flattens() -> None:
    """An edge: a detail gain > 1 overshoots it (unsharp masking); the re-normalised crop stays in range."""
    generator = torch.Generator().manual_seed(1)
    edge = torch.zeros((1, 1, 48, 48))
    edge[..., 24:] = 1.0
    settings = dataclasses.replace(
        Augmentation(),
        processing_probability=1.0,
        band_sigma_px=(4.0, 4.0),
        base_gain=(0.2, 0.2),
        detail_gain=(2.0, 2.0),
    )
    out = _processing(edge, settings, generator)[0, 0]
    row = out[24]
    assert float(row[23]) < float(row[10]) and float(row[24]) > float(row[40])  # overshoot on both sides
    assert float(out.min()) >= -0.5 and float(out.max()) <= 1.5


def test_processing_touches_the_input_only() -> None:
    generator = torch.Generator().manual_seed(2)
    inputs = torch.rand((2, 1, 32, 32), generator=generator)
    targets = torch.rand((2, 1, 32, 32), generator=generator)
    still = dataclasses.replace(
        Augmentation(), rotation_deg=0.0, scale=0.0, shift_px=0.0, gamma=1.0, contrast=0.0, offset=0.0,
        noise=0.0, processing_probability=1.0,
    )  # fmt: skip
    moved_inputs, moved_targets = augment(inputs, targets, still, generator)
    assert torch.allclose(moved_targets, targets, atol=1e-5)
    assert not torch.allclose(moved_inputs, inputs, atol=1e-2)


def test_a_sharp_edge_adds_one_step_of_the_drawn_height_across_the_crop_and_leaves_targets() -> None:
    generator = torch.Generator().manual_seed(3)
    crops = torch.rand((6, 1, 40, 40), generator=generator)
    settings = dataclasses.replace(
        Augmentation(), edge_probability=1.0, edge_step=(0.4, 0.4), edge_rim_px=(0.0, 0.0)
    )
    added = _edges(crops, settings, generator) - crops
    for one in added[:, 0]:
        levels = torch.unique(torch.round(one * 1000) / 1000)
        assert len(levels) == 2 and 0.0 in levels.tolist()
        assert abs(float(levels.abs().max()) - 0.4) < 1e-3
    never = dataclasses.replace(settings, edge_probability=0.0)
    assert torch.equal(_edges(crops, never, generator), crops)
    still = dataclasses.replace(
        settings, rotation_deg=0.0, scale=0.0, shift_px=0.0, gamma=1.0, contrast=0.0, offset=0.0, noise=0.0,
        processing_probability=0.0,
    )  # fmt: skip
    targets = torch.rand((6, 2, 40, 40), generator=generator)
    moved_inputs, moved_targets = augment(crops, targets, still, generator)
    assert torch.allclose(moved_targets, targets, atol=1e-5)
    assert not torch.allclose(moved_inputs, crops, atol=1e-2)


def _stripes(size: int = 64) -> torch.Tensor:
    columns = torch.arange(size, dtype=torch.float32)
    return torch.sin(columns * 2.0 * torch.pi / 8.0).expand(1, 1, size, size).clone()


def test_local_normalisation_ignores_gain_offset_and_a_linear_shading() -> None:
    """A stripe pattern: scaled and offset, or with a linear ramp added, it normalises to the same image
    away from the border (a Gaussian window averages a ramp to its own centre value)."""
    stripes = _stripes()
    rows = torch.arange(64, dtype=torch.float32)[:, None].expand(64, 64)
    plain = locally_normalised(stripes, 6.0)[0, 0, 20:44, 20:44]
    scaled = locally_normalised(3.0 * stripes + 5.0, 6.0)[0, 0, 20:44, 20:44]
    shaded = locally_normalised(stripes + 0.05 * rows, 6.0)[0, 0, 20:44, 20:44]
    assert torch.allclose(plain, scaled, atol=1e-3)
    assert torch.allclose(plain, shaded, atol=0.02)
    assert abs(float(plain.std()) - 1.0) < 0.05  # unit local SD


def test_a_smooth_field_has_zero_mean_unit_sd_and_its_neighbours_agree() -> None:
    generator = torch.Generator().manual_seed(4)
    field = _smooth_field(torch.zeros((1, 64, 64)), 10.0, generator)[0]
    assert abs(float(field.mean())) < 1e-5 and abs(float(field.std()) - 1.0) < 1e-4
    step = field[:, 1:] - field[:, :-1]
    assert float(step.abs().max()) < 0.3  # smooth: a pixel's step is small against the field's SD


def test_local_contrast_changes_the_input_only_and_keeps_the_inference_range() -> None:
    generator = torch.Generator().manual_seed(5)
    raw = torch.rand((9, 1, 48, 48), generator=generator)
    crops = torch.stack([percentile_normalised(crop) for crop in raw])  # re-normalising alone keeps them
    never = dataclasses.replace(Augmentation(), local_probability=0.0)
    assert torch.equal(_local_contrast(crops, never, generator), crops)
    always = dataclasses.replace(Augmentation(), local_probability=1.0, local_sigma_px=(4.0, 12.0))
    changed = _local_contrast(crops, always, generator)
    assert float(changed.min()) >= -0.5 and float(changed.max()) <= 1.5
    for before, after in zip(crops, changed, strict=True):
        assert not torch.allclose(before, after, atol=1e-2)
    still = dataclasses.replace(
        always, rotation_deg=0.0, scale=0.0, shift_px=0.0, gamma=1.0, contrast=0.0, offset=0.0, noise=0.0,
        processing_probability=0.0,
    )  # fmt: skip
    targets = torch.rand((9, 1, 48, 48), generator=generator)
    _, moved_targets = augment(crops, targets, still, generator)
    assert torch.allclose(moved_targets, targets, atol=1e-5)


def test_a_local_tone_curve_stays_within_its_gamma_range_and_keeps_the_order_of_grey_levels() -> None:
    """A field at +2 or beyond raises the 0–1 crop to exp(strength), at −2 or below to exp(−strength); a
    smooth field keeps a ramp rising (the gamma varies slowly)."""
    levels = torch.linspace(0.05, 0.95, 48).expand(1, 48, 48).clone()
    strength = math.log(2.0)
    high = local_tone_curve(levels, strength, torch.full_like(levels, 5.0))
    low = local_tone_curve(levels, strength, torch.full_like(levels, -2.0))
    assert torch.allclose(high, levels**2.0, atol=1e-6) and torch.allclose(low, levels**0.5, atol=1e-6)
    field = _smooth_field(levels, 20.0, torch.Generator().manual_seed(6))
    curved = local_tone_curve(levels, strength, field)
    gamma = torch.log(curved) / torch.log(levels)
    assert float(gamma.min()) >= 0.5 - 1e-4 and float(gamma.max()) <= 2.0 + 1e-4
    assert float(gamma.max() - gamma.min()) > 0.2  # it does vary over the crop
    assert bool((curved[:, :, 1:] > curved[:, :, :-1]).all())


def test_local_normalisation_blended_in_full_evens_out_a_gain_that_varies_over_the_crop() -> None:
    """Stripes whose amplitude rises threefold across the crop: fully normalised, their amplitude is the
    same on both sides (away from the border); weight 0 leaves the crop; a weight between blends."""
    stripes = _stripes()[0]
    gain = torch.linspace(1.0, 3.0, 64).expand(64, 64)
    crop = percentile_normalised(stripes * gain)
    assert torch.equal(blended_local_normalisation(crop, 6.0, 0.0), crop)
    full = blended_local_normalisation(crop, 6.0, 1.0)[0]
    left, right = full[20:44, 12:24], full[20:44, 40:52]
    before_left, before_right = crop[0, 20:44, 12:24], crop[0, 20:44, 40:52]
    assert float(before_right.std() / before_left.std()) > 1.4  # the gain there: about 1.6 and 2.4
    assert abs(float(right.std() / left.std()) - 1.0) < 0.15
    half = blended_local_normalisation(crop, 6.0, 0.5)
    assert torch.allclose(half, 0.5 * crop + 0.5 * full[None], atol=1e-6)
