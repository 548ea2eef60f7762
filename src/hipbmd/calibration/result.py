"""A CT's density calibration: the HU → mg/cm³ line, how it was found, and its JSON file.

The line is HU = slope·ρ + intercept (slope in HU per mg/cm³, intercept in HU), so a voxel's density is
ρ = (HU − intercept) / slope. ``material`` says what the density is an equivalent of: hydroxyapatite
("HA", hipbmd's convention) or K2HPO4 (the two-component Mindways calibration).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from hipbmd import __version__
from hipbmd.calibration.phantoms import Material
from hipbmd.calibration.rods import RodMeasurement
from hipbmd.errors import InputError
from hipbmd.io.records import write_json
from hipbmd.types import Volume

Method = Literal["phantom", "manual", "phantomless"]
POOR_FIT_R = 0.99  # a phantom fit with a smaller r is refused


@dataclass(frozen=True)
class ReferenceTissue:
    """An internal reference of a phantomless calibration.

    Attributes:
        name: "fat" or "muscle".
        mean_hu: its CT number (the peak of its HU histogram).
        density_mg_cm3: its hydroxyapatite-equivalent density (from the physics tables).
        voxels: voxels near the peak (within 15 HU).
    """

    name: str
    mean_hu: float
    density_mg_cm3: float
    voxels: int


@dataclass(frozen=True)
class Calibration:
    """HU → mg/cm³ for one CT.

    Attributes:
        method: "phantom" (rods in the scan), "manual" (slope and intercept given) or "phantomless".
        slope_hu_per_mg_cm3: HU per mg/cm³ (σ_CT for a Mindways calibration).
        intercept_hu: HU at zero density (β_CT for a Mindways calibration).
        material: what the density is an equivalent of: "HA" or "K2HPO4".
        phantom: the phantom's name (method "phantom").
        r: Pearson correlation of the rods' density and HU (method "phantom").
        rods: the rods, in the phantom's order.
        rod_densities_mg_cm3: each rod's known density.
        residuals_mg_cm3: each rod's density as read back minus its known density.
        references: the internal references (method "phantomless").
        flags: what a user should know about this calibration, in words.
        details: further numbers by name (σ_ref, β_ref, the assumed effective energy, …).
        source: the CT the calibration was made from.
    """

    method: Method
    slope_hu_per_mg_cm3: float
    intercept_hu: float
    material: Material = "HA"
    phantom: str | None = None
    r: float | None = None
    rods: tuple[RodMeasurement, ...] = ()
    rod_densities_mg_cm3: tuple[float, ...] = ()
    residuals_mg_cm3: tuple[float, ...] = ()
    references: tuple[ReferenceTissue, ...] = ()
    flags: tuple[str, ...] = ()
    details: dict[str, float] = field(default_factory=dict)
    source: str | None = None

    def __post_init__(self) -> None:
        if not np.isfinite(self.slope_hu_per_mg_cm3) or self.slope_hu_per_mg_cm3 <= 0:
            raise ValueError(f"calibration slope must be positive, got {self.slope_hu_per_mg_cm3}")
        if not np.isfinite(self.intercept_hu):
            raise ValueError("calibration intercept must be finite")

    def density_mg_cm3(self, hu: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """ρ = (HU − intercept) / slope, mg/cm³ of ``material``."""
        values = np.asarray(hu, np.float32)
        return np.asarray((values - np.float32(self.intercept_hu)) / np.float32(self.slope_hu_per_mg_cm3))

    def apply(self, volume: Volume) -> Volume:
        """The calibrated density volume (unit "mg/cm3"); its meta records the calibration."""
        if volume.unit != "HU":
            raise ValueError(f"calibration applies to a HU volume, not {volume.unit}")
        meta = {**volume.meta, "calibration": self.summary()}
        return Volume(self.density_mg_cm3(volume.array), volume.affine.copy(), "mg/cm3", meta)

    def summary(self) -> dict[str, Any]:
        """The line and how it was made, without the per-rod table."""
        return {
            "method": self.method,
            "phantom": self.phantom,
            "material": self.material,
            "slope_hu_per_mg_cm3": self.slope_hu_per_mg_cm3,
            "intercept_hu": self.intercept_hu,
            "r": self.r,
            "flags": list(self.flags),
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record (rods with their density and residual)."""
        rods = [
            {"density_mg_cm3": density, **asdict(rod), "residual_mg_cm3": residual}
            for rod, density, residual in zip(
                self.rods, self.rod_densities_mg_cm3, self.residuals_mg_cm3, strict=True
            )
        ]
        return {
            "hipbmd_version": __version__,
            "source": self.source,
            **self.summary(),
            "details": dict(self.details),
            "rods": rods,
            "references": [asdict(reference) for reference in self.references],
        }

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Calibration:
        """The calibration of a :meth:`to_dict` record."""
        rod_fields = set(RodMeasurement.__dataclass_fields__)
        rods = record.get("rods", [])
        return cls(
            method=record["method"],
            slope_hu_per_mg_cm3=float(record["slope_hu_per_mg_cm3"]),
            intercept_hu=float(record["intercept_hu"]),
            material=record.get("material", "HA"),
            phantom=record.get("phantom"),
            r=None if record.get("r") is None else float(record["r"]),
            rods=tuple(RodMeasurement(**{k: v for k, v in rod.items() if k in rod_fields}) for rod in rods),
            rod_densities_mg_cm3=tuple(float(rod["density_mg_cm3"]) for rod in rods),
            residuals_mg_cm3=tuple(float(rod["residual_mg_cm3"]) for rod in rods),
            references=tuple(ReferenceTissue(**reference) for reference in record.get("references", [])),
            flags=tuple(record.get("flags", [])),
            details={str(k): float(v) for k, v in record.get("details", {}).items()},
            source=record.get("source"),
        )

    def save(self, path: str | Path) -> Path:
        """Write the calibration as JSON."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, self.to_dict())
        return path


def load_calibration(path: str | Path) -> Calibration:
    """Read a calibration JSON written by :meth:`Calibration.save` (or ``hipbmd calibrate -o``)."""
    path = Path(path)
    try:
        return Calibration.from_dict(json.loads(path.read_text()))
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise InputError(path, f"not a calibration file ({error})") from error
