"""Randomised radiograph styles: acquisition, processing, framing and finishing drawn per image.

The six named sites are six fixed points; a model trained on them can learn their look. A random style
draws every setting of the chain anew for each radiograph, over ranges wider than any one vendor's:

* **framing**: AP pelvis (two thirds) or AP hip, a field of 18–43 cm, centring errors up to ±4 cm
  across and ±5 cm along the body, so that a hip is sometimes cut by the edge of the field;
* **acquisition**: detector (CsI, a-Se or CR storage phosphor, pitch 0.20–0.40 mm, its own blur and
  read-out noise), 60–100 kVp with 0–2 mm Al and 0–0.2 mm Cu, automatic exposure to 1.2–5 µGy or a fixed
  6–60 mAs, a grid of ratio 6–16 or none, SID 1000–1200 mm, 20–90 mm from tabletop to detector, a heel
  effect of 0–12 %;
* **processing**, one family per image (below), with a random window, tone curve, bit depth (8–16) and
  MONOCHROME1 in a quarter of the images;
* **finishing** (:mod:`hipbmd.sim.finishing`): collimation with a black or white border, burned-in side
  markers, text and rulers, and the file: DICOM DX in most cases, else a PNG or JPEG export without any
  spacing (a raw FOR PROCESSING image is always a plain DICOM file).

Processing families:

=====================  ====================================================================  ===========
family                 what it does                                                          split
=====================  ====================================================================  ===========
``multiband``          2–4 bands re-weighted (gains 1–1.8), the base compressed to 0.2–0.8   training
``unsharp``            one unsharp mask (σ 1.5–12 mm, amount 0.2–1.2), base 0.4–1.0          training
``plain``              log, window and tone curve only                                       training
``raw``                the raw log read-out, FOR PROCESSING                                  training
``adaptive_equalised`` contrast-limited adaptive histogram equalisation after ``plain``      held out
``strong_compression`` dynamic range compressed to a base of 0.05–0.15 with strong detail    held out
=====================  ====================================================================  ===========

``random`` draws the training families, ``random-held-out`` the held-out ones (framing, acquisition and
finishing are drawn from the same ranges in both). The detector-to-hip geometry is written the way the
device would (:class:`GeometryTags`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from hipbmd.sim.sites import (
    HIP_FIELD_MM,
    PELVIS_FIELD_MM,
    SITE_PROFILES,
    Detector,
    Processing,
    SiteProfile,
    Technique,
    ToneCurve,
    View,
)

StyleMode = Literal["sites", "random", "random-held-out"]
STYLE_MODES: tuple[str, ...] = ("sites", "random", "random-held-out")
TRAINING_FAMILIES: tuple[str, ...] = ("multiband", "unsharp", "plain", "raw")
HELD_OUT_FAMILIES: tuple[str, ...] = ("adaptive_equalised", "strong_compression")
ExportFormat = Literal["dicom", "png", "jpeg"]
DistanceConvention = Literal["table_top", "entrance_surface", "none"]
_TONE_CURVES: tuple[ToneCurve, ...] = ("linear", "gamma", "sigmoid", "film")


@dataclass(frozen=True)
class GeometryTags:
    """How the file states its geometry, as devices differ.

    Attributes:
        distance_convention: what DistanceSourceToPatient (0018,1111) measures: the tabletop, the
            patient's entrance surface, or nothing (the tag and the Estimated Radiographic Magnification
            Factor absent). Neither is the hip: it lies 100–250 mm above the detector.
        calibrated_spacing: whether PixelSpacing holds a spacing calibrated at the hip's plane
            (PixelSpacingCalibrationType GEOMETRY), as some systems write after a calibration step.
    """

    distance_convention: DistanceConvention = "table_top"
    calibrated_spacing: bool = False

    def distance_source_to_patient_mm(
        self, sid_mm: float, table_gap_mm: float, body_depth_mm: float
    ) -> float | None:
        """DistanceSourceToPatient as the device writes it, mm (None: not written).

        The tabletop lies ``table_gap_mm`` in front of the detector; the entrance surface a further body
        thickness (``body_depth_mm``, front to back) towards the source.
        """
        if self.distance_convention == "table_top":
            return sid_mm - table_gap_mm
        if self.distance_convention == "entrance_surface":
            return sid_mm - table_gap_mm - body_depth_mm
        return None

    def calibrated_spacing_mm(
        self, detector_spacing_mm: tuple[float, float], hip_magnification: float
    ) -> tuple[float, float] | None:
        """PixelSpacing calibrated at the hip's plane (detector spacing / its magnification), or None."""
        if not self.calibrated_spacing:
            return None
        return detector_spacing_mm[0] / hip_magnification, detector_spacing_mm[1] / hip_magnification


