"""The parts of an estimate record (:mod:`hipbmd.bmd.record`): a region's measurement, what the record
says of the radiograph and of the models, the options of the run and one hip. Each part writes itself
with ``to_dict`` and reads itself back with ``from_dict``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hipbmd.bmd.category_confidence import DEFAULT_CATEGORY_CONFIDENCE
from hipbmd.bmd.hip_evidence import HipEvidence
from hipbmd.localisation.hip_location import HipLocation
from hipbmd.types import Side


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
        error_sd_g_cm2: the calibrated SD of the estimate's error against DXA (g/cm²), None without a
            calibrated interval.
        p_osteoporosis: probability that the region's DXA T-score is ≤ −2.5, None when not computed.
        p_below_normal: probability that the region's DXA T-score is < −1, None when not computed.
    """

    side: Side
    roi: str
    abmd_g_cm2: float | None
    interval_g_cm2: tuple[float, float] | None = None
    t_score: float | None = None
    yam_percent: float | None = None
    who_category: str | None = None
    jos_category: str | None = None
    error_sd_g_cm2: float | None = None
    p_osteoporosis: float | None = None
    p_below_normal: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        interval = None if self.interval_g_cm2 is None else list(self.interval_g_cm2)
        return {**self.__dict__, "interval_g_cm2": interval}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> ROIMeasurement:
        """Inverse of :meth:`to_dict`."""
        interval = record.get("interval_g_cm2")
        return cls(
            side_of(record["side"]),
            str(record["roi"]),
            number_or_none(record.get("abmd_g_cm2")),
            None if interval is None else (float(interval[0]), float(interval[1])),
            number_or_none(record.get("t_score")),
            number_or_none(record.get("yam_percent")),
            record.get("who_category"),
            record.get("jos_category"),
            number_or_none(record.get("error_sd_g_cm2")),
            number_or_none(record.get("p_osteoporosis")),
            number_or_none(record.get("p_below_normal")),
        )


@dataclass(frozen=True)
class HipCategory:
    """The hip's WHO category by the ISCD rule (the lowest T-score of the femoral neck and the total hip),
    with how sure it is, or why it is withheld.

    Attributes:
        who_category: the category given; None when withheld.
        probability: lower bound of the probability of the likeliest category (None when not computed).
        likeliest: the likeliest category (None when not computed).
        confidence: the probability a category must reach to be given.
        withheld: why no category is given (a code and its detail); None when one is given.
    """

    who_category: str | None
    probability: float | None
    likeliest: str | None
    confidence: float
    withheld: str | None = None

    def describe(self) -> str:
        """The category with its probability, or why it is withheld, in one line."""
        if self.who_category is not None:
            return f"WHO (ISCD, lowest T): {self.who_category}, probability ≥ {self.probability:.2f}"
        return f"WHO category withheld: {self.withheld}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> HipCategory:
        """Inverse of :meth:`to_dict`."""
        return cls(
            record.get("who_category"),
            number_or_none(record.get("probability")),
            record.get("likeliest"),
            float(record["confidence"]),
            record.get("withheld"),
        )


@dataclass(frozen=True)
class RadiographSummary:
    """What the record says of the radiograph: detector spacing (mm) and its source, the magnification
    used, view, laterality, presentation intent, age (years), sex, and what the magnification was derived
    from with its relative uncertainty (one SD; :mod:`hipbmd.io.radiograph_geometry`)."""

    pixel_spacing_mm: tuple[float, float] | None
    spacing_source: str
    magnification_used: float
    view: str | None = None
    laterality: str | None = None
    presentation: str = "unknown"
    age_years: float | None = None
    sex: str | None = None
    magnification_source: str | None = None
    magnification_uncertainty: float | None = None

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
            number_or_none(record.get("age_years")),
            record.get("sex"),
            record.get("magnification_source"),
            number_or_none(record.get("magnification_uncertainty")),
        )


@dataclass(frozen=True)
class ModelReference:
    """A model folder as a record names it: its name, the sha256 of its weights, whether its files are
    those of the model shipped with hipbmd (None in records of schema 1, which did not say), and the
    sha256 of its interval calibration (None: none, or a record before schema 3)."""

    name: str | None
    sha256: str | None
    shipped: bool | None = None
    calibration_sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "sha256": self.sha256,
            "shipped": self.shipped,
            "calibration_sha256": self.calibration_sha256,
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> ModelReference:
        """Inverse of :meth:`to_dict`."""
        shipped = record.get("shipped")
        return cls(
            record.get("name"),
            record.get("sha256"),
            None if shipped is None else bool(shipped),
            record.get("calibration_sha256"),
        )


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
        category_confidence: the probability a category must reach to be given.
    """

    samples: int = 8
    seed: int = 0
    side: str | None = None
    center_mm: tuple[float, float] | None = None
    yam_table: str | None = None
    spacing_mm: float | None = None
    category_confidence: float = DEFAULT_CATEGORY_CONFIDENCE

    def __post_init__(self) -> None:
        if self.center_mm is not None:  # a list given by a caller compares equal to its JSON round trip
            object.__setattr__(self, "center_mm", (float(self.center_mm[0]), float(self.center_mm[1])))

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
            number_or_none(record.get("spacing_mm")),
            float(record.get("category_confidence", DEFAULT_CATEGORY_CONFIDENCE)),
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
        femur: the 2-D measurement's summary (:meth:`hipbmd.femur.measure_2d.FemurBMD.summary`), as
            written; None when there was none.
        category: the hip's WHO category with its probability, or why it is withheld; None for a hip
            not measured.
        evidence: what the interval calibration conditioned on (None for a hip not measured).
        ood_distance: the hip's out-of-distribution distance from the calibration cohort (None without
            an interval calibration).
    """

    side: Side
    location: HipLocation
    flags: tuple[str, ...] = ()
    raw_roi_mean_g_cm2: dict[str, float] = field(default_factory=dict)
    measurements: tuple[ROIMeasurement, ...] = ()
    femur: dict[str, Any] | None = None
    category: HipCategory | None = None
    evidence: HipEvidence | None = None
    ood_distance: float | None = None

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
            "category": None if self.category is None else self.category.to_dict(),
            "evidence": None if self.evidence is None else self.evidence.to_dict(),
            "ood_distance": None if self.ood_distance is None else round(self.ood_distance, 3),
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> HipRecord:
        """Inverse of :meth:`to_dict`."""
        return cls(
            side_of(record["side"]),
            HipLocation.from_dict(record["location"]),
            tuple(str(flag) for flag in record.get("flags", [])),
            {str(k): float(v) for k, v in (record.get("raw_roi_mean_g_cm2") or {}).items()},
            tuple(ROIMeasurement.from_dict(m) for m in record.get("measurements", [])),
            record.get("femur"),
            None if record.get("category") is None else HipCategory.from_dict(record["category"]),
            None if record.get("evidence") is None else HipEvidence.from_dict(record["evidence"]),
            number_or_none(record.get("ood_distance")),
        )


def side_of(value: Any) -> Side:
    """A side read from a record; ValueError when it is not right or left."""
    if value not in ("right", "left"):
        raise ValueError(f"side {value!r} is not right or left")
    return "right" if value == "right" else "left"


def number_or_none(value: Any) -> float | None:
    """A number read from a record, None for null."""
    return None if value is None else float(value)
