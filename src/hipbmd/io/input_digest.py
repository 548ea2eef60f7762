"""A digest of what a radiograph file holds, so that a record is matched to its file by content.

A path alone does not name an image: a file replaced by another at the same path would keep the old
record, and another patient's BMD would be reported. The digest is the sha256 of the decoded pixel array
(after the modality LUT, as hipbmd measures it), its shape, and the SOP Instance UID when the file has
one. It says nothing about the patient.
"""

from __future__ import annotations

import hashlib

import numpy as np

from hipbmd.types import Radiograph


def radiograph_digest(radiograph: Radiograph) -> str:
    """Hex sha256 of a radiograph's pixels, shape and SOP Instance UID."""
    digest = hashlib.sha256()
    digest.update(str(radiograph.shape).encode())
    digest.update(np.ascontiguousarray(radiograph.array, dtype=np.float32).tobytes())
    digest.update(str(radiograph.meta.get("sop_instance_uid") or "").encode())
    return digest.hexdigest()
