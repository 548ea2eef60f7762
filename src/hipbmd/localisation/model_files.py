"""Hip-localiser model folders: weights in safetensors, a manifest with their sha256, a model card.

A model folder holds ``model.safetensors`` (the state dict), ``model.json`` (format, the architecture
(:class:`~hipbmd.localisation.network.LocaliserConfig`), the weights' sha256, licence, the training
record and the held-out evaluation) and ``MODEL_CARD.md``. Loading checks the hash before any weight is
used. The model shipped with hipbmd lives in ``hipbmd/resources/models/hip_localiser``.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

from hipbmd.errors import InputError
from hipbmd.segmentation.model_files import sha256_of

FORMAT = "hipbmd-hip-localiser"
FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
MANIFEST_FILE = "model.json"
DEFAULT_MODEL = "hip_localiser"


def default_model_dir() -> Path:
    """Folder of the hip localiser shipped in the package."""
    return Path(str(resources.files("hipbmd.resources").joinpath("models", DEFAULT_MODEL)))


def save_localiser(model: Any, folder: Path, record: dict[str, Any]) -> Path:
    """Write a localiser's weights and manifest (``record`` adds training and evaluation entries)."""
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
    write_manifest(folder, manifest)
    return folder


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Replace a folder's manifest atomically."""
    path = folder / MANIFEST_FILE
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(partial, path)


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a localiser folder, checked for format."""
    path = folder / MANIFEST_FILE
    if not path.is_file():
        raise InputError(folder, f"not a hip-localiser model folder (no {MANIFEST_FILE})")
    manifest: dict[str, Any] = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise InputError(path, f"not a {FORMAT} manifest")
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise InputError(path, f"model format {manifest['format_version']} is newer than this hipbmd reads")
    return manifest


def load_localiser(folder: Path | None = None) -> Any:
    """The :class:`~hipbmd.localisation.network.HipLocaliser` of a folder (default: the shipped one).

    The weights' sha256 is checked against the manifest first; the model is returned in eval mode.
    """
    from safetensors.torch import load_file

    from hipbmd.localisation.network import HipLocaliser, LocaliserConfig

    folder = default_model_dir() if folder is None else Path(folder)
    manifest = read_manifest(folder)
    weights = folder / manifest["weights"]["file"]
    if not weights.is_file():
        raise InputError(weights, "model weights missing")
    if sha256_of(weights) != manifest["weights"]["sha256"]:
        raise InputError(weights, "sha256 does not match the model manifest (corrupt or replaced weights)")
    model = HipLocaliser(LocaliserConfig.from_dict(manifest["config"]))
    model.load_state_dict(load_file(str(weights)))
    model.eval()
    model.manifest = manifest
    return model
