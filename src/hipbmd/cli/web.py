"""``hipbmd serve-web``: a web page to upload a radiograph and see its estimate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hipbmd.cli.support import run_reporting_errors


def serve_web(
    output: Annotated[Path, typer.Option("-o", "--output", help="The page's folder (uploads, results).")],
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    bind: Annotated[str, typer.Option(help="Address to listen on (default: this machine only).")] = (
        "127.0.0.1"
    ),
    model: Annotated[Path | None, typer.Option(help="Decomposition model folder (default: shipped).")] = (
        None
    ),
    localiser: Annotated[Path | None, typer.Option(help="Hip-localiser model folder (default: shipped).")] = (
        None
    ),
    max_upload_mb: Annotated[int, typer.Option(min=1, help="Largest upload accepted, MB.")] = 64,
    samples: Annotated[int, typer.Option(min=1, max=64, help="Monte-Carlo dropout samples.")] = 8,
) -> None:
    """Serve a web page to upload a radiograph and see the overlay, numbers and flags (Ctrl-C stops)."""
    from hipbmd import api

    typer.echo(f"serving on http://{bind}:{port}/ (Ctrl-C stops)")
    run_reporting_errors(lambda: api.serve_web(output, port, bind, model, localiser, max_upload_mb, samples))
