"""The shipped models are pinned by sha256 in the code: a changed shipped model is refused even when its
manifest was updated to match; a copy of it is recognised; a user's own model is accepted as not shipped."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hipbmd.errors import InputError
from hipbmd.io import model_pins
from hipbmd.io.model_folder import MANIFEST_FILE, WEIGHTS_FILE, read_checked_manifest, sha256_of


def _shipped(name: str) -> Path:
    return model_pins.shipped_models_dir() / name


def test_the_pins_are_those_of_the_shipped_folders() -> None:
    for name, pins in model_pins.SHIPPED_MODEL_SHA256.items():
        assert model_pins.file_hashes(_shipped(name)) == pins


def test_a_copy_of_a_shipped_model_is_shipped_and_an_edited_copy_is_not(tmp_path: Path) -> None:
    copy = tmp_path / "bmd_gan"
    shutil.copytree(_shipped("bmd_gan"), copy)
    assert model_pins.is_shipped(copy)
    manifest = json.loads((copy / MANIFEST_FILE).read_text())
    manifest["name"] = "my own model"
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    assert not model_pins.is_shipped(copy)
    assert (
        read_checked_manifest(copy, manifest["format"], manifest["format_version"])["name"] == "my own model"
    )


def test_a_shipped_model_changed_with_its_manifest_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    folder = models / "hip_localiser"
    shutil.copytree(_shipped("hip_localiser"), folder)
    monkeypatch.setattr(model_pins, "shipped_models_dir", lambda: models)
    weights = folder / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:-4] + b"\x00\x00\x00\x00")
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    manifest["weights"]["sha256"] = sha256_of(weights)  # the manifest made to agree
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="differ from the sha256 pinned in hipbmd"):
        read_checked_manifest(folder, manifest["format"], manifest["format_version"])


def test_a_pickle_in_place_of_the_weights_is_one_clear_error(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from hipbmd.io.model_folder import load_weights

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / WEIGHTS_FILE).write_bytes(b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94.")
    with pytest.raises(InputError, match="not a safetensors weights file"):
        load_weights(folder, {"weights": {"file": WEIGHTS_FILE}})
