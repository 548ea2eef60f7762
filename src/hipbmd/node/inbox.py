"""The node's durable queue: each received image is a file in ``inbox/`` until its results are delivered.

A received dataset is written to ``inbox/<key>.dcm`` under a temporary name and renamed, before the
sender is told it was stored; it leaves the inbox (to ``done/``) only after its results were sent, or
when there is nothing to send. A node killed at any moment therefore loses nothing: on restart every
file still in the inbox is estimated and delivered again. The key is a digest of the SOP Instance UID,
so a file name says nothing about the patient and a re-sent image replaces its queued copy.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pydicom import Dataset


def instance_key(sop_instance_uid: str) -> str:
    """The file name stem of an image in the queue: 20 hex digits of a digest of its SOP Instance UID."""
    return hashlib.sha256(sop_instance_uid.encode()).hexdigest()[:20]


class Inbox:
    """The folders of a node: ``inbox/`` (to do), ``done/`` (handled), ``results/`` (records and DICOM)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pending = folder / "inbox"
        self.done = folder / "done"
        self.results = folder / "results"
        for path in (self.pending, self.done, self.results):
            path.mkdir(parents=True, exist_ok=True)

    def put(self, dataset: Dataset) -> str:
        """Store a received dataset (with its file meta) durably; returns its key."""
        key = instance_key(str(dataset.SOPInstanceUID))
        target = self.pending / f"{key}.dcm"
        partial = target.with_name(target.name + ".partial")
        dataset.save_as(partial, enforce_file_format=True)
        with partial.open("rb") as stream:
            os.fsync(stream.fileno())
        os.replace(partial, target)
        return key

    def waiting(self) -> list[Path]:
        """The images still to handle, oldest first."""
        return sorted(self.pending.glob("*.dcm"), key=lambda path: (path.stat().st_mtime_ns, path.name))

    def finish(self, path: Path) -> None:
        """Move a handled image out of the inbox."""
        os.replace(path, self.done / path.name)
