"""``hipbmd serve-dicom``: a DICOM node (storage SCP) that estimates what it receives."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from hipbmd.cli.support import run_reporting_errors


def serve_dicom(
    output: Annotated[Path, typer.Option("-o", "--output", help="The node's folder (queue, results).")],
    ae_title: Annotated[str, typer.Option("--ae-title", help="The node's AE title.")] = "HIPBMD",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 11112,
    bind: Annotated[
        str, typer.Option(help="Address to listen on (default: this machine only).")
    ] = "127.0.0.1",
    forward: Annotated[
        str | None, typer.Option(help="Send the SR and SC to AET@HOST:PORT (e.g. the PACS).")
    ] = None,
    model: Annotated[Path | None, typer.Option(help="Decomposition model folder (default: shipped).")] = None,
    localiser: Annotated[
        Path | None, typer.Option(help="Hip-localiser model folder (default: shipped).")
    ] = None,
    samples: Annotated[int, typer.Option(min=1, max=64, help="Monte-Carlo dropout samples.")] = 8,
) -> None:
    """Run a DICOM node: C-ECHO, C-STORE of CR/DX into a durable queue, results sent on (Ctrl-C stops)."""
    from hipbmd import api

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    delivered = run_reporting_errors(
        lambda: api.serve_dicom(output, ae_title, port, bind, forward, model, localiser, samples)
    )
    typer.echo(f"stopped: {delivered} images delivered")