@dataclass(frozen=True)
class Finishing:
    """What happens to the stored image after the vendor's processing, and how it leaves the site.

    Attributes:
        equalisation_clip: clip limit of adaptive histogram equalisation, None for none.
        collimation_mm: (top, bottom, left, right) margins outside the collimated field at the detector, mm.
        collimation_white: the margins white (unexposed, as stored) rather than black (electronic shutter).
        side_marker: the burned-in lead marker's letter ("R" or "L"), None for none.
        text_lines: lines of burned-in text (site, date, technique) in a corner.
        ruler: a burned-in ruler with millimetre ticks along one edge.
        export: DICOM DX, or a PNG or JPEG export that carries no spacing at all.
        export_bits: bit depth of a PNG export (8 or 16).
        jpeg_quality: quality of a JPEG export (1–95).
    """

    equalisation_clip: float | None = None
    collimation_mm: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    collimation_white: bool = False
    side_marker: str | None = None
    text_lines: int = 0
    ruler: bool = False
    export: ExportFormat = "dicom"
    export_bits: int = 16
    jpeg_quality: int = 90


@dataclass(frozen=True)
class RadiographStyle:
    """Everything that decides how one radiograph looks, apart from the patient.

    Attributes:
        family: the processing family ("site" for a named site's own processing).
        profile: acquisition and processing as a site profile (named, or drawn: name "random").
        finishing: what is done to the stored image and how it is exported.
        geometry: how the file states its geometry.
        framing_offset_mm: (left–right, head–foot) shift of the field's centre added to the positioning's
            centring error, mm.
    """

    family: str
    profile: SiteProfile
    finishing: Finishing = Finishing()
    geometry: GeometryTags = GeometryTags()
    framing_offset_mm: tuple[float, float] = (0.0, 0.0)

    def summary(self) -> dict[str, Any]:
        """JSON-ready record for the truth (one way: the profile is recorded, not rebuilt)."""
        return {
            "family": self.family,
            "profile": asdict(self.profile),
            "finishing": asdict(self.finishing),
            "geometry": asdict(self.geometry),
            "framing_offset_mm": list(self.framing_offset_mm),
        }


# How the named sites write their geometry: two to the tabletop, two to the entrance surface, the
# calibrating CsI room PixelSpacing at the hip, and the bedside panel no distance at all.
SITE_GEOMETRY: dict[str, GeometryTags] = {
    "site_a_csi": GeometryTags("table_top"),
    "site_b_csi": GeometryTags("entrance_surface"),
    "site_c_cr": GeometryTags("table_top"),
    "site_d_raw": GeometryTags("table_top", calibrated_spacing=True),
    "site_e_ase": GeometryTags("entrance_surface"),
    "site_f_portable": GeometryTags("none"),
}


def check_style_mode(mode: str) -> str:
    """``mode`` if it names a style mode.

    Raises:
        ValueError: another name.
    """
    if mode not in STYLE_MODES:
        raise ValueError(f"unknown style {mode!r} (known: {', '.join(STYLE_MODES)})")
    return mode


