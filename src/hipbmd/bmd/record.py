"""The machine-readable result of ``hipbmd estimate``: one typed record per radiograph, written as JSON.

Schema ``hipbmd-estimate/3`` (docs/estimate.md): ``schema``, ``hipbmd_version``, ``source``,
``input_sha256`` (the decoded pixels and SOP Instance UID, :mod:`hipbmd.io.input_digest`),
``input_notes`` (what reading changed, e.g. colour to grey), ``radiograph`` (spacing and its source,
magnification used, view, laterality, presentation, age, sex), ``model`` and ``localiser`` (name,
sha256, shipped), ``settings``, ``no_hip_found`` (why no hip was found, else null), ``hips`` (per side:
location, flags, the raw ROI means on the predicted DRR, and per ROI the DXA-equivalent aBMD with its
95 % interval, calibrated error SD, T-score, %YAM, categories and the chances of T ≤ −2.5 and T < −1; the
hip's WHO category by the ISCD rule with its probability or why it is withheld, the evidence the interval
was conditioned on and the out-of-distribution distance), ``qc_flags`` (every hip's flags, prefixed by side),
``overlay``. A file outside the bounds hipbmd accepts has a record of ``schema``, ``source``,
``input_sha256``, ``input_notes`` and ``refused``; a file that could not be read or processed one of
``schema``, ``source`` and ``error``. Records of ``hipbmd-estimate/1`` and ``/2`` are read too.

:meth:`EstimateRecord.to_json` writes it and :meth:`EstimateRecord.from_json` reads it back; every
reader (``results.csv``, ``merge-results``, resume, the demo) goes through the class. A change to the
record's content bumps :data:`SCHEMA`, extends the class and its round-trip test and updates
docs/estimate.md; :data:`READABLE_SCHEMAS` keeps the previous versions readable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hipbmd import __version__
from hipbmd.bmd.record_parts import EstimateOptions, HipRecord, ModelReference, RadiographSummary

SCHEMA = "hipbmd-estimate/3"
READABLE_SCHEMAS = ("hipbmd-estimate/1", "hipbmd-estimate/2", SCHEMA)


@dataclass(frozen=True)
class EstimateRecord:
    """Everything ``hipbmd estimate`` says about one radiograph, or why it said nothing.

    Attributes:
        source: the input file as given.
        error: why the file could not be read or processed; None otherwise.
        refused: why a readable file is outside the bounds hipbmd accepts; None otherwise.
        input_sha256: digest of the decoded pixels and SOP Instance UID (None when unreadable).
        input_notes: what reading changed or noticed (colour to grey, spacing overridden, …).
        no_hip_found: why no hip was found on a measured file; None when hips were found.
        radiograph, model, localiser, options: what was read and how it was measured (None in an
            error record).
        hips: the hips found, patient's right first.
        overlay: the overlay PNG's name beside the record.
        hipbmd_version: the version that wrote the record.
        schema: the record's schema, :data:`SCHEMA` for a record made now.
    """

    source: str
    error: str | None = None
    refused: str | None = None
    input_sha256: str | None = None
    input_notes: tuple[str, ...] = ()
    no_hip_found: str | None = None
    radiograph: RadiographSummary | None = None
    model: ModelReference | None = None
    localiser: ModelReference | None = None
    options: EstimateOptions | None = None
    hips: tuple[HipRecord, ...] = ()
    overlay: str | None = None
    hipbmd_version: str = __version__
    schema: str = SCHEMA

    @classmethod
    def failed(cls, source: str, error: str) -> EstimateRecord:
        """The record of a file that could not be read or processed."""
        return cls(source, error)

    @property
    def reason(self) -> str | None:
        """Why the file has no hip measured, one line: ``error: …``, ``refused: …``, ``no_hip_found: …``."""
        for name, value in (
            ("error", self.error),
            ("refused", self.refused),
            ("no_hip_found", self.no_hip_found),
        ):
            if value is not None:
                return f"{name}: {value}"
        return None

    @property
    def qc_flags(self) -> list[str]:
        """Every hip's flags, prefixed by its side."""
        return [f"{hip.side}: {flag}" for hip in self.hips for flag in hip.flags]

    def to_json(self) -> dict[str, Any]:
        """The JSON object written as ``<name>.json`` (module docstring)."""
        if self.error is not None:
            return {"schema": self.schema, "source": self.source, "error": self.error}
        read = {"input_sha256": self.input_sha256, "input_notes": list(self.input_notes)}
        if self.refused is not None:
            return {"schema": self.schema, "source": self.source, **read, "refused": self.refused}
        assert self.radiograph and self.model and self.localiser and self.options, "a result record"
        record = {
            "schema": self.schema,
            "hipbmd_version": self.hipbmd_version,
            "source": self.source,
            **read,
            "radiograph": self.radiograph.to_dict(),
            "model": self.model.to_dict(),
            "localiser": self.localiser.to_dict(),
            "settings": self.options.to_dict(),
            "no_hip_found": self.no_hip_found,
            "hips": [hip.to_dict() for hip in self.hips],
            "qc_flags": self.qc_flags,
        }
        return record if self.overlay is None else {**record, "overlay": self.overlay}

    @classmethod
    def from_json(cls, record: Any) -> EstimateRecord:
        """Inverse of :meth:`to_json`.

        Raises:
            ValueError: not an estimate record of a readable schema, or a malformed one.
        """
        if not isinstance(record, Mapping) or record.get("schema") not in READABLE_SCHEMAS:
            raise ValueError("not a record of 'hipbmd estimate'")
        try:
            if "error" in record:
                return cls(str(record["source"]), str(record["error"]), schema=str(record["schema"]))
            digest, schema = record.get("input_sha256"), str(record["schema"])
            notes = tuple(str(note) for note in record.get("input_notes", []))
            if "refused" in record:
                refused = str(record["refused"])
                return cls(str(record["source"]), None, refused, digest, notes, schema=schema)
            return cls(
                str(record["source"]),
                None,
                None,
                digest,
                notes,
                record.get("no_hip_found"),
                RadiographSummary.from_dict(record["radiograph"]),
                ModelReference.from_dict(record["model"]),
                ModelReference.from_dict(record["localiser"]),
                EstimateOptions.from_dict(record["settings"]),
                tuple(HipRecord.from_dict(hip) for hip in record["hips"]),
                record.get("overlay"),
                str(record.get("hipbmd_version", "")),
                schema,
            )
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
            raise ValueError(f"a malformed estimate record ({type(error).__name__}: {error})") from None

    def is_finished(
        self,
        options: EstimateOptions,
        model_sha256: str | None,
        localiser_sha256: str | None,
        input_sha256: str | None,
        model_calibration_sha256: str | None = None,
    ) -> bool:
        """Whether this is a finished estimate of the current schema of the same input (pixels and SOP
        Instance UID) with this model (weights and interval calibration), localiser and options (a rerun
        skips its file)."""
        return (
            self.schema == SCHEMA
            and self.error is None
            and self.refused is None
            and input_sha256 is not None
            and self.input_sha256 == input_sha256
            and self.model is not None
            and self.model.sha256 == model_sha256
            and self.model.calibration_sha256 == model_calibration_sha256
            and self.localiser is not None
            and self.localiser.sha256 == localiser_sha256
            and self.options == options
        )


def read_records(folder: Path) -> list[tuple[str, EstimateRecord]]:
    """(name, record) of every estimate record in ``folder``, by name; other or unreadable JSON left out."""
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            found.append((path.stem, EstimateRecord.from_json(json.loads(path.read_text()))))
        except (OSError, UnicodeDecodeError, ValueError):
            continue
    return found
