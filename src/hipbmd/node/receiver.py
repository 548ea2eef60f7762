"""The node's storage SCP (pynetdicom): answers C-ECHO and stores CR and DX images in the inbox.

Only CR, DX for presentation and DX for processing are offered; an association proposing anything else
gets that presentation context rejected (abstract syntax not supported), so the sender learns at once.
A stored dataset without pixel data or without a SOP Instance UID is answered with status 0xA900
(dataset does not match the SOP class) and logged; one that cannot be decoded with 0xC210 (cannot
understand). The node keeps running either way. The inbox write is durable before Success is answered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from hipbmd.node.inbox import Inbox

LOG = logging.getLogger("hipbmd.node")
SUCCESS = 0x0000
DATASET_DOES_NOT_MATCH = 0xA900
CANNOT_UNDERSTAND = 0xC210
OUT_OF_RESOURCES = 0xA700
VERIFICATION = "1.2.840.10008.1.1"  # C-ECHO
ACCEPTED_SOP_CLASSES = (
    "1.2.840.10008.5.1.4.1.1.1",  # Computed Radiography Image Storage
    "1.2.840.10008.5.1.4.1.1.1.1",  # Digital X-Ray Image Storage - For Presentation
    "1.2.840.10008.5.1.4.1.1.1.1.1",  # Digital X-Ray Image Storage - For Processing
)


def storage_handler(inbox: Inbox, on_stored: Callable[[], None]) -> Callable[[Any], int]:
    """The C-STORE handler: check, store durably, wake the worker, answer."""

    def handle(event: Any) -> int:
        try:
            dataset = event.dataset
            dataset.file_meta = event.file_meta
        except Exception as error:  # a dataset pydicom cannot decode
            LOG.warning("refused an object that cannot be decoded (%s)", type(error).__name__)
            return CANNOT_UNDERSTAND
        if "PixelData" not in dataset or not str(dataset.get("SOPInstanceUID", "")):
            LOG.warning("refused a %s object without pixel data or SOP Instance UID", dataset.get("Modality"))
            return DATASET_DOES_NOT_MATCH
        try:
            key = inbox.put(dataset)
        except OSError as error:
            LOG.error("could not queue a received image: %s", error.strerror)
            return OUT_OF_RESOURCES
        LOG.info("received %s (%s)", key, dataset.get("Modality", "?"))
        on_stored()
        return SUCCESS

    return handle


def start_receiver(inbox: Inbox, ae_title: str, bind: str, port: int, on_stored: Callable[[], None]) -> Any:
    """Start the storage SCP in its own threads; returns the server (``.shutdown()`` stops it)."""
    from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt

    ae = AE(ae_title=ae_title)
    ae.add_supported_context(VERIFICATION)
    for sop_class in ACCEPTED_SOP_CLASSES:
        ae.add_supported_context(sop_class, ALL_TRANSFER_SYNTAXES)
    handlers: list[Any] = [(evt.EVT_C_STORE, storage_handler(inbox, on_stored))]
    server = ae.start_server((bind, port), block=False, evt_handlers=handlers)
    LOG.info("listening as %s on %s:%d", ae_title, bind, port)
    return server
