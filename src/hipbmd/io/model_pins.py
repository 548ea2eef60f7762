"""The sha256 of each shipped model's files, pinned in the code, so a changed model is noticed.

A model folder's manifest holds its weights' sha256, which proves the weights are the ones the manifest
names, not that either is the model hipbmd shipped: weights changed together with their manifest pass
that check. The hashes below are part of the package's code. A shipped model folder whose files differ
from them is refused; a user's own model (``--model``) is accepted and recorded as not shipped.

Re-pinning is the last step of retraining a shipped model: ``python scripts/pin_models.py`` rewrites
:data:`SHIPPED_MODEL_SHA256` from the folders in ``hipbmd/resources/models`` (see docs/training.md).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from hipbmd.errors import InputError
from hipbmd.io.model_folder import MANIFEST_FILE, WEIGHTS_FILE, sha256_of

PINNED_FILES = (WEIGHTS_FILE, MANIFEST_FILE)
# model folder name → file → sha256 (written by scripts/pin_models.py)
SHIPPED_MODEL_SHA256: dict[str, dict[str, str]] = {
    "bmd_gan": {
        "model.safetensors": "c3dc174366e6a400260c9082294d743251608740cb56e8cf4d03ca904ad611be",
        "model.json": "629c29b81edbe7566af2ac1056e5acb4a6c82286b0ea44f4288a35d4ef6c4486",
    },
    "femur_segmentation": {
        "model.safetensors": "6245daa9b877786053e8fa15cef3d4d40871c55bbcaa37d71bf73d0a774d9f30",
        "model.json": "e755c74d0fe31391d482c4114e75981d984788708038e34286ba5390a4f5bec3",
    },
    "hip_localiser": {
        "model.safetensors": "2257d128b137fdacf406a41bb3b6281c8ce44da6ecef59179d003f96a4d30051",
        "model.json": "6c7f9219dc39db387f8829524b976edbb3988eaf5278568d2b8bf1b336baddb6",
    },
}


def shipped_models_dir() -> Path:
    """The folder of the models shipped inside the package."""
    return Path(str(resources.files("hipbmd.resources").joinpath("models")))


def file_hashes(folder: Path, weights_sha256: str | None = None) -> dict[str, str]:
    """sha256 of a model folder's pinned files (those present); the weights' hash may be given when it
    was just computed, so that the weights are not read twice."""
    known = {} if weights_sha256 is None else {WEIGHTS_FILE: weights_sha256}
    present = [name for name in PINNED_FILES if name not in known and (folder / name).is_file()]
    return {**known, **{name: sha256_of(folder / name) for name in present}}


def is_shipped(folder: Path, weights_sha256: str | None = None) -> bool:
    """Whether a model folder holds exactly the files of one of the shipped models.

    Args:
        folder: the model folder.
        weights_sha256: the weights' sha256 when already checked (:func:`read_checked_manifest` does).

    Raises:
        InputError: the folder is a shipped model's own folder inside the package, but its files differ
            from the pinned hashes (changed after release).
    """
    hashes = file_hashes(folder, weights_sha256)
    if hashes in SHIPPED_MODEL_SHA256.values():
        return True
    if folder.resolve().parent == shipped_models_dir().resolve() and folder.name in SHIPPED_MODEL_SHA256:
        changed = sorted(n for n, h in SHIPPED_MODEL_SHA256[folder.name].items() if hashes.get(n) != h)
        raise InputError(
            folder, f"the shipped model's {', '.join(changed)} differ from the sha256 pinned in hipbmd"
        )
    return False
