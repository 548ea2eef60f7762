"""The losses of BMD-GAN's decomposition network.

Gu Y, Otake Y, Uemura K, et al., "BMD-GAN: Bone mineral density estimation using X-ray image
decomposition into projections of bone-segmented quantitative computed tomography using hierarchical
learning", MICCAI 2022: a pix2pixHD-style conditional GAN (multi-scale PatchGAN discriminator) trained
with an adversarial loss, feature matching, L1 and gradient correlation.

* L1: mean |G(x) − y| over pixels.
* Gradient correlation (Penney GP et al., IEEE TMI 1998;17:586–595; as a loss: Hiasa Y et al.,
  SASHIMI 2018): GC(a, b) = ½ [NCC(∂a/∂col, ∂b/∂col) + NCC(∂a/∂row, ∂b/∂row)], the gradients being central
  differences on the interior pixels, NCC taken over each image and channel, then averaged over the
  batch. GC(a, a) = 1, GC(a, −a) = −1, GC(a, s·a + t) = 1 for s > 0. Loss = 1 − GC.
* Least-squares GAN (Mao X et al., ICCV 2017), per discriminator scale then averaged over scales:
  generator E[(D(x, G(x)) − 1)²]; discriminator ½ (E[(D(x, y) − 1)²] + E[D(x, G(x))²]).
* Feature matching (Wang TC et al., pix2pixHD, CVPR 2018): mean |D_k^(i)(x, y) − D_k^(i)(x, G(x))| over
  the intermediate features i of each scale k, averaged over layers and scales (pix2pixHD sums over
  layers; the weight absorbs the difference). Real features are detached.

Default weights: L1 100 (pix2pix, Isola P et al., CVPR 2017), feature matching 10 (pix2pixHD),
GC 1 and GAN 1 (project defaults).

Discriminator outputs are sequences, one item per scale, of (intermediate features, final patch map),
as :class:`hipbmd.decomposition.networks.PatchDiscriminator` returns them (its ``ScaleOutput`` named
tuples are :data:`DiscriminatorScale` values).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812

DiscriminatorScale = tuple[Sequence[torch.Tensor], torch.Tensor]
"""One discriminator scale: intermediate feature maps (B, C_i, H_i, W_i) and the patch map (B, 1, h, w)."""

NCC_EPS = 1e-12  # floor of the NCC denominator: flat images give NCC 0, not NaN


@dataclass(frozen=True)
class LossWeights:
    """Weights of the generator's loss terms (dimensionless).

    Attributes:
        l1: weight of the L1 loss.
        gc: weight of the gradient-correlation loss (1 − GC).
        feature_matching: weight of the feature-matching loss.
        gan: weight of the least-squares adversarial loss.
    """

    l1: float = 100.0
    gc: float = 1.0
    feature_matching: float = 10.0
    gan: float = 1.0


@dataclass(frozen=True)
class GeneratorLoss:
    """The generator's total loss and its unweighted terms (scalar tensors), for logging."""

    total: torch.Tensor
    l1: torch.Tensor
    gc: torch.Tensor
    feature_matching: torch.Tensor
    gan: torch.Tensor


def normalized_cross_correlation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """NCC of each image and channel of ``a`` and ``b`` (B, C, H, W) over H and W → (B, C); 0 if flat."""
    a = a - a.mean(dim=(-2, -1), keepdim=True)
    b = b - b.mean(dim=(-2, -1), keepdim=True)
    numerator = (a * b).sum(dim=(-2, -1))
    denominator = torch.sqrt((a * a).sum(dim=(-2, -1)) * (b * b).sum(dim=(-2, -1)))
    return numerator / denominator.clamp_min(NCC_EPS)


def image_gradients(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Central differences of (B, C, H, W) along columns and rows, on the interior (B, C, H−2, W−2)."""
    along_columns = image[..., 1:-1, 2:] - image[..., 1:-1, :-2]
    along_rows = image[..., 2:, 1:-1] - image[..., :-2, 1:-1]
    return along_columns, along_rows


def gradient_correlation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """GC of two image batches (B, C, H, W) with H, W ≥ 3: mean over batch and channels, in [−1, 1]."""
    if a.shape != b.shape or a.ndim != 4 or min(a.shape[-2:]) < 3:
        raise ValueError(f"need two (B, C, H, W) batches of one shape, H, W ≥ 3; got {a.shape}, {b.shape}")
    a_columns, a_rows = image_gradients(a)
    b_columns, b_rows = image_gradients(b)
    columns = normalized_cross_correlation(a_columns, b_columns)
    rows = normalized_cross_correlation(a_rows, b_rows)
    return (0.5 * (columns + rows)).mean()


def gradient_correlation_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """1 − GC(fake, real) for (B, C, H, W) batches; 0 when the gradients agree up to a positive scale."""
    return 1.0 - gradient_correlation(fake, real)


def lsgan_generator_loss(fake_outputs: Sequence[DiscriminatorScale]) -> torch.Tensor:
    """E[(D(x, G(x)) − 1)²], averaged over the patch maps of every scale."""
    losses = [torch.mean((patch - 1.0) ** 2) for _, patch in fake_outputs]
    return torch.stack(losses).mean()


def lsgan_discriminator_loss(
    real_outputs: Sequence[DiscriminatorScale], fake_outputs: Sequence[DiscriminatorScale]
) -> torch.Tensor:
    """½ (E[(D(x, y) − 1)²] + E[D(x, G(x))²]), averaged over scales; pass D's outputs on a detached G(x)."""
    losses = [
        0.5 * (torch.mean((real_patch - 1.0) ** 2) + torch.mean(fake_patch**2))
        for (_, real_patch), (_, fake_patch) in zip(real_outputs, fake_outputs, strict=True)
    ]
    return torch.stack(losses).mean()


def feature_matching_loss(
    real_outputs: Sequence[DiscriminatorScale], fake_outputs: Sequence[DiscriminatorScale]
) -> torch.Tensor:
    """Mean L1 between D's intermediate features on real and fake pairs, averaged over layers and scales."""
    per_scale = []
    for (real_features, _), (fake_features, _) in zip(real_outputs, fake_outputs, strict=True):
        layers = [
            F.l1_loss(fake, real.detach()) for real, fake in zip(real_features, fake_features, strict=True)
        ]
        per_scale.append(torch.stack(layers).mean())
    return torch.stack(per_scale).mean()


def generator_loss(
    fake: torch.Tensor,
    real: torch.Tensor,
    real_outputs: Sequence[DiscriminatorScale],
    fake_outputs: Sequence[DiscriminatorScale],
    weights: LossWeights = LossWeights(),
) -> GeneratorLoss:
    """Weighted sum of L1, 1 − GC, feature matching and LSGAN terms for the generator.

    Args:
        fake: G(x), (B, 1, H, W), in the DRR's training units.
        real: the target DRR y, same shape and units.
        real_outputs: D(x, y) per scale (features are detached here).
        fake_outputs: D(x, G(x)) per scale, not detached, so gradients reach G.
        weights: the terms' weights.
    """
    l1 = F.l1_loss(fake, real)
    gc = gradient_correlation_loss(fake, real)
    fm = feature_matching_loss(real_outputs, fake_outputs)
    gan = lsgan_generator_loss(fake_outputs)
    total = weights.l1 * l1 + weights.gc * gc + weights.feature_matching * fm + weights.gan * gan
    return GeneratorLoss(total, l1, gc, fm, gan)
