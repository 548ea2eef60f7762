"""Site image processing and the fast Gaussian it relies on, on images whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from hipbmd.sim.processing import (
    quantise,
    raw_log,
    reweight_bands,
    soft_limit,
    tone_curve,
    window_limits,
)
from hipbmd.sim.smoothing import block_mean, gaussian_smooth, upsample_bilinear


@pytest.mark.parametrize("sigma_px", [0.5, 2.0, 6.0, 20.0])
def test_fast_gaussian_keeps_the_mean_and_has_the_requested_width(sigma_px: float) -> None:
    impulse = np.zeros((201, 201), np.float32)
    impulse[100, 100] = 1.0
    blurred = gaussian_smooth(impulse, sigma_px)
    assert blurred.sum() == pytest.approx(1.0, rel=0.02)
    rows = np.arange(201) - 100
    variance = float((blurred.sum(axis=1) * rows**2).sum() / blurred.sum())
    assert np.sqrt(variance) == pytest.approx(sigma_px, rel=0.1)


def test_fast_gaussian_is_close_to_scipy_on_a_smooth_image(rng: np.random.Generator) -> None:
    image = ndimage.gaussian_filter(rng.normal(size=(120, 90)), 4).astype(np.float32)
    fast, exact = gaussian_smooth(image, 8.0), ndimage.gaussian_filter(image, 8.0, mode="nearest")
    inner = (slice(16, -16),) * 2  # two σ from the border, where edge handling differs
    np.testing.assert_allclose(fast[inner], exact[inner], atol=0.01 * np.ptp(image))
    np.testing.assert_allclose(fast, exact, atol=0.04 * np.ptp(image))


def test_block_mean_and_bilinear_upsampling_keep_a_constant() -> None:
    constant = np.full((37, 50), 3.5, np.float32)
    small = block_mean(constant, 4)
    assert small.shape == (10, 13)
    np.testing.assert_allclose(upsample_bilinear(small, 4, constant.shape), constant)


def test_raw_log_is_four_decades_over_the_bit_depth() -> None:
    direct = 1000.0
    signal = np.array([[2000.0, 200.0, 20.0, 0.2]], np.float32)  # 0, 1, 2, 4 decades below saturation
    np.testing.assert_allclose(raw_log(signal, direct, 12), [[0.0, 1024.0, 2047.0, 4095.0]], atol=1)


def test_unsharp_mask_boosts_an_edge_and_keeps_flat_regions() -> None:
    step = np.zeros((40, 40), np.float32)
    step[:, 20:] = 1.0
    sharpened = reweight_bands(step, (3.0,), (2.0,), 1.0)
    assert sharpened[20, 21] > 1.1 and sharpened[20, 18] < -0.1  # overshoot either side of the edge
    assert sharpened[20, 2] == pytest.approx(0.0, abs=1e-3) and sharpened[20, 37] == pytest.approx(
        1.0, abs=1e-3
    )


def test_equalisation_compresses_the_coarse_base() -> None:
    ramp = np.tile(np.linspace(0.0, 4.0, 200, dtype=np.float32), (40, 1))
    compressed = reweight_bands(ramp, (2.0, 8.0), (1.0, 1.0), 0.5)
    inner = slice(40, 160)
    assert np.ptp(compressed[20, inner]) == pytest.approx(0.5 * np.ptp(ramp[20, inner]), rel=0.05)


def test_soft_limit_keeps_small_details_and_bounds_large_ones() -> None:
    detail = np.array([-10.0, -0.01, 0.0, 0.01, 0.5, 10.0], np.float32)
    limited = soft_limit(detail, 0.5)
    np.testing.assert_allclose(limited[1:4], detail[1:4], rtol=1e-3)
    assert limited[4] == pytest.approx(0.5 / np.sqrt(2.0))
    assert np.all(np.abs(limited) < 0.5) and np.all(np.diff(limited) > 0)
    np.testing.assert_array_equal(soft_limit(detail, None), detail)


def test_detail_limit_stops_a_large_step_from_ringing() -> None:
    step = np.zeros((40, 80), np.float32)
    step[:, 40:] = 3.0  # the skin line: a large step
    linear = reweight_bands(step, (4.0,), (1.0,), 0.2)
    limited = reweight_bands(step, (4.0,), (1.0,), 0.2, detail_limit=0.3)
    plateau = 0.2 * 3.0
    assert linear[20, 41] - plateau > 0.6  # the compressed base leaves a bright rim
    assert limited[20, 41] - plateau < 0.3 and limited[20, 78] == pytest.approx(plateau, abs=1e-3)


def test_window_levels_map_the_two_percentiles_to_the_two_levels() -> None:
    ramp = np.tile(np.linspace(2.0, 3.0, 101, dtype=np.float32), (64, 1))
    low, high = window_limits(ramp, ramp, (50.0, 100.0), (0.5, 0.95))
    median, top = np.percentile(ramp[::4, ::4], [50.0, 100.0])
    assert (median - low) / (high - low) == pytest.approx(0.5, abs=1e-6)
    assert (top - low) / (high - low) == pytest.approx(0.95, abs=1e-6)
    with pytest.raises(ValueError, match="increase"):
        window_limits(ramp, ramp, (50.0, 100.0), (0.6, 0.6))


def test_window_ignores_the_thin_skin_margin() -> None:
    attenuation = np.zeros((64, 64), np.float32)
    attenuation[:, 8:16] = 0.5  # thin tissue at the body's edge
    attenuation[:, 16:] = np.linspace(2.0, 3.0, 48, dtype=np.float32)
    low, _ = window_limits(attenuation, attenuation, (0.0, 100.0))
    assert low >= 2.0


@pytest.mark.parametrize(
    ("curve", "parameter"), [("linear", 1.0), ("gamma", 0.8), ("sigmoid", 6.0), ("film", 4.0)]
)
def test_tone_curves_map_the_unit_interval_onto_itself_increasingly(curve: str, parameter: float) -> None:
    unit = np.linspace(0.0, 1.0, 101, dtype=np.float32)
    mapped = tone_curve(unit, curve, parameter)  # type: ignore[arg-type]
    assert mapped[0] == pytest.approx(0.0, abs=1e-6) and mapped[-1] == pytest.approx(1.0, abs=1e-6)
    assert np.all(np.diff(mapped) > 0)


def test_window_uses_the_anatomy_not_the_direct_beam() -> None:
    attenuation = np.zeros((64, 64), np.float32)
    attenuation[:, 16:] = np.linspace(1.0, 3.0, 48, dtype=np.float32)  # body; columns 0–15 direct beam
    low, high = window_limits(attenuation, attenuation, (0.0, 100.0))
    assert low >= 1.0 and high <= 3.0


def test_quantise_to_bit_depth() -> None:
    np.testing.assert_array_equal(
        quantise(np.array([-0.1, 0.0, 0.5, 1.0, 1.2], np.float32), 10), [0, 0, 512, 1023, 1023]
    )
