"""The Bayesian U-Net: a small 3-D U-Net whose dropout stays on at inference for Monte-Carlo sampling.

A U-Net (Ronneberger et al., MICCAI 2015; 3-D: Çiçek et al., MICCAI 2016) with channel dropout at the
bottleneck and before the deepest decoder blocks (the central layers, as in Bayesian SegNet: Kendall et
al., BMVC 2017; dropping whole channels of the thin full-resolution layers cripples the segmentation).
Kept on at inference, the dropout makes each forward pass a sample from an approximate posterior over
the weights (Gal & Ghahramani, ICML 2016); the spread of the samples is the
segmentation's uncertainty, the approach of the source group's femur segmentation (Hiasa et al.,
IEEE TMI 2020). The architecture is described by :class:`UNetConfig`, which is stored beside the weights.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

CLASS_NAMES = ("background", "femur", "pelvis")


@dataclass(frozen=True)
class UNetConfig:
    """Architecture and input convention of a segmentation model.

    Attributes:
        classes: output class names, background first.
        channels: feature channels per resolution level, full resolution first (each level down
            halves the size, so input sizes must be multiples of 2 ** (levels - 1)).
        dropout: channel-dropout probability at the bottleneck and before the deepest decoder blocks.
        dropout_levels: how many of the deepest decoder blocks get dropout (the bottleneck always).
        spacing_mm: isotropic voxel size of the grid the model works on, mm.
        hu_low, hu_high: CT numbers are clipped to this range, then divided by ``hu_scale``.
        hu_scale: HU per input unit.
    """

    classes: tuple[str, ...] = CLASS_NAMES
    channels: tuple[int, ...] = (8, 16, 32, 64)
    dropout: float = 0.2
    dropout_levels: int = 1
    spacing_mm: float = 1.5
    hu_low: float = -1000.0
    hu_high: float = 2000.0
    hu_scale: float = 1000.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        record = asdict(self)
        record["classes"] = list(self.classes)
        record["channels"] = list(self.channels)
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> UNetConfig:
        """Inverse of :meth:`to_dict`."""
        values = dict(record)
        values["classes"] = tuple(values["classes"])
        values["channels"] = tuple(values["channels"])
        return cls(**values)

    @property
    def levels(self) -> int:
        """Resolution levels."""
        return len(self.channels)

    @property
    def size_multiple(self) -> int:
        """Input sizes must be multiples of this."""
        return int(2 ** (self.levels - 1))


def _block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.InstanceNorm3d(out_channels, affine=True),
        nn.LeakyReLU(0.01, inplace=True),
        nn.Conv3d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.InstanceNorm3d(out_channels, affine=True),
        nn.LeakyReLU(0.01, inplace=True),
    )


class BayesianUNet(nn.Module):
    """3-D U-Net with Monte-Carlo dropout; input (B, 1, X, Y, Z) → class logits (B, C, X, Y, Z)."""

    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        self.config = config
        widths = list(config.channels)
        self.encoders = nn.ModuleList()
        previous = 1
        for width in widths:
            self.encoders.append(_block(previous, width))
            previous = width
        self.pool = nn.MaxPool3d(2)
        self.upsamplers = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for width, below in zip(widths[-2::-1], widths[:0:-1], strict=True):
            self.upsamplers.append(nn.ConvTranspose3d(below, width, 2, stride=2))
            self.decoders.append(_block(width * 2, width))
        self.head = nn.Conv3d(widths[0], len(config.classes), 1)
        self.sampling = False
        self.manifest: dict[str, Any] = {}

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Class logits for a batch of normalised CT patches (see :func:`normalise_hu`)."""
        skips = []
        features = image
        for level, encoder in enumerate(self.encoders):
            if level:
                features = self.pool(features)
            features = encoder(features)
            skips.append(features)
        features = self._drop(skips.pop())
        for depth, (upsampler, decoder) in enumerate(zip(self.upsamplers, self.decoders, strict=True)):
            features = torch.cat([upsampler(features), skips.pop()], dim=1)
            if depth < self.config.dropout_levels:
                features = self._drop(features)
            features = decoder(features)
        logits: torch.Tensor = self.head(features)
        return logits

    def _drop(self, features: torch.Tensor) -> torch.Tensor:
        if self.training or self.sampling:
            return nn.functional.dropout3d(features, self.config.dropout, training=True)
        return features

    def monte_carlo(self, enabled: bool = True) -> BayesianUNet:
        """Keep dropout on in evaluation mode (``enabled``) so repeated passes sample the posterior."""
        self.sampling = enabled
        return self


def normalise_hu(hu: torch.Tensor, config: UNetConfig) -> torch.Tensor:
    """Network input from CT numbers: clip to [hu_low, hu_high], divide by hu_scale (no per-scan rescale)."""
    return hu.clamp(config.hu_low, config.hu_high) / config.hu_scale
