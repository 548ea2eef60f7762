"""A receiving PACS for the DICOM node's tests and benchmark: a pynetdicom storage SCP on localhost that
keeps SR and SC objects by SOP Instance UID and counts every delivery."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from pynetdicom import AE, evt
from pynetdicom.sop_class import ComprehensiveSRStorage, SecondaryCaptureImageStorage


def free_port() -> int:
    """A TCP port free on localhost now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Pacs:
    """The receiver: ``objects`` by SOP Instance UID (their modality), ``deliveries`` counted."""

    def __init__(self) -> None:
        self.port, self.deliveries = free_port(), 0
        self.objects: dict[str, Any] = {}
        self.lock = threading.Lock()
        ae = AE(ae_title="PACS")
        for sop_class in (ComprehensiveSRStorage, SecondaryCaptureImageStorage):
            ae.add_supported_context(sop_class)
        handlers: list[Any] = [(evt.EVT_C_STORE, self._store)]
        self.server = ae.start_server(("127.0.0.1", self.port), block=False, evt_handlers=handlers)

    def _store(self, event: Any) -> int:
        with self.lock:
            self.deliveries += 1
            self.objects[str(event.dataset.SOPInstanceUID)] = event.dataset
        return 0x0000

    def sr_count(self) -> int:
        """Distinct SR objects received."""
        with self.lock:
            return sum(str(dataset.Modality) == "SR" for dataset in self.objects.values())

    def wait_for(self, deliveries: int, timeout_s: float = 180.0) -> bool:
        """Whether ``deliveries`` objects arrived within the time."""
        end = time.monotonic() + timeout_s
        while self.deliveries < deliveries and time.monotonic() < end:
            time.sleep(0.2)
        return self.deliveries >= deliveries
