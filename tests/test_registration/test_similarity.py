"""Similarity measures against answers known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from hipbmd.registration.similarity import combined, gradient_correlation, multiscale, ncc


@pytest.fixture
def image(rng: np.random.Generator) -> np.ndarray:
    from scipy import ndimage

    return ndimage.gaussian_filter(rng.normal(size=(40, 50)), 2.0)


def test_ncc_is_invariant_to_linear_intensity_maps(image: np.ndarray) -> None:
    assert ncc(image, 3.0 * image + 7.0) == pytest.approx(1.0)
    assert ncc(image, -image) == pytest.approx(-1.0)
    assert ncc(image, np.zeros_like(image)) == 0.0


def test_ncc_of_independent_noise_is_near_zero(rng: np.random.Generator) -> None:
    assert abs(ncc(rng.normal(size=(100, 100)), rng.normal(size=(100, 100)))) < 0.05


def test_mask_restricts_the_comparison(image: np.ndarray, rng: np.random.Generator) -> None:
    other = image.copy()
    other[:, 25:] = rng.normal(size=(40, 25))
    mask = np.zeros_like(image, dtype=bool)
    mask[:, :25] = True
    assert ncc(image, other, mask) == pytest.approx(1.0)
    assert ncc(image, other) < 0.9


def test_gradient_correlation_ignores_a_smooth_background(image: np.ndarray) -> None:
    ramp = np.linspace(0, 1, image.shape[1])[None, :] * np.ones((image.shape[0], 1)) * 0.05
    assert gradient_correlation(image, image) == pytest.approx(1.0)
    assert gradient_correlation(image, image + ramp) > ncc(image, image + 50 * ramp)


def test_similarity_falls_as_the_image_shifts(image: np.ndarray) -> None:
    values = [combined(image, np.roll(image, shift, axis=1)) for shift in (0, 1, 3, 6)]
    assert values[0] == pytest.approx(1.0)
    assert values == sorted(values, reverse=True)
    assert multiscale(ncc, image, image, sigmas_px=(0.0, 2.0)) == pytest.approx(1.0)


def test_polynomial_correlation_absorbs_a_tone_curve(image: np.ndarray) -> None:
    from hipbmd.registration.similarity import polynomial_correlation

    positive = image - image.min() + 0.1
    toned = positive**0.8
    assert polynomial_correlation(toned, positive) > ncc(toned, positive)
    assert polynomial_correlation(toned, positive) == pytest.approx(1.0, abs=1e-3)
    assert polynomial_correlation(image, np.zeros_like(image)) == 0.0
