"""Generator and discriminator: shapes, non-negativity, size, MC dropout, config round trip."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from hipbmd.decomposition.networks import (  # noqa: E402
    DiscriminatorConfig,
    Generator,
    GeneratorConfig,
    PatchDiscriminator,
    count_parameters,
)

TINY = GeneratorConfig(base_width=4, dropout=0.5)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def _radiograph(height: int, width: int) -> torch.Tensor:
    return torch.randn(1, 1, height, width, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize(("height", "width"), [(64, 64), (96, 128)])
def test_generator_keeps_the_shape_and_is_non_negative(height: int, width: int) -> None:
    generator = Generator().eval()  # default width
    with torch.no_grad():
        drr = generator(_radiograph(height, width) * 100.0)  # large inputs: softplus keeps ≥ 0
    assert drr.shape == (1, 1, height, width)
    assert (drr >= 0).all()


def test_generator_refuses_sizes_not_multiple_of_16() -> None:
    with pytest.raises(ValueError, match="multiples of 16"):
        Generator(TINY)(_radiograph(64, 72))


@pytest.mark.parametrize(("width", "low", "high"), [(16, 0.5e6, 1.5e6), (24, 1e6, 3e6)])
def test_parameter_count(width: int, low: float, high: float) -> None:
    assert GeneratorConfig().base_width == 24
    assert low <= count_parameters(Generator(GeneratorConfig(base_width=width))) <= high


def test_odd_widths_build() -> None:
    Generator(GeneratorConfig(base_width=12))
    PatchDiscriminator(DiscriminatorConfig(base_width=12))


def test_mc_dropout_samples_differ_only_when_enabled() -> None:
    generator = Generator(TINY).eval()
    x = _radiograph(32, 48)
    with torch.no_grad():
        assert torch.equal(generator(x), generator(x))
        generator.set_mc_dropout(True)
        generator.eval()  # the flag survives a later eval()
        assert not torch.equal(generator(x), generator(x))
        generator.set_mc_dropout(False)
        assert torch.equal(generator(x), generator(x))


def test_discriminator_returns_features_and_patch_map_per_scale() -> None:
    config = DiscriminatorConfig(base_width=4, n_layers=3, n_scales=2)
    discriminator = PatchDiscriminator(config)
    radiograph = _radiograph(64, 64)
    outputs = discriminator(radiograph, torch.rand_like(radiograph))
    assert len(outputs) == 2
    for scale, output in enumerate(outputs):
        assert len(output.features) == config.n_layers + 1
        assert output.patch_map.shape[:2] == (1, 1)
        assert output.features[0].shape[-1] == 64 // 2 ** (scale + 1) + 1  # 4×4 kernels, stride 2, pad 2
    assert outputs[1].patch_map.shape[-1] < outputs[0].patch_map.shape[-1]


def test_gradients_reach_the_generator_through_the_discriminator() -> None:
    generator = Generator(TINY)
    discriminator = PatchDiscriminator(DiscriminatorConfig(base_width=4))
    radiograph = _radiograph(32, 32)
    outputs = discriminator(radiograph, generator(radiograph))
    sum(output.patch_map.mean() for output in outputs).backward()
    assert generator.head.weight.grad is not None and generator.head.weight.grad.abs().sum() > 0


def test_configs_round_trip_through_json() -> None:
    for config in (GeneratorConfig(base_width=16, dropout=0.2), DiscriminatorConfig(n_scales=3)):
        assert type(config).from_json(config.to_json()) == config
    assert GeneratorConfig.from_json("{}") == GeneratorConfig()
    with pytest.raises(ValueError, match="unknown GeneratorConfig field 'width'"):
        GeneratorConfig.from_json('{"width": 16}')
    with pytest.raises(ValueError, match="must be int"):
        GeneratorConfig.from_json('{"base_width": 16.5}')
    with pytest.raises(ValueError, match="object"):
        DiscriminatorConfig.from_json("[]")
    with pytest.raises(ValueError, match="invalid"):
        GeneratorConfig(dropout=1.0)
