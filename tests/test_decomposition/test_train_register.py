"""``hipbmd train --register``: pairs from registration reach training, and the model says so."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from hipbmd.cli import main  # noqa: E402
from hipbmd.decomposition.fit_model import plan_from_config  # noqa: E402
from hipbmd.decomposition.hip_registration import RegistrationSettings  # noqa: E402
from hipbmd.errors import InputError  # noqa: E402

# A tiny network, and registrations cheap enough to wire things up (not to register well).
TINY_REGISTERED_CONFIG = """
grid: {shape: [64, 64], spacing_mm: 2.5}
generator: {base_width: 4}
gan: {iterations: [2, 2], batch: 2, checkpoint_every: 2}
registration:
  levels: [16]
  coarse_starts: 1
  max_evaluations_per_level: 10
  min_similarity: 0.0
  min_pelvis_similarity: 0.0
  max_joint_offset_mm: 1000.0
"""


def test_the_config_sets_the_registration_and_refuses_unknown_keys(tmp_path: Path) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY_REGISTERED_CONFIG)
    plan = plan_from_config(config)
    assert plan.registration == RegistrationSettings((16,), 1, 10, 0.0, 0.0, 1000.0)
    assert not plan.register and plan.to_dict()["pairs_from"] == "truth"
    config.write_text("registration: {levels: [4], step: 2}\n")
    with pytest.raises(InputError, match="unknown registration settings"):
        plan_from_config(config)


def test_train_register_makes_a_model_from_registered_pairs(
    sim_cohort: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY_REGISTERED_CONFIG)
    model = tmp_path / "model"
    argv = ["hipbmd", "train", "--cohort", str(sim_cohort), "-o", str(model), "--config", str(config)]
    monkeypatch.setattr(sys, "argv", [*argv, "--register"])
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code in (0, None)
    training = json.loads((model / "model.json").read_text())["training"]
    assert training["plan"]["pairs_from"] == "registration"
    assert training["plan"]["registration"]["levels"] == [16]
    assert (
        training["registration"]["cases"] == 3 and training["registration"]["hips_used"] == training["pairs"]
    )
    assert not (model / "pairs.npz").exists()  # the truth path's cache is not written
    assert sorted(path.name for path in (model / "registered").glob("*.json")) == [
        "case_00000.json",
        "case_00001.json",
        "case_00002.json",
        "summary.json",
    ]
