"""``hipbmd serve-dicom``: a DICOM node that estimates what it receives and sends the results on."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

LOG = logging.getLogger("hipbmd.node")


def serve_dicom(
    output: str | Path,
    ae_title: str = "HIPBMD",
    port: int = 11112,
    bind: str = "127.0.0.1",
    forward: str | None = None,
    model: str | Path | None = None,
    localiser: str | Path | None = None,
    samples: int = 8,
    stop: threading.Event | None = None,
    on_ready: Callable[[], None] | None = None,
) -> int:
    """Run the node until ``stop`` is set (or the process is interrupted); returns the images delivered.

    Mirrors ``hipbmd serve-dicom -o DIR [--ae-title T] [--port P] [--bind ADDRESS]
    [--forward AET@HOST:PORT]``.
    Answers C-ECHO; accepts CR and DX (for presentation and for processing) with C-STORE into a durable
    queue in ``output/inbox``; estimates each image with the models loaded once (records, overlays and
    DICOM SR and SC in ``output/results``) and sends the SR and SC to ``forward``. A restart resumes the
    queue. Logs (logger ``hipbmd.node``) name images by a digest of their SOP Instance UID, never by
    patient. Layout and behaviour: :mod:`hipbmd.node`.

    Args:
        output: the node's folder.
        ae_title: the node's application entity title.
        port, bind: where to listen (default localhost only).
        forward: ``AET@HOST:PORT`` to send results to; None keeps them in ``output/results`` only.
        model, localiser: model folders (default: the shipped ones).
        samples: Monte-Carlo dropout samples per estimate.
        stop: set it to stop the node (tests, embedding); None runs until interrupted.
        on_ready: called once the node listens.

    Raises:
        ValueError: a malformed ``forward`` or AE title; InputError: an output folder that cannot be
            written, or a model that cannot be read.
    """
    from hipbmd.bmd.batch import Batch
    from hipbmd.bmd.record_parts import EstimateOptions
    from hipbmd.decomposition.model_files import load_decomposition_model
    from hipbmd.io.output_paths import check_output_folder
    from hipbmd.localisation.model_files import load_localiser
    from hipbmd.node.inbox import Inbox
    from hipbmd.node.receiver import start_receiver
    from hipbmd.node.sender import Destination
    from hipbmd.node.worker import Worker

    if not 0 < len(ae_title) <= 16:
        raise ValueError(f"--ae-title {ae_title!r}: 1 to 16 characters")
    destination = Destination.parse(forward) if forward else None
    inbox = Inbox(check_output_folder(output))
    decomposition = load_decomposition_model(None if model is None else Path(model))
    finder = load_localiser(None if localiser is None else Path(localiser))
    batch = Batch(inbox.results, decomposition, finder, None, EstimateOptions(samples), False, dicom=True)
    worker = Worker(inbox, batch, destination, ae_title)
    thread = threading.Thread(target=worker.run, name="hipbmd-node-worker", daemon=True)
    thread.start()
    server = start_receiver(inbox, ae_title, bind, port, worker.wake)
    if on_ready is not None:
        on_ready()
    try:
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        LOG.info("interrupted")
    finally:
        server.shutdown()
        worker.stop.set()
        worker.wake()
        thread.join(timeout=60)
    return worker.delivered
