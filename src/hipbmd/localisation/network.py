"""The hip localiser: a small 2-D U-Net that turns a radiograph into four landmark heatmaps.

An encoder–decoder with skip connections (Ronneberger et al., MICCAI 2015) on the radiograph resampled
to a fixed physical pitch at the detector (:class:`LocaliserConfig.pitch_mm`), whose output channels
are Gaussian heatmaps (Payer et al., MICCAI 2016; Tompson et al., NeurIPS 2014) of the patient's right
femoral head centre, right lesser trochanter tip, left head centre and left lesser trochanter tip, in
the standard AP display (patient's right on the viewer's left). The network is fully convolutional:
it is trained on fixed-size crops and applied to a whole image padded to a multiple of
:attr:`LocaliserConfig.size_multiple`. Batch normalisation (not instance normalisation) keeps its output
independent of how much padding surrounds the image.

The input is normalised per image by robust percentiles (:func:`normalise_intensity`). That destroys
physical units, which is acceptable here only because this network localises and measures nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from hipbmd.localisation.heatmaps import LANDMARKS

PRIOR_LOGIT = -4.0


@dataclass(frozen=True)
class LocaliserConfig:
    """Architecture and input convention of a hip localiser.

    Attributes:
        landmarks: output channel names (:data:`~hipbmd.localisation.heatmaps.LANDMARKS`).
        channels: feature channels per resolution level, full resolution first.
        pitch_mm: pixel size of the working grid at the detector, mm.
        size: edge of the square training crops, working pixels (size × pitch_mm = field in mm).
        sigma_px: standard deviation of the target Gaussians, working pixels.
        percentiles: intensity percentiles mapped to 0 and 1 by :func:`normalise_intensity`.
        threshold: a head peak below this heatmap height means "hip absent".
    """

    landmarks: tuple[str, ...] = LANDMARKS
    channels: tuple[int, ...] = (8, 16, 32, 64)
    pitch_mm: float = 3.0
    size: int = 128
    sigma_px: float = 2.5
    percentiles: tuple[float, float] = (1.0, 99.0)
    threshold: float = 0.3

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        record = asdict(self)
        for key in ("landmarks", "channels", "percentiles"):
            record[key] = list(record[key])
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> LocaliserConfig:
        """Inverse of :meth:`to_dict`."""
        values = dict(record)
        for key in ("landmarks", "channels", "percentiles"):
            values[key] = tuple(values[key])
        return cls(**values)

    @property
    def size_multiple(self) -> int:
        """Input sizes must be multiples of this."""
        return int(2 ** (len(self.channels) - 1))


def normalise_intensity(
    image: npt.NDArray[np.floating[Any]],
    percentiles: tuple[float, float],
    valid: npt.NDArray[np.bool_] | None,
) -> npt.NDArray[np.float32]:
    """Robust per-image scaling: the low percentile → 0, the high → 1, over ``valid`` pixels (all if None).

    Not a physical quantity: used only for localisation, never for a measurement.
    """
    values = image[valid] if valid is not None and valid.any() else image.ravel()
    low, high = np.percentile(values, percentiles)
    scale = float(high - low) if high > low else 1.0
    return np.asarray((image - low) / scale, dtype=np.float32)


def _block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.LeakyReLU(0.01, inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.LeakyReLU(0.01, inplace=True),
    )


class HipLocaliser(nn.Module):
    """U-Net: image (N, 1, H, W) → heatmap logits (N, len(landmarks), H, W); H, W multiples of 2^(L−1)."""

    def __init__(self, config: LocaliserConfig) -> None:
        super().__init__()
        self.config = config
        channels = config.channels
        self.encoders = nn.ModuleList(
            [_block(1 if i == 0 else channels[i - 1], c) for i, c in enumerate(channels)]
        )
        self.ups = nn.ModuleList(
            [nn.ConvTranspose2d(channels[i + 1], channels[i], 2, stride=2) for i in range(len(channels) - 1)]
        )
        self.decoders = nn.ModuleList(
            [_block(2 * channels[i], channels[i]) for i in range(len(channels) - 1)]
        )
        self.head = nn.Conv2d(channels[0], len(config.landmarks), 1)
        if self.head.bias is not None:  # start near "no landmark here" (Lin et al., ICCV 2017)
            nn.init.constant_(self.head.bias, PRIOR_LOGIT)
        self.manifest: dict[str, Any] = {}
        self.shipped = False  # set on loading: the files are those of the shipped localiser

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Heatmap logits; ``torch.sigmoid`` of them are the heatmaps (peak ≈ 1 at a landmark)."""
        skips = []
        features = image
        for level, encoder in enumerate(self.encoders):
            if level > 0:
                features = nn.functional.max_pool2d(features, 2)
            features = encoder(features)
            skips.append(features)
        for level in reversed(range(len(self.decoders))):
            features = self.ups[level](features)
            features = self.decoders[level](torch.cat([skips[level], features], dim=1))
        logits: torch.Tensor = self.head(features)
        return logits
