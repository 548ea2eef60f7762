"""The web page in-process: upload → overlay, numbers and downloads; size limit; no path traversal;
uploads deleted unless kept; a PNG gets no SR."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("httpx")
from starlette.testclient import TestClient

from hipbmd.web.app import make_app

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _client(estimator: Any) -> TestClient:
    return TestClient(make_app(estimator))


def test_the_form_then_a_dicom_result_with_its_downloads(estimator: Any, dx: Path) -> None:
    client = _client(estimator)
    assert 'name="radiograph"' in client.get("/").text
    answer = client.post("/estimate", files={"radiograph": ("../../etc/passwd.dcm", dx.read_bytes())})
    assert answer.status_code == 200 and "id='overlay'" in answer.text and "g/cm2" in answer.text
    job = answer.text.split("/jobs/")[1].split("/")[0]
    for name in ("overlay.png", "record.json", "report_sr.dcm", "overlay_sc.dcm"):
        assert client.get(f"/jobs/{job}/{name}").status_code == 200, name
    assert client.get(f"/jobs/{job}/../../uploads").status_code == 404
    assert client.get(f"/jobs/{job}/radiograph.json").status_code == 404  # only the names offered
    assert not list(estimator.uploads.iterdir())  # the upload is gone
    assert not (estimator.settings.folder / "etc").exists()


def test_an_upload_kept_on_request_stays(estimator: Any, dx: Path) -> None:
    client = _client(estimator)
    client.post("/estimate", files={"radiograph": ("hip.dcm", dx.read_bytes())}, data={"keep": "1"})
    kept = list(estimator.uploads.iterdir())
    assert len(kept) == 1 and kept[0].suffix == ".dcm"
    kept[0].unlink()


def test_a_png_needs_its_spacing_and_gets_no_sr(estimator: Any) -> None:
    picture = io.BytesIO()
    Image.fromarray((np.random.default_rng(0).random((400, 420)) * 255).astype(np.uint8)).save(picture, "PNG")
    answer = _client(estimator).post(
        "/estimate", files={"radiograph": ("hip.png", picture.getvalue())}, data={"spacing_mm": "0.5"}
    )
    assert answer.status_code == 200 and "no_hip_found" in answer.text
    assert "report_sr.dcm" not in answer.text


def test_an_upload_over_the_limit_is_refused(estimator: Any) -> None:
    big = bytes(5 << 20)
    answer = _client(estimator).post("/estimate", files={"radiograph": ("big.dcm", big)})
    assert answer.status_code == 413 and "too large" in answer.text
    assert not list(estimator.uploads.iterdir())
