"""A digest of what a radiograph file holds, so that a record is matched to its file by content.

A path alone does not name an image: a file replaced by another at the same path would keep the old
record, and another patient's BMD would be reported. The digest is the sha256 of the decoded pixel array
(after the modality LUT, as hipbmd measures it), its shape, the SOP Instance UID when the file has one,
and every header value that changes a result (pixel spacing and its source, magnification and the
distances, view, laterality, orientation, age and sex): a corrected header is estimated again. The
digest itself says nothing about the patient.
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
    digest.update(repr(_header_values(radiograph)).encode())
    return digest.hexdigest()


def _header_values(radiograph: Radiograph) -> tuple[object, ...]:
    """The header values that change an estimate or its interpretation."""
    return (
        radiograph.pixel_spacing_mm,
        radiograph.spacing_source,
        radiograph.calibrated_spacing_mm,
        radiograph.magnification,
        radiograph.sid_mm,
        radiograph.sod_mm,
        radiograph.view,
        radiograph.laterality,
        radiograph.age_years,
        radiograph.sex,
        radiograph.meta.get("patient_orientation"),
    )
