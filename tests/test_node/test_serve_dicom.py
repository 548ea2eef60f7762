"""The DICOM node end to end on localhost, with pynetdicom as the modality and as the PACS: C-ECHO,
C-STORE of a DX, its SR and SC delivered once per result (the same objects when sent again), other
SOP classes and malformed objects refused while the node stays up, a queue that survives a restart,
and logs without patient identifiers."""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest

pytest.importorskip("torch")
pynetdicom = pytest.importorskip("pynetdicom")

from pynetdicom import AE  # noqa: E402
from pynetdicom.sop_class import (  # noqa: E402
    CTImageStorage,
    Verification,
)

from hipbmd import api  # noqa: E402
from hipbmd.node.inbox import Inbox  # noqa: E402
from pacs_receiver import Pacs, free_port  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture
def pacs() -> Iterator[Pacs]:
    receiver = Pacs()
    yield receiver
    receiver.server.shutdown()


def _start_node(folder: Path, pacs: Pacs) -> tuple[int, threading.Event, threading.Thread]:
    port, stop, ready = free_port(), threading.Event(), threading.Event()
    forward = f"PACS@127.0.0.1:{pacs.port}"
    thread = threading.Thread(
        target=api.serve_dicom,
        kwargs={
            "output": folder,
            "port": port,
            "forward": forward,
            "samples": 2,
            "stop": stop,
            "on_ready": ready.set,
        },
        daemon=True,
    )
    thread.start()
    assert ready.wait(120), "the node did not start"
    return port, stop, thread


def _associate(port: int, *sop_classes: str) -> Any:
    ae = AE(ae_title="MODALITY")
    for sop_class in sop_classes:
        ae.add_requested_context(sop_class)
    association = ae.associate("127.0.0.1", port, ae_title="HIPBMD")
    assert association.is_established
    return association


def test_the_node_estimates_what_it_receives_and_delivers_the_results_once(
    sim_cohort: Path, tmp_path: Path, pacs: Pacs, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hipbmd.node")
    xray = pydicom.dcmread(sim_cohort / "cases" / "case_00001" / "xray.dcm")
    port, stop, thread = _start_node(tmp_path / "node", pacs)
    try:
        dx = str(xray.SOPClassUID)
        association = _associate(port, Verification, dx, CTImageStorage)
        contexts = {context.abstract_syntax for context in association.accepted_contexts}
        assert CTImageStorage not in contexts  # a CT is refused at the association
        assert association.send_c_echo().Status == 0x0000
        assert association.send_c_store(xray).Status == 0x0000
        broken = copy.deepcopy(xray)
        del broken.PixelData
        assert association.send_c_store(broken).Status == 0xA900  # answered, logged, skipped
        association.release()
        assert pacs.wait_for(2)
        first = set(pacs.objects)
        modalities = sorted(ds.Modality for ds in pacs.objects.values())
        assert modalities == ["OT", "SR"] and all(
            ds.StudyInstanceUID == xray.StudyInstanceUID for ds in pacs.objects.values()
        )
        again = _associate(port, dx)  # sent once more
        assert again.send_c_store(xray).Status == 0x0000
        again.release()
        assert pacs.wait_for(4)
        assert set(pacs.objects) == first  # the same two objects: the PACS keeps one copy
        assert _associate(port, Verification).send_c_echo().Status == 0x0000  # still up
    finally:
        stop.set()
        thread.join(60)
    assert not list((tmp_path / "node" / "inbox").glob("*.dcm"))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "received" in logged and "delivered" in logged
    for identifier in (str(xray.PatientID), str(xray.PatientName)):
        assert identifier not in logged


def test_a_queue_left_by_a_killed_node_is_delivered_on_restart(
    sim_cohort: Path, tmp_path: Path, pacs: Pacs
) -> None:
    folder = tmp_path / "node"
    xray = pydicom.dcmread(sim_cohort / "cases" / "case_00002" / "xray.dcm")
    Inbox(folder).put(xray)  # received, acknowledged, then the node died before estimating it
    _, stop, thread = _start_node(folder, pacs)
    try:
        assert pacs.wait_for(2)
    finally:
        stop.set()
        thread.join(60)
    assert not list((folder / "inbox").glob("*.dcm")) and len(list((folder / "done").glob("*.dcm"))) == 1