def radiograph_style(mode: str, site: str, rng: np.random.Generator) -> RadiographStyle:
    """The style of one radiograph: the site's own for "sites" (nothing drawn), else drawn from ``rng``."""
    if check_style_mode(mode) == "sites":
        return RadiographStyle("site", SITE_PROFILES[site], geometry=SITE_GEOMETRY.get(site, GeometryTags()))
    families = TRAINING_FAMILIES if mode == "random" else HELD_OUT_FAMILIES
    return draw_style(rng, str(rng.choice(families)))


def draw_style(rng: np.random.Generator, family: str) -> RadiographStyle:
    """A random style with the processing of ``family`` (one of the training or held-out families)."""
    view: View = "AP pelvis" if rng.random() < 2 / 3 else "AP hip"
    field = _draw_field(rng, view)
    detector = _draw_detector(rng)
    technique = _draw_technique(rng)
    processing = _draw_processing(rng, family)
    profile = SiteProfile(
        name="random",
        manufacturer=f"Randomised {detector.kind}",
        institution="Randomised site",
        view=view,
        field_mm=field,
        detector=detector,
        technique=technique,
        processing=processing,
        held_out=family in HELD_OUT_FAMILIES,
    )
    finishing = _draw_finishing(rng, field, family)
    conventions: tuple[DistanceConvention, ...] = ("table_top", "entrance_surface", "none")
    convention = conventions[int(rng.choice(3, p=[0.5, 0.3, 0.2]))]
    geometry = GeometryTags(convention, calibrated_spacing=bool(rng.random() < 0.15))
    offset = (float(rng.uniform(-40.0, 40.0)), float(rng.uniform(-50.0, 50.0)))
    return RadiographStyle(family, profile, finishing, geometry, offset)


def _draw_field(rng: np.random.Generator, view: View) -> tuple[float, float]:
    """(rows, cols) of the field at the detector, mm: from a 24 × 18 cm hip field to a full 35 × 43 cm."""
    if view == "AP pelvis":
        return float(rng.uniform(280.0, PELVIS_FIELD_MM[0])), float(rng.uniform(300.0, PELVIS_FIELD_MM[1]))
    return float(rng.uniform(240.0, HIP_FIELD_MM[0])), float(rng.uniform(180.0, HIP_FIELD_MM[1]))


def _draw_detector(rng: np.random.Generator) -> Detector:
    """A detector: technology, absorber mass per area (g/cm²), blur σ (mm), read-out noise, pitch (mm)."""
    kind = int(rng.choice(3, p=[0.55, 0.2, 0.25]))
    pitch = float(rng.uniform(0.20, 0.40))
    u = lambda low, high: float(rng.uniform(low, high))  # noqa: E731
    if kind == 0:
        return Detector("CsI flat panel", "csi", u(0.14, 0.25), u(0.1, 0.2), u(2.0, 8.0), pitch)
    if kind == 1:
        return Detector("a-Se flat panel", "selenium", u(0.15, 0.25), u(0.03, 0.08), u(2.0, 6.0), pitch)
    return Detector("CR storage phosphor", "bafbr", u(0.06, 0.11), u(0.15, 0.26), u(8.0, 22.0), pitch)


def _draw_technique(rng: np.random.Generator) -> Technique:
    aec = rng.random() < 0.65
    grid = None if rng.random() < 0.2 else float(rng.choice([6.0, 8.0, 10.0, 12.0, 16.0]))
    sid_low = float(rng.uniform(1000.0, 1150.0))
    return Technique(
        kvp=float(round(rng.uniform(60.0, 100.0))),
        added_al_mm=float(rng.choice([0.0, 1.0, 2.0])),
        added_cu_mm=float(rng.choice([0.0, 0.0, 0.1, 0.2])),
        mas=float(rng.uniform(6.0, 60.0)),
        aec_detector_ugy=float(rng.uniform(1.2, 5.0)) if aec else None,
        grid_ratio=grid,
        sid_range_mm=(sid_low, min(sid_low + 50.0, 1200.0)),
        table_gap_mm=float(rng.uniform(20.0, 90.0)),
        heel_gradient=float(rng.uniform(0.0, 0.12)),
    )


