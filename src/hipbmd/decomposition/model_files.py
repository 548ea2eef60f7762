"""Decomposition model folders (:mod:`hipbmd.io.model_folder`): the generator's weights and what is needed
to use them: its :class:`~hipbmd.decomposition.networks.GeneratorConfig`, the crop grid
(:class:`~hipbmd.decomposition.crop.CropGrid`), the input normalisation, the unit of the output, and
the linear map from the predicted DRR's ROI means to DXA g/cm² fitted on the training cohort.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from hipbmd.decomposition.crop import CropGrid
from hipbmd.io.model_folder import load_weights, read_checked_manifest, save_weights_and_manifest
from hipbmd.io.model_pins import is_shipped

FORMAT = "hipbmd-decomposition"
FORMAT_VERSION = 1
DEFAULT_MODEL = "bmd_gan"
INPUT_NORMALISATION = "crop percentiles 1-99 to 0-1, clipped to -0.5..1.5"


@dataclass
class DecompositionModel:
    """A loaded generator with its grid, DXA calibration and manifest."""

    generator: Any
    grid: CropGrid
    dxa_calibration: dict[str, dict[str, float]] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    shipped: bool = False

    @property
    def sha256(self) -> str:
        """sha256 of the weights."""
        return str(self.manifest.get("weights", {}).get("sha256", ""))

    @property
    def calibration_sha256(self) -> str | None:
        """sha256 of the interval calibration as stored (keys sorted), None without one: results made
        under another calibration are not those of this model."""
        import hashlib

        calibration = self.manifest.get("interval_calibration")
        if not calibration:
            return None
        return hashlib.sha256(json.dumps(calibration, sort_keys=True).encode()).hexdigest()


def default_model_dir() -> Path:
    """Folder of the decomposition model shipped in the package."""
    return Path(str(resources.files("hipbmd.resources").joinpath("models", DEFAULT_MODEL)))


def save_decomposition_model(
    generator: Any,
    grid: CropGrid,
    folder: Path,
    record: dict[str, Any],
    dxa_calibration: dict[str, dict[str, float]] | None = None,
) -> dict[str, Any]:
    """Write the generator and its manifest; ``record`` adds name, training and metrics."""
    manifest = {
        "generator": json.loads(generator.config.to_json()),
        "grid": grid.to_dict(),
        "input_normalisation": INPUT_NORMALISATION,
        "output": "femur areal density g/cm2 (mineral, HA), on the crop grid",
        "dxa_calibration": dxa_calibration or {},
        **record,
    }
    return save_weights_and_manifest(generator.state_dict(), folder, FORMAT, FORMAT_VERSION, manifest)


def load_decomposition_model(folder: Path | None = None) -> DecompositionModel:
    """The model in ``folder`` (default: the shipped one), after checking the weights' sha256."""
    from hipbmd.decomposition.networks import Generator, GeneratorConfig

    folder = default_model_dir() if folder is None else Path(folder)
    manifest = read_checked_manifest(folder, FORMAT, FORMAT_VERSION)
    generator = Generator(GeneratorConfig.from_json(json.dumps(manifest["generator"])))
    generator.load_state_dict(load_weights(folder, manifest))
    generator.eval()
    grid = CropGrid.from_dict(manifest["grid"])
    shipped = is_shipped(folder, manifest["weights"]["sha256"])
    return DecompositionModel(generator, grid, manifest.get("dxa_calibration", {}), manifest, shipped)
