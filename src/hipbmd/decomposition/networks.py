"""BMD-GAN's networks, sized for a CPU: a U-Net generator with a full-resolution stream, and a
conditional two-scale PatchGAN discriminator.

Generator (radiograph (B, 1, H, W) → femur DRR (B, 1, H, W) ≥ 0, H and W multiples of
:data:`SIZE_MULTIPLE`): a full-resolution stream of width w, four stride-2 residual stages of widths
2w, 4w, 6w, 6w, and a decoder that upsamples (bilinear, then convolution: no checkerboard) and fuses each
stage's skip, ending on the full-resolution stream, so fine edges are never lost to pooling. It stands in
for the high-resolution backbone of the original (the BMD-GAN authors' code uses HRFormer) at a size a
CPU can train: about 1.0, 2.3 and 4.1 M parameters at w = 16, 24 (default) and 32. GroupNorm behaves
the same in training and evaluation and with batches of one. The head is a 1×1 convolution and a
softplus, so the areal density is never negative. Dropout sits in the bottleneck and the decoder;
:meth:`Generator.set_mc_dropout` keeps it active in eval mode for Monte-Carlo dropout sampling (Gal Y,
Ghahramani Z, ICML 2016), as the project's Bayesian U-Net does.

Discriminator (pix2pixHD, Wang TC et al., CVPR 2018): on (radiograph, DRR) concatenated, a PatchGAN of
``n_layers`` stride-2 4×4 convolutions and two stride-1 ones, at full resolution and on the input
average-pooled by 2 (3×3, stride 2, as pix2pixHD). Each scale returns its intermediate feature maps
(for feature matching) and its final patch map.

Both networks take a frozen config dataclass that round-trips through JSON, to be stored with the model.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from typing import Any, NamedTuple, TypeVar

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

SIZE_MULTIPLE = 16  # four stride-2 stages
STAGE_WIDTH_FACTORS = (1, 2, 4, 6, 6)  # full-resolution stream, then each stage, × base_width
GROUPS = 8  # GroupNorm groups (their greatest common divisor with the channels, for any width)

ConfigT = TypeVar("ConfigT", bound="_JSONConfig")


class _JSONConfig:
    """JSON round trip for the frozen config dataclasses below; unknown keys are an error."""

    def to_json(self) -> str:
        """The config as a JSON object string."""
        return json.dumps(asdict(self), sort_keys=True)  # type: ignore[call-overload]

    @classmethod
    def from_json(cls: type[ConfigT], text: str) -> ConfigT:
        """The config from :meth:`to_json`'s output; missing keys take their defaults.

        Raises:
            ValueError: not a JSON object, an unknown key, or a value of the wrong type.
        """
        data: Any = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"{cls.__name__} JSON must be an object")
        defaults = {f.name: f.default for f in fields(cls)}  # type: ignore[arg-type]
        for key, value in data.items():
            if key not in defaults:
                raise ValueError(f"unknown {cls.__name__} field {key!r}")
            wanted = type(defaults[key])
            if isinstance(value, bool) or not isinstance(value, int if wanted is int else (int, float)):
                raise ValueError(f"{cls.__name__}.{key} must be {wanted.__name__}, got {value!r}")
        return cls(**data)


@dataclass(frozen=True)
class GeneratorConfig(_JSONConfig):
    """Generator settings.

    Attributes:
        in_channels: radiograph channels.
        out_channels: DRR channels.
        base_width: channels of the full-resolution stream; stages use ``STAGE_WIDTH_FACTORS`` × this.
        dropout: probability of the Monte-Carlo dropout layers (elementwise).
    """

    in_channels: int = 1
    out_channels: int = 1
    base_width: int = 24
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if min(self.in_channels, self.out_channels, self.base_width) < 1 or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"invalid generator config: {self}")


@dataclass(frozen=True)
class DiscriminatorConfig(_JSONConfig):
    """Discriminator settings.

    Attributes:
        in_channels: radiograph + DRR channels.
        base_width: channels of the first convolution (doubled per stride-2 layer, at most 8×).
        n_layers: stride-2 convolutions per scale.
        n_scales: number of scales, each on the previous one's input pooled by 2.
    """

    in_channels: int = 2
    base_width: int = 32
    n_layers: int = 3
    n_scales: int = 2

    def __post_init__(self) -> None:
        if min(self.in_channels, self.base_width, self.n_layers, self.n_scales) < 1:
            raise ValueError(f"invalid discriminator config: {self}")


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(GROUPS, channels), channels)


class MCDropout(nn.Module):
    """Elementwise dropout that can stay active in eval mode (``always_on``) for Monte-Carlo sampling."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p
        self.always_on = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) with elements zeroed with probability p and the rest scaled by 1/(1 − p)."""
        return F.dropout(x, self.p, training=self.training or self.always_on)


class ResidualBlock(nn.Module):
    """conv3×3(stride) → norm → ReLU → dropout → conv3×3 → norm, plus a (projected) shortcut, → ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False),
            _norm(out_channels),
            nn.ReLU(inplace=True),
            MCDropout(dropout) if dropout > 0 else nn.Identity(),
            nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False),
            _norm(out_channels),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), _norm(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, H, W) → (B, C_out, H / stride, W / stride)."""
        return F.relu(self.body(x) + self.shortcut(x))


class Generator(nn.Module):
    """Radiograph (B, C_in, H, W) → non-negative DRR (B, C_out, H, W); H, W multiples of 16."""

    def __init__(self, config: GeneratorConfig = GeneratorConfig()) -> None:
        super().__init__()
        self.config = config
        widths = [factor * config.base_width for factor in STAGE_WIDTH_FACTORS]
        self.stem = nn.Sequential(
            nn.Conv2d(config.in_channels, widths[0], 3, 1, 1, bias=False),
            _norm(widths[0]),
            nn.ReLU(inplace=True),
            ResidualBlock(widths[0], widths[0]),
        )
        self.down = nn.ModuleList(
            ResidualBlock(widths[i], widths[i + 1], stride=2) for i in range(len(widths) - 1)
        )
        self.bottleneck = ResidualBlock(widths[-1], widths[-1], dropout=config.dropout)
        self.up = nn.ModuleList(
            ResidualBlock(widths[i + 1] + widths[i], widths[i], dropout=config.dropout)
            for i in reversed(range(len(widths) - 1))
        )
        self.head = nn.Conv2d(widths[0], config.out_channels, 1)

    def forward(self, radiograph: torch.Tensor) -> torch.Tensor:
        """(B, C_in, H, W) → (B, C_out, H, W), softplus output (≥ 0)."""
        height, width = radiograph.shape[-2:]
        if height % SIZE_MULTIPLE or width % SIZE_MULTIPLE:
            raise ValueError(f"height and width must be multiples of {SIZE_MULTIPLE}, got {height}×{width}")
        skips = [self.stem(radiograph)]
        for stage in self.down:
            skips.append(stage(skips[-1]))
        x = self.bottleneck(skips.pop())
        for stage in self.up:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = stage(torch.cat([x, skip], dim=1))
        return F.softplus(self.head(x))

    def set_mc_dropout(self, enabled: bool = True) -> Generator:
        """Keep dropout active in eval mode (``enabled``), or let it follow train/eval; returns self.

        Only dropout changes: GroupNorm has no running statistics, so ``eval()`` plus this flag is a
        Monte-Carlo dropout sampler, and the flag survives later ``eval()`` / ``train()`` calls.
        """
        for module in self.modules():
            if isinstance(module, MCDropout):
                module.always_on = enabled
        return self


class ScaleOutput(NamedTuple):
    """One discriminator scale: intermediate features [(B, C_i, H_i, W_i)] and patch map (B, 1, h, w)."""

    features: list[torch.Tensor]
    patch_map: torch.Tensor


class PatchGAN(nn.Module):
    """One PatchGAN scale: ``n_layers`` stride-2 and two stride-1 4×4 convolutions; LeakyReLU 0.2."""

    def __init__(self, in_channels: int, base_width: int, n_layers: int) -> None:
        super().__init__()
        widths = [in_channels] + [base_width * min(2**i, 8) for i in range(n_layers + 1)]
        layers: list[nn.Module] = []
        for i in range(n_layers + 1):
            stride = 2 if i < n_layers else 1
            conv = nn.Conv2d(widths[i], widths[i + 1], 4, stride, 2)
            norm = _norm(widths[i + 1]) if i > 0 else nn.Identity()
            layers.append(nn.Sequential(conv, norm, nn.LeakyReLU(0.2, inplace=True)))
        self.layers = nn.ModuleList(layers)
        self.out = nn.Conv2d(widths[-1], 1, 4, 1, 2)

    def forward(self, x: torch.Tensor) -> ScaleOutput:
        """(B, C, H, W) → ``n_layers + 1`` feature maps and the (B, 1, h, w) patch map (raw scores)."""
        features = []
        for layer in self.layers:
            x = layer(x)
            features.append(x)
        return ScaleOutput(features, self.out(x))


class PatchDiscriminator(nn.Module):
    """Conditional multi-scale PatchGAN on (radiograph, DRR); one :class:`ScaleOutput` per scale."""

    def __init__(self, config: DiscriminatorConfig = DiscriminatorConfig()) -> None:
        super().__init__()
        self.config = config
        self.scales = nn.ModuleList(
            PatchGAN(config.in_channels, config.base_width, config.n_layers) for _ in range(config.n_scales)
        )

    def forward(self, radiograph: torch.Tensor, drr: torch.Tensor) -> list[ScaleOutput]:
        """radiograph (B, C_r, H, W) and DRR (B, C_d, H, W), C_r + C_d = in_channels → per scale outputs."""
        x = torch.cat([radiograph, drr], dim=1)
        outputs = []
        for i, scale in enumerate(self.scales):
            if i > 0:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            outputs.append(scale(x))
        return outputs


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
