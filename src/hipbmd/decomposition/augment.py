"""Training augmentation that keeps radiograph and targets aligned, plus radiograph-only intensity changes.

Geometry (applied identically to input and targets, bilinear, zeros outside): rotation ±``rotation_deg``,
isotropic scale ±``scale``, shift ±``shift_px``. Intensity (input only, on the normalised crop): a
vendor-like frequency re-weighting (with probability ``processing_probability``: a Gaussian low-pass of
σ drawn log-uniformly in ``band_sigma_px`` splits the crop into base and detail, recombined as
base·b + detail·g with b and g drawn from ``base_gain`` and ``detail_gain``, then the crop is
re-normalised to its 1st–99th percentiles as at inference; one band with g > 1 is unsharp masking, b < 1
is latitude compression, as in multi-scale equalisation), a gamma in [1/γ, γ] on the 0–1 range,
contrast ×(1 ± c), offset ± o, and Gaussian noise of SD up to σ, as sites process and expose radiographs
differently. With probability ``edge_probability`` (after the re-weighting) a crop gets a grey-level step
along a straight line of random place and direction, or a band between two such lines, rising over a
rim of ``edge_rim_px``: the edge of a skin fold or of clothing, a plate overlap, a stitching seam, which
may cross the femur and must not change it. With probability ``local_probability`` (after the
re-weighting, before the edges) a crop gets a local change of contrast of the kind that adaptive
processing makes, in one of three generic forms drawn with equal odds, each varying smoothly over the crop
on a scale σ drawn log-uniformly in ``local_sigma_px``: a shading (a smooth random field of SD up to
``local_shading`` added to the 0–1 crop), a local tone curve (a gamma that varies over the crop between
1/``local_gamma`` and ``local_gamma``), or a local normalisation (each pixel's difference from the local
mean divided by the local SD, blended with the crop by a weight in ``local_normalisation``); the crop is
then re-normalised as at inference. None of these is the simulator's own processing: they stand for any
site's local processing, so that the network reads the femur's density from its own look and not from
the crop's overall grey levels. Targets keep their physical units (g/cm²).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812


@dataclass(frozen=True)
class Augmentation:
    """Ranges of the random changes (0 turns one off)."""

    rotation_deg: float = 5.0
    scale: float = 0.06
    shift_px: float = 6.0
    gamma: float = 1.4
    contrast: float = 0.15
    offset: float = 0.08
    noise: float = 0.03
    processing_probability: float = 0.8
    band_sigma_px: tuple[float, float] = (1.0, 16.0)
    base_gain: tuple[float, float] = (0.1, 1.0)
    detail_gain: tuple[float, float] = (0.8, 2.2)
    edge_probability: float = 0.0
    edge_step: tuple[float, float] = (0.1, 0.5)
    edge_rim_px: tuple[float, float] = (0.0, 3.0)
    band_width_px: tuple[float, float] = (7.0, 40.0)
    local_probability: float = 0.0
    local_sigma_px: tuple[float, float] = (6.0, 40.0)
    local_shading: float = 0.25
    local_gamma: float = 2.0
    local_normalisation: tuple[float, float] = (0.3, 1.0)


def augment(
    inputs: torch.Tensor, targets: torch.Tensor, settings: Augmentation, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Augmented copies of inputs (B, 1, H, W) and targets (B, C, H, W)."""
    grid = _random_grid(inputs, settings, generator)
    moved_inputs = F.grid_sample(inputs, grid, mode="bilinear", padding_mode="border", align_corners=False)
    moved_targets = F.grid_sample(targets, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    processed = _processing(moved_inputs, settings, generator)
    processed = _edges(_local_contrast(processed, settings, generator), settings, generator)
    return _intensity(processed, settings, generator), moved_targets


def _uniform(count: int, half_range: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(count, generator=generator) * 2.0 - 1.0) * half_range


def _random_grid(inputs: torch.Tensor, settings: Augmentation, generator: torch.Generator) -> torch.Tensor:
    batch, _, height, width = inputs.shape
    angle = _uniform(batch, math.radians(settings.rotation_deg), generator)
    scale = 1.0 + _uniform(batch, settings.scale, generator)
    shift = torch.stack(
        [
            _uniform(batch, settings.shift_px * 2.0 / width, generator),
            _uniform(batch, settings.shift_px * 2.0 / height, generator),
        ],
        dim=1,
    )
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    return F.affine_grid(theta, [batch, 1, height, width], align_corners=False)


def _intensity(inputs: torch.Tensor, settings: Augmentation, generator: torch.Generator) -> torch.Tensor:
    batch = inputs.shape[0]
    shape = (batch, 1, 1, 1)
    log_gamma = (
        _uniform(batch, math.log(settings.gamma), generator).view(shape) if settings.gamma > 1 else 0.0
    )
    gamma = torch.exp(torch.as_tensor(log_gamma))
    curved = inputs.clamp(0.0, 1.0) ** gamma + (inputs - inputs.clamp(0.0, 1.0))
    contrast = 1.0 + _uniform(batch, settings.contrast, generator).view(shape)
    offset = _uniform(batch, settings.offset, generator).view(shape)
    sigma = torch.rand(batch, generator=generator).view(shape) * settings.noise
    noise = torch.randn(inputs.shape, generator=generator) * sigma
    return curved * contrast + offset + noise


def _processing(inputs: torch.Tensor, settings: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """Each crop, with probability ``processing_probability``, re-weighted into base and detail bands."""

    def reweighted(crop: torch.Tensor) -> torch.Tensor:
        base = gaussian_blur(crop[None], _log_uniform(settings.band_sigma_px, generator))[0]
        base_gain = _between(settings.base_gain, generator)
        detail_gain = _between(settings.detail_gain, generator)
        return percentile_normalised(base_gain * base + detail_gain * (crop - base))

    return _each_with_probability(inputs, settings.processing_probability, reweighted, generator)


def _each_with_probability(
    inputs: torch.Tensor,
    probability: float,
    change: Callable[[torch.Tensor], torch.Tensor],
    generator: torch.Generator,
) -> torch.Tensor:
    """The crops of ``inputs`` (B, C, H, W), each passed through ``change`` with ``probability`` (one draw
    per crop, before the change's own draws); the inputs themselves when the probability is 0."""
    if probability <= 0.0:
        return inputs
    out = []
    for crop in inputs:
        if float(torch.rand(1, generator=generator)) >= probability:
            out.append(crop)
        else:
            out.append(change(crop))
    return torch.stack(out)


def _local_contrast(inputs: torch.Tensor, settings: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """Each crop, with probability ``local_probability``, given a smooth local change of contrast
    (module docstring) and re-normalised."""

    def changed(crop: torch.Tensor) -> torch.Tensor:
        sigma = _log_uniform(settings.local_sigma_px, generator)
        form = int(torch.randint(3, (1,), generator=generator))
        if form == 0:
            amount = _between((0.0, settings.local_shading), generator)
            out = crop + amount * _smooth_field(crop, sigma, generator)
        elif form == 1:
            strength = _between((0.0, math.log(settings.local_gamma)), generator)
            out = local_tone_curve(crop, strength, _smooth_field(crop, sigma, generator))
        else:
            weight = _between(settings.local_normalisation, generator)
            out = blended_local_normalisation(crop, sigma, weight)
        return percentile_normalised(out)

    return _each_with_probability(inputs, settings.local_probability, changed, generator)


def local_tone_curve(crop: torch.Tensor, strength: float, field: torch.Tensor) -> torch.Tensor:
    """A crop (C, H, W) on its 0–1 range raised to a gamma that varies over it: exp(strength × field / 2),
    the unit-SD ``field`` clamped to ±2, so the gamma stays within exp(±strength). Grey levels beyond 0–1
    are clipped to it (the crop is re-normalised afterwards)."""
    gamma = torch.exp(strength * field.clamp(-2.0, 2.0) / 2.0)
    return crop.clamp(0.0, 1.0) ** gamma


def blended_local_normalisation(crop: torch.Tensor, sigma_px: float, weight: float) -> torch.Tensor:
    """``(1 − weight)`` × the crop (C, H, W) plus ``weight`` × its local normalisation
    (:func:`locally_normalised` on the scale ``sigma_px``, re-normalised to the crop's 0–1 range)."""
    normalised = percentile_normalised(locally_normalised(crop[None], sigma_px)[0])
    return (1.0 - weight) * crop + weight * normalised


def _smooth_field(crop: torch.Tensor, sigma_px: float, generator: torch.Generator) -> torch.Tensor:
    """A random field shaped like ``crop`` (C, H, W), smooth on the scale ``sigma_px``, of unit SD."""
    margin = math.ceil(3.0 * sigma_px)  # noise drawn beyond the crop: no replicated border pixel dominates
    channels, height, width = crop.shape
    noise = torch.randn((channels, height + 2 * margin, width + 2 * margin), generator=generator)
    field = gaussian_blur(noise[None].to(crop.dtype), sigma_px)[0, :, margin:-margin, margin:-margin]
    field = field - field.mean()
    return field / torch.clamp(field.std(), min=1e-6)


def locally_normalised(images: torch.Tensor, sigma_px: float) -> torch.Tensor:
    """(B, C, H, W) images less their local mean, over their local SD (Gaussian window of σ pixels)."""
    mean = gaussian_blur(images, sigma_px)
    spread = gaussian_blur((images - mean) ** 2, sigma_px)
    return (images - mean) / torch.sqrt(spread + 1e-4)


def _edges(inputs: torch.Tensor, settings: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """Each crop, with probability ``edge_probability``, plus a grey-level step or band (module docstring;
    the pattern is :func:`hipbmd.localisation.appearance.edge_pattern`)."""
    from hipbmd.localisation.appearance import edge_pattern

    height, width = inputs.shape[-2:]

    def with_edge(crop: torch.Tensor) -> torch.Tensor:
        through = (_between((0.0, height), generator), _between((0.0, width), generator))
        angle = _between((0.0, math.pi), generator)
        step = _between(settings.edge_step, generator) * (
            1.0 if torch.rand(1, generator=generator) < 0.5 else -1.0
        )
        rim = _between(settings.edge_rim_px, generator)
        banded = float(torch.rand(1, generator=generator)) < 0.5
        band = _between(settings.band_width_px, generator) if banded else None
        pattern = torch.from_numpy(edge_pattern((height, width), through, angle, rim, band)).to(crop.dtype)
        return crop + step * pattern

    return _each_with_probability(inputs, settings.edge_probability, with_edge, generator)


def _log_uniform(bounds: tuple[float, float], generator: torch.Generator) -> float:
    low, high = (math.log(v) for v in bounds)
    return math.exp(low + (high - low) * float(torch.rand(1, generator=generator)))


def _between(bounds: tuple[float, float], generator: torch.Generator) -> float:
    return bounds[0] + (bounds[1] - bounds[0]) * float(torch.rand(1, generator=generator))


def gaussian_blur(images: torch.Tensor, sigma_px: float) -> torch.Tensor:
    """Separable Gaussian low-pass of (B, C, H, W) images, σ in pixels, edges replicated."""
    radius = min(math.ceil(3.0 * sigma_px), min(images.shape[-2:]) - 1)
    offsets = torch.arange(-radius, radius + 1, dtype=images.dtype)
    kernel = torch.exp(-0.5 * (offsets / sigma_px) ** 2)
    kernel = kernel / kernel.sum()
    channels = images.shape[1]
    padded = F.pad(images, (radius, radius, radius, radius), mode="replicate")
    rows = F.conv2d(padded, kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)
    return F.conv2d(rows, kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)


def percentile_normalised(crop: torch.Tensor) -> torch.Tensor:
    """A crop scaled so its 1st–99th percentiles become 0–1, clipped to −0.5…1.5 (as at inference)."""
    bounds: torch.Tensor = torch.quantile(crop.flatten(), torch.tensor([0.01, 0.99], dtype=crop.dtype))
    scaled: torch.Tensor = (crop - bounds[0]) / torch.clamp(bounds[1] - bounds[0], min=1e-6)
    return scaled.clamp(-0.5, 1.5)
