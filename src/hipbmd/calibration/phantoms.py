"""Calibration phantom definitions: the known density of each rod, built in or from a user JSON file.

Built-in values come from ``resources/phantoms/calibration_phantoms.json`` (see its PROVENANCE.txt). Densities
are mg/cm³ of the phantom's reference material: hydroxyapatite (HA) for B-MAS 200, QRM-BDC and similar, K2HPO4
in water for Mindways phantoms (whose water content per rod is given too, for the two-component fit).

A user JSON holds ``{"name": ..., "material": "HA" | "K2HPO4", "densities_mg_cm3": [...]}`` and, for
K2HPO4 phantoms, ``"water_mg_cm3": [...]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from hipbmd.errors import InputError

Material = Literal["HA", "K2HPO4"]


@dataclass(frozen=True)
class Phantom:
    """A calibration phantom: rod densities in mg/cm³ of its reference material.

    Attributes:
        name: the phantom's name.
        material: "HA" (hydroxyapatite) or "K2HPO4" (dipotassium phosphate in water).
        densities_mg_cm3: one density per rod.
        water_mg_cm3: per-rod water density (K2HPO4 phantoms only), for the two-component calibration.
    """

    name: str
    material: Material
    densities_mg_cm3: tuple[float, ...]
    water_mg_cm3: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if len(self.densities_mg_cm3) < 2:
            raise ValueError(f"phantom {self.name!r} needs at least two rods")
        if self.water_mg_cm3 is not None and len(self.water_mg_cm3) != len(self.densities_mg_cm3):
            raise ValueError(f"phantom {self.name!r}: water densities do not match the rods")


def _from_builtin(name: str, entry: dict[str, Any]) -> Phantom:
    if "k2hpo4_mg_per_cc" in entry:
        return Phantom(name, "K2HPO4", tuple(entry["k2hpo4_mg_per_cc"]), tuple(entry["water_mg_per_cc"]))
    return Phantom(name, "HA", tuple(entry["ha_mg_per_cc"]))


@lru_cache(maxsize=1)
def builtin_phantoms() -> dict[str, Phantom]:
    """The phantoms hipbmd knows, by name (e.g. "B-MAS 200 (Kyoto Kagaku)", "Mindways Model 3 CT")."""
    text = resources.files("hipbmd.resources").joinpath("phantoms", "calibration_phantoms.json").read_text()
    entries = json.loads(text)["phantoms"]
    return {name: _from_builtin(name, entry) for name, entry in entries.items()}


def load_phantom(name_or_path: str | Path) -> Phantom:
    """A built-in phantom by (case-insensitive, prefix) name, or a user JSON definition file."""
    phantoms = builtin_phantoms()
    wanted = str(name_or_path).lower()
    matches = [p for key, p in phantoms.items() if key.lower() == wanted or key.lower().startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    path = Path(name_or_path)
    if path.is_file():
        return _from_user_file(path)
    known = "; ".join(phantoms)
    problem = "ambiguous phantom name" if matches else "no such phantom or file"
    raise InputError(name_or_path, f"{problem} (built in: {known})")


def _from_user_file(path: Path) -> Phantom:
    try:
        record = json.loads(path.read_text())
        water = record.get("water_mg_cm3")
        return Phantom(
            str(record["name"]),
            record["material"],
            tuple(float(v) for v in record["densities_mg_cm3"]),
            tuple(float(v) for v in water) if water is not None else None,
        )
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise InputError(path, f"not a phantom definition ({error})") from error
