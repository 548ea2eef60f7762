"""The node's worker: estimates each image of the inbox and delivers its SR and SC.

Images are handled one at a time, oldest first, with the models loaded once. An image whose results
cannot be delivered (the destination is down) stays in the inbox and is tried again after
:data:`RETRY_SECONDS`; its estimate is not redone (the record is finished), only the delivery. An image
with nothing to deliver (no hip, refused, unreadable) leaves the inbox with its reason logged.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from hipbmd.bmd.batch import Batch
from hipbmd.bmd.dicom_files import dicom_result_paths
from hipbmd.node.inbox import Inbox
from hipbmd.node.sender import DeliveryError, Destination, send_files

LOG = logging.getLogger("hipbmd.node")
RETRY_SECONDS = 5.0


class Worker:
    """Estimate and deliver the inbox until ``stop`` is set; ``wake()`` says an image arrived."""

    def __init__(self, inbox: Inbox, batch: Batch, destination: Destination | None, ae_title: str) -> None:
        self.inbox, self.batch, self.destination, self.ae_title = inbox, batch, destination, ae_title
        self.stop = threading.Event()
        self._arrived = threading.Event()
        self.delivered = 0

    def wake(self) -> None:
        """Called by the receiver after an image is queued."""
        self._arrived.set()

    def run(self) -> None:
        """The loop (a thread's target)."""
        while not self.stop.is_set():
            self._arrived.clear()
            stalled = False
            for path in self.inbox.waiting():
                if self.stop.is_set():
                    return
                stalled |= not self.handle(path)
            self._arrived.wait(RETRY_SECONDS if stalled else 1.0)

    def handle(self, path: Path) -> bool:
        """Estimate one image and deliver its results; False when the delivery must be tried again."""
        record, status, name = self.batch.run(path, path.stem)
        if record.reason is not None:
            LOG.info("%s: no result to send (%s)", path.stem, record.reason)
            self.inbox.finish(path)
            return True
        files = [p for p in dicom_result_paths(self.batch.folder, name) if p.is_file()]
        if self.destination is not None and files:
            try:
                send_files(files, self.destination, self.ae_title)
            except (DeliveryError, OSError) as error:
                LOG.warning("%s: results not delivered, will retry (%s)", path.stem, error)
                return False
            self.delivered += 1
            LOG.info("%s: %s, %d objects delivered", path.stem, status, len(files))
        self.inbox.finish(path)
        return True
