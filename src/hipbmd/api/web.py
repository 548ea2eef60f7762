"""``hipbmd serve-web``: a small web page to upload a radiograph and see its estimate."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def serve_web(
    output: str | Path,
    port: int = 8080,
    bind: str = "127.0.0.1",
    model: str | Path | None = None,
    localiser: str | Path | None = None,
    max_upload_mb: int = 64,
    samples: int = 8,
    on_server: Callable[[Any], None] | None = None,
) -> None:
    """Serve the page until interrupted (or until ``server.should_exit`` is set by the caller).

    Mirrors ``hipbmd serve-web -o DIR [--port P] [--bind ADDRESS] [--max-upload-mb N]``. Uploads go to
    ``output/uploads`` and are deleted once estimated unless kept; results stay in ``output/jobs/<id>``.
    Behaviour and safeguards: :mod:`hipbmd.web.app`.

    Args:
        output: the page's folder.
        port, bind: where to listen (default localhost only).
        model, localiser: model folders (default: the shipped ones).
        max_upload_mb: the largest upload accepted, MB.
        samples: Monte-Carlo dropout samples per estimate.
        on_server: called with the uvicorn server before it starts (tests stop it through it).

    Raises:
        InputError: an output folder that cannot be written, or a model that cannot be read.
    """
    import uvicorn

    from hipbmd.decomposition.model_files import load_decomposition_model
    from hipbmd.io.output_paths import check_output_folder
    from hipbmd.localisation.model_files import load_localiser
    from hipbmd.web.app import Estimator, WebSettings, make_app

    if max_upload_mb < 1:
        raise ValueError(f"--max-upload-mb must be at least 1, not {max_upload_mb}")
    settings = WebSettings(check_output_folder(output), max_upload_mb, samples)
    decomposition = load_decomposition_model(None if model is None else Path(model))
    finder = load_localiser(None if localiser is None else Path(localiser))
    app = make_app(Estimator(settings, decomposition, finder))
    server = uvicorn.Server(uvicorn.Config(app, host=bind, port=port, log_level="warning"))
    if on_server is not None:
        on_server(server)
    server.run()
