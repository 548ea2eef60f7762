"""The machine-readable result of ``hipbmd estimate``: one typed record per radiograph, written as JSON.

Schema ``hipbmd-estimate/2`` (docs/estimate.md): ``schema``, ``hipbmd_version``, ``source``,
``input_sha256`` (the decoded pixels and SOP Instance UID, :mod:`hipbmd.io.input_digest`),
``input_notes`` (what reading changed, e.g. colour to grey), ``radiograph`` (spacing and its source,
magnification used, view, laterality, presentation, age, sex), ``model`` and ``localiser`` (name,
sha256, shipped), ``settings``, ``no_hip_found`` (why no hip was found, else null), ``hips`` (per side:
location, flags, the raw ROI means on the predicted DRR, and per ROI the DXA-equivalent aBMD with its
95 % interval, T-score, %YAM and categories), ``qc_flags`` (every hip's flags, prefixed by side),
``overlay``. A file outside the bounds hipbmd accepts has a record of ``schema``, ``source``,
``input_sha256``, ``input_notes`` and ``refused``; a file that could not be read or processed one of
``schema``, ``source`` and ``error``. Records of ``hipbmd-estimate/1`` are read too.

:meth:`EstimateRecord.to_json` writes it and :meth:`EstimateRecord.from_json` reads it back; every
reader (``results.csv``, ``merge-results``, resume, the demo) goes through the class. A change to the
record's content bumps :data:`SCHEMA`, extends the class and its round-trip test and updates
docs/estimate.md; :data:`READABLE_SCHEMAS` keeps the previous versions readable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hipbmd import __version__
from hipbmd.localisation.hip_location import HipLocation
from hipbmd.types import Side

SCHEMA = "hipbmd-estimate/2"
READABLE_SCHEMAS = ("hipbmd-estimate/1", SCHEMA)


@dataclass(frozen=True)
class ROIMeasurement:
    """aBMD of one region of interest on one side, with its interpretation.

    Attributes:
        side: the patient's side.
        roi: region name, e.g. "neck", "total_hip".
        abmd_g_cm2: areal BMD (DXA-equivalent) in g/cm², None when withheld.
        interval_g_cm2: (low, high) 95 % interval in g/cm², None when not computed.
        t_score: (aBMD − young mean) / young SD against NHANES III, None when not applicable.
        yam_percent: aBMD as a percentage of the young adult mean, None without a YAM table.
        who_category: "normal", "osteopenia" or "osteoporosis"; None when withheld.
        jos_category: Japanese (JOS/JSBMR 2012) category, None when withheld or not applicable.
    """

    side: Side
    roi: str
    abmd_g_cm2: float | None
    interval_g_cm2: tuple[float, float] | None = None
    t_score: float | None = None
    yam_percent: float | None = None
    who_category: str | None = None
    jos_category: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        interval = None if self.interval_g_cm2 is None else list(self.interval_g_cm2)
        return {**self.__dict__, "interval_g_cm2": interval}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> ROIMeasurement:
        """Inverse of :meth:`to_dict`."""
        interval = record.get("interval_g_cm2")
        return cls(
            _side(record["side"]),
            str(record["roi"]),
            _number(record.get("abmd_g_cm2")),
            None if interval is None else (float(interval[0]), float(interval[1])),
            _number(record.get("t_score")),
            _number(record.get("yam_percent")),
            record.get("who_category"),
            record.get("jos_category"),
        )


@dataclass(frozen=True)
class RadiographSummary:
    """What the record says of the radiograph: detector spacing (mm) and its source, the magnification
    used, view, laterality, presentation intent, age (years) and sex."""

    pixel_spacing_mm: tuple[float, float] | None
    spacing_source: str
    magnification_used: float
    view: str | None = None
    laterality: str | None = None
    presentation: str = "unknown"
    age_years: float | None = None
    sex: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        spacing = None if self.pixel_spacing_mm is None else list(self.pixel_spacing_mm)
        return {**self.__dict__, "pixel_spacing_mm": spacing}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> RadiographSummary:
        """Inverse of :meth:`to_dict`."""
        spacing = record.get("pixel_spacing_mm")
        return cls(
            None if spacing is None else (float(spacing[0]), float(spacing[1])),
            str(record["spacing_source"]),
            float(record["magnification_used"]),
            record.get("view"),
            record.get("laterality"),
            str(record.get("presentation", "unknown")),
            _number(record.get("age_years")),
            record.get("sex"),
        )


@dataclass(frozen=True)
class ModelReference:
    """A model folder as a record names it: its name, the sha256 of its weights, and whether its files
    are those of the model shipped with hipbmd (None in records of schema 1, which did not say)."""

    name: str | None
    sha256: str | None
    shipped: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "sha256": self.sha256, "shipped": self.shipped}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> ModelReference:
        """Inverse of :meth:`to_dict`."""
        shipped = record.get("shipped")
        return cls(record.get("name"), record.get("sha256"), None if shipped is None else bool(shipped))


@dataclass(frozen=True)
class EstimateOptions:
    """The options of a run that change its numbers; a record made with others is redone.

    Attributes:
        samples: Monte-Carlo dropout samples.
        seed: seed of the dropout masks.
        side: only this hip, None for every hip found.
        center_mm: the femoral head centre (row, col) mm at the detector given by the user.
        yam_table: the young-adult-mean table given, as a path.
        spacing_mm: the pixel spacing assumed for files without one, mm.
    """

    samples: int = 8
    seed: int = 0
    side: str | None = None
    center_mm: tuple[float, float] | None = None
    yam_table: str | None = None
    spacing_mm: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        centre = None if self.center_mm is None else list(self.center_mm)
        return {**self.__dict__, "center_mm": centre}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> EstimateOptions:
        """Inverse of :meth:`to_dict`."""
        centre = record.get("center_mm")
        return cls(
            int(record["samples"]),
            int(record["seed"]),
            record.get("side"),
            None if centre is None else (float(centre[0]), float(centre[1])),
            record.get("yam_table"),
            _number(record.get("spacing_mm")),
        )


@dataclass(frozen=True)
class HipRecord:
    """One hip of a record: where it was found, its flags and its measurements.

    Attributes:
        side: the patient's side.
        location: the hip as the localiser found it (pixels of the file).
        flags: QC codes, each with its detail after a colon.
        raw_roi_mean_g_cm2: ROI → mean areal density on the predicted DRR, before the DXA line.
        measurements: one per reported ROI; empty when the hip was not measured.
        femur: the 2-D measurement's summary (:meth:`hipbmd.femur.measure_2d.FemurBMD.to_dict`), as
            written; None when there was none.
    """

    side: Side
    location: HipLocation
    flags: tuple[str, ...] = ()
    raw_roi_mean_g_cm2: dict[str, float] = field(default_factory=dict)
    measurements: tuple[ROIMeasurement, ...] = ()
    femur: dict[str, Any] | None = None

    @property
    def measured(self) -> bool:
        """True when any ROI has a number."""
        return any(m.abmd_g_cm2 is not None for m in self.measurements)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "side": self.side,
            "location": self.location.to_dict(),
            "flags": list(self.flags),
            "raw_roi_mean_g_cm2": {k: round(v, 5) for k, v in self.raw_roi_mean_g_cm2.items()},
            "measurements": [m.to_dict() for m in self.measurements],
            "femur": self.femur,
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> HipRecord:
        """Inverse of :meth:`to_dict`."""
        return cls(
            _side(record["side"]),
            HipLocation.from_dict(record["location"]),
            tuple(str(flag) for flag in record.get("flags", [])),
            {str(k): float(v) for k, v in (record.get("raw_roi_mean_g_cm2") or {}).items()},
            tuple(ROIMeasurement.from_dict(m) for m in record.get("measurements", [])),
            record.get("femur"),
        )


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
    ) -> bool:
        """Whether this is a finished estimate of the current schema of the same input (pixels and SOP
        Instance UID) with this model, localiser and options (a rerun skips its file)."""
        return (
            self.schema == SCHEMA
            and self.error is None
            and self.refused is None
            and input_sha256 is not None
            and self.input_sha256 == input_sha256
            and self.model is not None
            and self.model.sha256 == model_sha256
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


def _side(value: Any) -> Side:
    if value not in ("right", "left"):
        raise ValueError(f"side {value!r} is not right or left")
    return "right" if value == "right" else "left"


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
