"""The web page built once per module with the shipped models, and a simulated DX to upload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("starlette")


@pytest.fixture(scope="module")
def estimator(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from hipbmd.decomposition.model_files import load_decomposition_model
    from hipbmd.localisation.model_files import load_localiser
    from hipbmd.web.app import Estimator, WebSettings

    settings = WebSettings(tmp_path_factory.mktemp("web"), max_upload_mb=4, samples=2)
    return Estimator(settings, load_decomposition_model(), load_localiser())


@pytest.fixture
def dx(sim_cohort: Path) -> Path:
    return sim_cohort / "cases" / "case_00001" / "xray.dcm"
