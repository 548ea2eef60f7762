"""Hip-localiser model folders (:mod:`hipbmd.io.model_folder`): the weights, the architecture
(:class:`~hipbmd.localisation.network.LocaliserConfig`), the training record and the held-out evaluation,
with a model card. The model shipped with hipbmd lives in ``hipbmd/resources/models/hip_localiser``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hipbmd.io.model_folder import load_weights, read_checked_manifest, save_weights_and_manifest
from hipbmd.io.model_pins import is_shipped

if TYPE_CHECKING:
    from hipbmd.localisation.network import HipLocaliser

FORMAT = "hipbmd-hip-localiser"
FORMAT_VERSION = 1
DEFAULT_MODEL = "hip_localiser"


def default_model_dir() -> Path:
    """Folder of the hip localiser shipped in the package."""
    return Path(str(resources.files("hipbmd.resources").joinpath("models", DEFAULT_MODEL)))


def save_localiser(model: Any, folder: Path, record: dict[str, Any]) -> Path:
    """Write a localiser's weights and manifest (``record`` adds training and evaluation entries)."""
    manifest = {"config": model.config.to_dict(), **record}
    save_weights_and_manifest(model.state_dict(), folder, FORMAT, FORMAT_VERSION, manifest)
    return folder


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a localiser folder, its weights' hash checked."""
    return read_checked_manifest(folder, FORMAT, FORMAT_VERSION)


def load_localiser(folder: Path | None = None) -> HipLocaliser:
    """The :class:`~hipbmd.localisation.network.HipLocaliser` of a folder (default: the shipped one),
    in eval mode, after checking the weights' sha256."""
    from hipbmd.localisation.network import HipLocaliser, LocaliserConfig

    folder = default_model_dir() if folder is None else Path(folder)
    manifest = read_manifest(folder)
    model = HipLocaliser(LocaliserConfig.from_dict(manifest["config"]))
    model.load_state_dict(load_weights(folder, manifest))
    model.eval()
    model.manifest = manifest
    model.shipped = is_shipped(folder, manifest["weights"]["sha256"])
    return model
