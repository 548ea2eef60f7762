"""A tiny decomposition model trained in-process on the session's simulated cohort, shared by the
estimate tests (module-scoped: tests that change it work on a copy)."""

from __future__ import annotations

from pathlib import Path

import pytest

TINY_CONFIG = """
grid: {shape: [64, 64], spacing_mm: 2.5}
generator: {base_width: 4}
gan: {iterations: [2, 2], batch: 2, checkpoint_every: 2}
"""


@pytest.fixture(scope="module")
def tiny_model(sim_cohort: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch = pytest.importorskip("torch")
    from hipbmd import api

    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("model") / "tiny"
    config = folder.parent / "tiny.yaml"
    config.write_text(TINY_CONFIG)
    api.train(sim_cohort, folder, config)
    return folder
