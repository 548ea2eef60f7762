"""Phantom definitions: the built-in table and user files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hipbmd.calibration import builtin_phantoms, load_phantom
from hipbmd.errors import InputError


def test_builtin_bmas200_and_mindways() -> None:
    bmas = load_phantom("b-mas 200")
    assert bmas.material == "HA" and bmas.densities_mg_cm3 == (0, 50, 100, 150, 200)
    mindways = load_phantom("Mindways Model 3 CT")
    assert mindways.material == "K2HPO4" and mindways.water_mg_cm3 is not None
    assert len(mindways.water_mg_cm3) == len(mindways.densities_mg_cm3) == 5
    assert len(builtin_phantoms()) == 7


def test_user_phantom_file(tmp_path: Path) -> None:
    path = tmp_path / "site_phantom.json"
    path.write_text(json.dumps({"name": "site", "material": "HA", "densities_mg_cm3": [0, 120, 240]}))
    assert load_phantom(path).densities_mg_cm3 == (0.0, 120.0, 240.0)


@pytest.mark.parametrize(
    ("name", "message"), [("mindways", "ambiguous"), ("nothing-like-this", "no such phantom")]
)
def test_unknown_or_ambiguous_names(name: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_phantom(name)


def test_bad_user_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"name": "one rod", "material": "HA", "densities_mg_cm3": [100]}))
    with pytest.raises(InputError, match="not a phantom definition"):
        load_phantom(path)
