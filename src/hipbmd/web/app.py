"""The web application of ``hipbmd serve-web`` (Starlette): upload a radiograph, see what was measured.

``GET /`` is the upload form; ``POST /estimate`` takes one radiograph (multipart: ``radiograph``, and
``spacing_mm`` for a plain image) and answers with the overlay, the numbers and the flags, and links to
the JSON record and, for a DICOM upload, the SR and SC (:mod:`hipbmd.bmd.dicom_files`);
``GET /jobs/<id>/<file>`` downloads them. Safeguards:

* uploads larger than the limit are refused (413) from their Content-Length and while being read;
* the client's file name is never used: an upload is saved as ``uploads/<random id><suffix>`` with a
  suffix from a fixed list, and downloads are looked up by a 32-hex-digit job id and a fixed file name;
* uploads are deleted once estimated, unless the user ticks "keep";
* one estimate runs at a time (the models are loaded once and shared).
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hipbmd.bmd.batch import Batch
from hipbmd.bmd.record import EstimateRecord
from hipbmd.bmd.record_parts import EstimateOptions
from hipbmd.web.pages import result_page, upload_form

if TYPE_CHECKING:
    from hipbmd.decomposition.model_files import DecompositionModel
    from hipbmd.localisation.network import HipLocaliser

SUFFIXES = (".dcm", ".dicom", ".png", ".jpg", ".jpeg", ".tif", ".tiff")
JOB = re.compile(r"^[0-9a-f]{32}$")
DOWNLOADS = {  # name shown → file of the job's folder
    "overlay.png": "radiograph.png",
    "record.json": "radiograph.json",
    "report_sr.dcm": "radiograph_sr.dcm",
    "overlay_sc.dcm": "radiograph_sc.dcm",
}
MEDIA_TYPES = {".png": "image/png", ".json": "application/json", ".dcm": "application/dicom"}


@dataclass(frozen=True)
class WebSettings:
    """Where the page keeps its files, how large an upload may be, and the Monte-Carlo samples."""

    folder: Path
    max_upload_mb: int = 64
    samples: int = 8


class Estimator:
    """The models, loaded once, and the estimate of one upload at a time."""

    def __init__(self, settings: WebSettings, model: DecompositionModel, localiser: HipLocaliser) -> None:
        self.settings, self.model, self.localiser = settings, model, localiser
        self.uploads = settings.folder / "uploads"
        self.jobs = settings.folder / "jobs"
        for folder in (self.uploads, self.jobs):
            folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def estimate(self, upload: Path, job: str, spacing_mm: float | None) -> EstimateRecord:
        """Estimate a saved upload into the job's folder (DICOM results included)."""
        folder = self.jobs / job
        folder.mkdir()
        options = EstimateOptions(self.settings.samples, spacing_mm=spacing_mm)
        with self._lock:
            batch = Batch(folder, self.model, self.localiser, None, options, False, dicom=True)
            record, _, _ = batch.run(upload, "radiograph")
        return record

    def downloads(self, job: str) -> list[str]:
        """The names of the files a job offers."""
        return [name for name, file in DOWNLOADS.items() if (self.jobs / job / file).is_file()]


def make_app(estimator: Estimator) -> Any:
    """The Starlette application (module docstring)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, HTMLResponse, Response
    from starlette.routing import Route

    limit = estimator.settings.max_upload_mb << 20

    def home(request: Request) -> Response:
        return HTMLResponse(upload_form(estimator.settings.max_upload_mb))

    async def estimate(request: Request) -> Response:
        if int(request.headers.get("content-length") or 0) > limit + (1 << 16):
            return HTMLResponse(upload_form(estimator.settings.max_upload_mb, "the file is too large"), 413)
        form = await request.form(max_files=1, max_fields=4, max_part_size=limit)
        upload, spacing, keep = form.get("radiograph"), form.get("spacing_mm"), form.get("keep") == "1"
        if upload is None or isinstance(upload, str):
            return HTMLResponse(upload_form(estimator.settings.max_upload_mb, "choose a radiograph"), 400)
        try:
            spacing_mm = float(spacing) if isinstance(spacing, str) and spacing.strip() else None
        except ValueError:
            return HTMLResponse(
                upload_form(estimator.settings.max_upload_mb, "the spacing is not a number"), 400
            )
        job = uuid.uuid4().hex
        suffix = Path(upload.filename or "").suffix.lower()
        saved = estimator.uploads / f"{job}{suffix if suffix in SUFFIXES else '.dcm'}"
        data = await upload.read(limit + 1)
        await upload.close()
        if len(data) > limit:
            return HTMLResponse(upload_form(estimator.settings.max_upload_mb, "the file is too large"), 413)
        saved.write_bytes(data)
        try:
            record = await _in_thread(estimator.estimate, saved, job, spacing_mm)
        finally:
            if not keep:
                saved.unlink(missing_ok=True)
        return HTMLResponse(result_page(record, job, estimator.downloads(job)))

    def download(request: Request) -> Response:
        job, name = request.path_params["job"], request.path_params["name"]
        if not JOB.match(job) or name not in DOWNLOADS:
            return Response("not found", 404)
        path = estimator.jobs / job / DOWNLOADS[name]
        if not path.is_file():
            return Response("not found", 404)
        return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], filename=name)

    routes = [
        Route("/", home),
        Route("/estimate", estimate, methods=["POST"]),
        Route("/jobs/{job}/{name}", download),
    ]
    return Starlette(routes=routes)


async def _in_thread(
    function: Callable[[Path, str, float | None], EstimateRecord], *args: Any
) -> EstimateRecord:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(function, *args)
