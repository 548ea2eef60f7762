"""Segmentation model folders: weights in safetensors, a manifest with their sha256, a model card.

A model folder holds ``model.safetensors`` (the state dict), ``model.json`` (format, architecture
(:class:`~hipbmd.segmentation.bayesian_unet.UNetConfig`), the weights' sha256, licence, the training data
and command, and the held-out metrics) and ``MODEL_CARD.md``. Loading checks the hash before any
weight is used. The model shipped with hipbmd lives in ``hipbmd/resources/models/femur_segmentation``.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

from hipbmd.errors import InputError

FORMAT = "hipbmd-segmentation"
FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
MANIFEST_FILE = "model.json"
DEFAULT_MODEL = "femur_segmentation"


def default_model_dir() -> Path:
    """Folder of the segmentation model shipped in the package."""
    return Path(str(resources.files("hipbmd.resources").joinpath("models", DEFAULT_MODEL)))


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_model(model: Any, folder: Path, record: dict[str, Any]) -> Path:
    """Write a model's weights and manifest (``record`` adds training data, command, metrics)."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / WEIGHTS_FILE
    partial = weights.with_name(weights.name + ".partial")
    state = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(partial), metadata={"format": FORMAT})
    os.replace(partial, weights)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": model.config.to_dict(),
        "weights": {"file": WEIGHTS_FILE, "sha256": sha256_of(weights)},
        "licence": "Apache-2.0",
        **record,
    }
    _write_text(folder / MANIFEST_FILE, json.dumps(manifest, indent=2) + "\n")
    return folder


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a model folder, checked for format."""
    path = folder / MANIFEST_FILE
    if not path.is_file():
        raise InputError(folder, f"not a segmentation model folder (no {MANIFEST_FILE})")
    manifest: dict[str, Any] = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise InputError(path, f"not a {FORMAT} manifest")
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise InputError(path, f"model format {manifest['format_version']} is newer than this hipbmd reads")
    return manifest


def load_model(folder: Path | None = None) -> Any:
    """The BayesianUNet of a model folder (default: the shipped one), after checking the weights' hash."""
    from safetensors.torch import load_file

    from hipbmd.segmentation.bayesian_unet import BayesianUNet, UNetConfig

    folder = default_model_dir() if folder is None else Path(folder)
    manifest = read_manifest(folder)
    weights = folder / manifest["weights"]["file"]
    if not weights.is_file():
        raise InputError(weights, "model weights missing")
    if sha256_of(weights) != manifest["weights"]["sha256"]:
        raise InputError(weights, "sha256 does not match the model manifest (corrupt or replaced weights)")
    model = BayesianUNet(UNetConfig.from_dict(manifest["config"]))
    model.load_state_dict(load_file(str(weights)))
    model.eval()
    model.manifest = manifest
    return model


def _write_text(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)
