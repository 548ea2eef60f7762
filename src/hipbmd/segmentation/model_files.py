"""Segmentation model folders (:mod:`hipbmd.io.model_folder`): the Bayesian U-Net's weights, its
:class:`~hipbmd.segmentation.bayesian_unet.UNetConfig`, the training data and command, and the held-out
metrics. The model shipped with hipbmd lives in ``hipbmd/resources/models/femur_segmentation``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from hipbmd.io.model_folder import (
    load_weights,
    read_checked_manifest,
    save_weights_and_manifest,
    sha256_of,
)

__all__ = ["default_model_dir", "load_model", "read_manifest", "save_model", "sha256_of"]

FORMAT = "hipbmd-segmentation"
FORMAT_VERSION = 1
DEFAULT_MODEL = "femur_segmentation"


def default_model_dir() -> Path:
    """Folder of the segmentation model shipped in the package."""
    return Path(str(resources.files("hipbmd.resources").joinpath("models", DEFAULT_MODEL)))


def save_model(model: Any, folder: Path, record: dict[str, Any]) -> Path:
    """Write a model's weights and manifest (``record`` adds training data, command, metrics)."""
    manifest = {"config": model.config.to_dict(), **record}
    save_weights_and_manifest(model.state_dict(), folder, FORMAT, FORMAT_VERSION, manifest)
    return folder


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a segmentation model folder, its weights' hash checked."""
    return read_checked_manifest(folder, FORMAT, FORMAT_VERSION)


def load_model(folder: Path | None = None) -> Any:
    """The BayesianUNet of a model folder (default: the shipped one), after checking the weights' hash."""
    from hipbmd.segmentation.bayesian_unet import BayesianUNet, UNetConfig

    folder = default_model_dir() if folder is None else Path(folder)
    manifest = read_manifest(folder)
    model = BayesianUNet(UNetConfig.from_dict(manifest["config"]))
    model.load_state_dict(load_weights(folder, manifest))
    model.eval()
    model.manifest = manifest
    return model
