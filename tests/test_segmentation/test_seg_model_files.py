from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from hipbmd.errors import InputError  # noqa: E402
from hipbmd.segmentation.bayesian_unet import BayesianUNet, UNetConfig  # noqa: E402
from hipbmd.segmentation.model_files import load_model, save_model  # noqa: E402


def test_a_saved_model_loads_with_the_same_weights_and_config(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = BayesianUNet(UNetConfig(channels=(2, 4), spacing_mm=2.5))
    save_model(model, tmp_path / "m", {"name": "tiny", "training": {"cases": []}})
    loaded = load_model(tmp_path / "m")
    assert loaded.config == model.config and loaded.manifest["name"] == "tiny"
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name])
    assert not loaded.training


def test_changed_weights_are_refused(tmp_path: Path) -> None:
    save_model(BayesianUNet(UNetConfig(channels=(2, 4))), tmp_path / "m", {})
    weights = tmp_path / "m" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(InputError, match="sha256"):
        load_model(tmp_path / "m")


def test_a_folder_without_a_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a hipbmd-segmentation model folder"):
        load_model(tmp_path)
    (tmp_path / "model.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(InputError, match="manifest"):
        load_model(tmp_path)


def test_the_shipped_model_loads_and_says_how_it_was_made() -> None:
    from hipbmd.segmentation.model_files import default_model_dir

    model = load_model(default_model_dir())
    assert model.manifest["name"] == "femur_segmentation"
    assert model.manifest["training"]["command"].startswith("hipbmd seg-train")
    assert model.manifest["metrics"]["held_out_dice_femur"]["median"] >= 0.95
    assert model.config.spacing_mm == 2.0 and model.config.classes == ("background", "femur", "pelvis")
    assert (default_model_dir() / "MODEL_CARD.md").is_file()