def _draw_processing(rng: np.random.Generator, family: str) -> Processing:
    bits = int(rng.choice([8, 10, 12, 14, 16]))
    if family == "raw":
        return Processing(presentation="FOR PROCESSING", bits_stored=max(bits, 12))
    curve: ToneCurve = _TONE_CURVES[int(rng.integers(len(_TONE_CURVES)))]
    parameter = {"linear": 1.0, "gamma": rng.uniform(0.7, 1.8), "sigmoid": rng.uniform(2.5, 7.0)}.get(
        curve, rng.uniform(3.0, 5.5)
    )
    radii, gains, base = _draw_bands(rng, family)
    return Processing(
        presentation="FOR PRESENTATION",
        detail_radii_mm=radii,
        detail_gains=gains,
        base_gain=base,
        detail_limit=float(rng.uniform(0.3, 1.0)) if radii else None,
        window_percentiles=(float(rng.uniform(30.0, 60.0)), float(rng.uniform(98.5, 99.9))),
        window_levels=(float(rng.uniform(0.35, 0.6)), float(rng.uniform(0.88, 0.98))),
        tone_curve=curve,
        tone_parameter=float(parameter),
        bits_stored=bits,
        monochrome1=bool(rng.random() < 0.25),
    )


def _draw_bands(rng: np.random.Generator, family: str) -> tuple[tuple[float, ...], tuple[float, ...], float]:
    """Band radii (mm, increasing), their gains, and the base gain of a family."""
    if family == "multiband":
        count = int(rng.integers(2, 5))
        radii = np.sort(np.exp(rng.uniform(np.log(0.8), np.log(40.0), count)))
        return (
            tuple(float(r) for r in radii),
            tuple(float(g) for g in rng.uniform(1.0, 1.8, count)),
            float(rng.uniform(0.2, 0.8)),
        )
    if family == "unsharp":
        return (
            (float(rng.uniform(1.5, 12.0)),),
            (float(1.0 + rng.uniform(0.2, 1.2)),),
            float(rng.uniform(0.4, 1.0)),
        )
    if family == "strong_compression":
        radii = np.sort(np.exp(rng.uniform(np.log(1.5), np.log(60.0), 3)))
        return (
            tuple(float(r) for r in radii),
            tuple(float(g) for g in rng.uniform(1.6, 2.4, 3)),
            float(rng.uniform(0.05, 0.15)),
        )
    return (), (), 1.0  # plain and adaptive_equalised: no band processing


def _draw_finishing(rng: np.random.Generator, field_mm: tuple[float, float], family: str) -> Finishing:
    """Collimation, burned-in marks and export; a raw FOR PROCESSING image leaves as it was read out."""
    if family == "raw":
        return Finishing()
    collimated = rng.random() < 0.5
    margins = tuple(float(rng.uniform(0.0, 0.08) * field_mm[k // 2]) if collimated else 0.0 for k in range(4))
    exports: tuple[ExportFormat, ...] = ("dicom", "png", "jpeg")
    export = exports[int(rng.choice(3, p=[0.7, 0.15, 0.15]))]
    return Finishing(
        equalisation_clip=float(rng.uniform(0.005, 0.03)) if family == "adaptive_equalised" else None,
        collimation_mm=(margins[0], margins[1], margins[2], margins[3]),
        collimation_white=bool(rng.random() < 0.5),
        side_marker=str(rng.choice(["R", "L"])) if rng.random() < 0.7 else None,
        text_lines=int(rng.integers(0, 4)),
        ruler=bool(rng.random() < 0.2),
        export=export,
        export_bits=int(rng.choice([8, 16])),
        jpeg_quality=int(rng.integers(60, 96)),
    )
