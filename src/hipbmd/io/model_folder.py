"""Model folders shared by every network of hipbmd: weights in safetensors, a JSON manifest holding their
sha256, and the check of that hash before any weight is used.

A folder holds ``model.safetensors`` and ``model.json`` (``format``, ``format_version``, the architecture,
``weights: {file, sha256}``, licence, training record, metrics) and a ``MODEL_CARD.md`` for people.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from hipbmd.errors import InputError
from hipbmd.io.records import write_text_atomic

WEIGHTS_FILE = "model.safetensors"
MANIFEST_FILE = "model.json"


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_weights_and_manifest(
    state: dict[str, Any], folder: Path, format_name: str, format_version: int, manifest: dict[str, Any]
) -> dict[str, Any]:
    """Write a state dict (tensors) as safetensors and the manifest with its sha256; returns the manifest."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / WEIGHTS_FILE
    partial = weights.with_name(weights.name + ".partial")
    save_file(
        {k: v.detach().contiguous() for k, v in state.items()}, str(partial), metadata={"format": format_name}
    )
    os.replace(partial, weights)
    record = {
        "format": format_name,
        "format_version": format_version,
        **manifest,
        "weights": {"file": WEIGHTS_FILE, "sha256": sha256_of(weights)},
        "licence": manifest.get("licence", "Apache-2.0"),
    }
    write_text_atomic(folder / MANIFEST_FILE, json.dumps(record, indent=2) + "\n")
    return record


def read_checked_manifest(folder: Path, format_name: str, format_version: int) -> dict[str, Any]:
    """The manifest of a model folder of this format, after checking the weights' sha256."""
    path = folder / MANIFEST_FILE
    if not path.is_file():
        raise InputError(folder, f"not a {format_name} model folder (no {MANIFEST_FILE})")
    manifest: dict[str, Any] = json.loads(path.read_text())
    if manifest.get("format") != format_name:
        raise InputError(path, f"not a {format_name} manifest")
    if manifest.get("format_version", 0) > format_version:
        raise InputError(path, f"model format {manifest['format_version']} is newer than this hipbmd reads")
    weights = folder / manifest["weights"]["file"]
    if not weights.is_file():
        raise InputError(weights, "model weights missing")
    if sha256_of(weights) != manifest["weights"]["sha256"]:
        raise InputError(weights, "sha256 does not match the model manifest (corrupt or replaced weights)")
    from hipbmd.io.model_pins import is_shipped

    is_shipped(folder, manifest["weights"]["sha256"])  # a shipped model changed after release is refused
    return manifest


def load_weights(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The state dict of a checked model folder.

    Raises:
        InputError: the weights are not a safetensors file (e.g. a pickle put in their place).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = folder / manifest["weights"]["file"]
    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as error:
        raise InputError(path, f"not a safetensors weights file ({error})") from None
