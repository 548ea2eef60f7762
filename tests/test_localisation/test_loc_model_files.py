"""The shipped hip localiser states its held-out accuracy; model folders refuse weights that changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from hipbmd.errors import InputError
from hipbmd.localisation.model_files import default_model_dir, read_manifest
from hipbmd.segmentation.model_files import sha256_of


def test_shipped_model_records_its_held_out_numbers() -> None:
    folder = default_model_dir()
    manifest = read_manifest(folder)
    evaluation = manifest["evaluation"]
    assert evaluation["cases"] == "0:60"
    # evaluated on the held-out side of the simulator's splits, none of which training saw
    assert "styles random-held-out" in evaluation["cohort"] and "region held-out" in evaluation["cohort"]
    assert "real_ct" in evaluation["cohort"] and "real_ct" not in manifest["training"]["data"]
    assert "site_e" not in manifest["training"]["data"] and "site_f" not in manifest["training"]["data"]
    assert 0.0 <= evaluation["implant_false_alarm_rate"] <= 1.0 and evaluation["implant_hips"] > 0
    assert manifest["training"]["initialised_from"]["command"].startswith("python -m hipbmd.localisation")
    head = evaluation["head_error_mm"]
    assert head["n"] > 0 and 0.0 <= head["median"] <= head["p95"]
    assert 0.0 <= evaluation["side_correct_rate"] <= 1.0
    assert evaluation["single_hip_crops"]["count"] > 0
    assert evaluation["single_hip_crops"]["detected_rate"] is not None
    assert "simulated" in manifest["training"]["data"]
    assert manifest["training"]["command"].startswith("python -m hipbmd.localisation.train")
    weights = folder / manifest["weights"]["file"]
    assert weights.stat().st_size < 2_000_000
    assert sha256_of(weights) == manifest["weights"]["sha256"]
    assert (folder / "MODEL_CARD.md").is_file()


def test_round_trip_and_tampered_weights_are_refused(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from hipbmd.localisation.model_files import load_localiser, save_localiser
    from hipbmd.localisation.network import HipLocaliser, LocaliserConfig

    config = LocaliserConfig(channels=(4, 8), size=16)
    model = HipLocaliser(config)
    folder = save_localiser(model, tmp_path / "model", {"training": {"data": "none"}})
    loaded = load_localiser(folder)
    assert loaded.config == config
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name])
    weights = folder / "model.safetensors"
    changed = bytearray(weights.read_bytes())
    changed[-1] ^= 0xFF
    weights.write_bytes(bytes(changed))
    with pytest.raises(InputError, match="sha256"):
        load_localiser(folder)


def test_a_folder_without_manifest_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a hipbmd-hip-localiser model folder"):
        read_manifest(tmp_path)
