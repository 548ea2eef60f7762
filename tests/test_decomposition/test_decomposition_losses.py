"""BMD-GAN losses against answers known by construction."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from hipbmd.decomposition.losses import (  # noqa: E402
    LossWeights,
    feature_matching_loss,
    generator_loss,
    gradient_correlation,
    gradient_correlation_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
)


@pytest.fixture
def images() -> torch.Tensor:
    generator = torch.Generator().manual_seed(7)
    return torch.rand(2, 1, 16, 20, generator=generator, dtype=torch.float64)


def _scale(features: list[torch.Tensor], patch: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    return features, patch


def test_gc_of_identical_images_is_one(images: torch.Tensor) -> None:
    assert gradient_correlation(images, images).item() == pytest.approx(1.0)
    assert gradient_correlation_loss(images, images).item() == pytest.approx(0.0, abs=1e-12)


def test_gc_of_an_image_and_its_negative_is_minus_one(images: torch.Tensor) -> None:
    assert gradient_correlation(images, -images).item() == pytest.approx(-1.0)
    assert gradient_correlation_loss(images, -images).item() == pytest.approx(2.0)


def test_gc_is_invariant_to_a_positive_affine_intensity_change(images: torch.Tensor) -> None:
    assert gradient_correlation(images, 3.5 * images + 0.2).item() == pytest.approx(1.0)
    shuffled = images.flip(-1)
    expected = gradient_correlation(images, shuffled).item()
    assert abs(expected) < 0.9
    assert gradient_correlation(images, 0.1 * shuffled - 4.0).item() == pytest.approx(expected)


def test_gc_of_a_flat_image_is_zero_not_nan(images: torch.Tensor) -> None:
    assert gradient_correlation(images, torch.ones_like(images)).item() == 0.0


def test_gc_refuses_mismatched_or_tiny_images(images: torch.Tensor) -> None:
    with pytest.raises(ValueError, match="one shape"):
        gradient_correlation(images, images[..., :-1])
    with pytest.raises(ValueError, match="H, W ≥ 3"):
        gradient_correlation(images[..., :2], images[..., :2])


def test_lsgan_values_on_known_patch_maps() -> None:
    ones, zeros = torch.ones(1, 1, 3, 3), torch.zeros(1, 1, 3, 3)
    half = torch.full((1, 1, 2, 2), 0.5)
    assert lsgan_generator_loss([_scale([], ones)]).item() == 0.0
    assert lsgan_generator_loss([_scale([], zeros)]).item() == 1.0
    # mean over scales of (0 − 1)² = 1 and (0.5 − 1)² = 0.25
    assert lsgan_generator_loss([_scale([], zeros), _scale([], half)]).item() == pytest.approx(0.625)
    real, fake = [_scale([], ones)], [_scale([], zeros)]
    assert lsgan_discriminator_loss(real, fake).item() == 0.0  # a perfect discriminator
    assert lsgan_discriminator_loss(fake, real).item() == pytest.approx(1.0)  # ½ (1 + 1)
    assert lsgan_discriminator_loss([_scale([], half)], [_scale([], half)]).item() == pytest.approx(0.25)


def test_feature_matching_is_zero_for_identical_features_and_averages_layers_and_scales() -> None:
    features = [torch.ones(1, 4, 8, 8), torch.ones(1, 8, 4, 4)]
    patch = torch.zeros(1, 1, 3, 3)
    same = [_scale(features, patch)] * 2
    assert feature_matching_loss(same, same).item() == 0.0
    shifted = [_scale([f + 1.0 for f in features], patch), _scale([f + 3.0 for f in features], patch)]
    assert feature_matching_loss(same, shifted).item() == pytest.approx(2.0)  # mean of 1 and 3


def test_generator_loss_weights_its_terms(images: torch.Tensor) -> None:
    patch = torch.zeros(2, 1, 3, 3, dtype=torch.float64)
    outputs = [_scale([images], patch)]
    weights = LossWeights(l1=2.0, gc=3.0, feature_matching=5.0, gan=7.0)
    loss = generator_loss(images + 0.5, images, outputs, outputs, weights)
    assert loss.l1.item() == pytest.approx(0.5)
    assert loss.gc.item() == pytest.approx(0.0, abs=1e-12)
    assert loss.feature_matching.item() == 0.0
    assert loss.gan.item() == 1.0
    assert loss.total.item() == pytest.approx(2.0 * 0.5 + 7.0 * 1.0)
    assert LossWeights() == LossWeights(l1=100.0, gc=1.0, feature_matching=10.0, gan=1.0)


def test_gradients_flow_to_the_fake_image_but_not_the_real_features(images: torch.Tensor) -> None:
    fake = (images.flip(-1) * 0.9).requires_grad_(True)
    real_feature = images.clone().requires_grad_(True)
    patch = fake.mean(dim=(2, 3), keepdim=True)
    loss = generator_loss(fake, images, [_scale([real_feature], patch)], [_scale([fake], patch)])
    loss.total.backward()
    assert fake.grad is not None
    assert torch.isfinite(fake.grad).all() and fake.grad.abs().sum() > 0
    assert real_feature.grad is None  # feature matching detaches the real features
    gc_input = images.clone().requires_grad_(True)
    gradient_correlation_loss(gc_input, images.flip(-2)).backward()
    assert gc_input.grad is not None and gc_input.grad.abs().sum() > 0
