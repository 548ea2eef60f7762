"""The node's storage SCU: delivers result objects to the forward destination with C-STORE."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydicom import dcmread


@dataclass(frozen=True)
class Destination:
    """A DICOM node to send to: ``AET@HOST:PORT``."""

    ae_title: str
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Destination:
        """``AET@HOST:PORT`` → a destination.

        Raises:
            ValueError: not of that form.
        """
        title, _, address = text.partition("@")
        host, _, port = address.rpartition(":")
        if not title or not host or not port.isdigit() or not 0 < int(port) < 65536 or len(title) > 16:
            raise ValueError(f"--forward {text!r}: expected AET@HOST:PORT, e.g. PACS@10.0.0.5:104")
        return cls(title, host, int(port))


class DeliveryError(Exception):
    """The destination did not take every object (not reachable, or a failure status)."""


def send_files(paths: Sequence[Path], destination: Destination, calling_ae_title: str) -> None:
    """C-STORE each file to the destination in one association.

    Raises:
        DeliveryError: no association, or an object not stored with status Success.
    """
    from pynetdicom import AE

    datasets = [dcmread(path) for path in paths]
    ae = AE(ae_title=calling_ae_title)
    for sop_class in sorted({str(ds.SOPClassUID) for ds in datasets}):
        ae.add_requested_context(sop_class)
    association = ae.associate(destination.host, destination.port, ae_title=destination.ae_title)
    if not association.is_established:
        raise DeliveryError(
            f"no association with {destination.ae_title}@{destination.host}:{destination.port}"
        )
    try:
        for dataset in datasets:
            status = association.send_c_store(dataset)
            code = getattr(status, "Status", None)
            if code != 0x0000:
                raise DeliveryError(f"the destination answered status {code} to a {dataset.Modality} object")
    finally:
        association.release()
