"""Imaging sites of the virtual cohort: how each room's equipment and software turn X-rays into a DX file.

A :class:`SiteProfile` groups what differs between vendors and rooms: the detector (:class:`Detector`), the
exposure technique and geometry (:class:`Technique`) and the vendor's image processing (:class:`Processing`).
The manufacturers are fictional. Numbers are typical of current equipment, not of any one product; where a
value comes from a standard or review it says so. Four sites are for training and two are ``held_out``, to
test generalisation to a detector and a processing the training sites never show.

Pixel pitches are those of the stored image, 0.25–0.35 mm: our files are binned readouts of 0.1–0.175 mm
native pixels (2×2 binning or downsampling, as some vendors store), which keeps a 200-case cohort under 5 GB.

Typical values used below (quoted as typical ranges, see Dance et al. (eds.), *Diagnostic Radiology Physics:
A Handbook for Teachers and Students*, IAEA 2014, ch. 6–7, and Lança & Silva, *Radiography* 15:58, 2009):
- detector air kerma for AEC: ~2.5 µGy for a CsI panel (speed class 400), ~3.5 µGy for a-Se, ~5 µGy for
  CR (speed class 200);
- detector blur as the σ of a Gaussian PSF: MTF(1 lp/mm) ≈ 0.6–0.7 for CsI (σ ≈ 0.14–0.16 mm), ≈ 0.95 for
  a-Se (σ ≈ 0.05 mm), ≈ 0.5 for powder CR plates (σ ≈ 0.19 mm), using MTF(f) = exp(−2π²σ²f²);
- absorbers: CsI:Tl 0.5–0.6 mm at ~80 % packing (~0.18–0.22 g/cm²); a-Se 0.5 mm (0.21 g/cm²); BaFBr(I):Eu
  powder plate ~0.25 mm at ~60 % packing (~0.08 g/cm²; Leblans et al., *Materials* 4:1034, 2011);
- AP pelvis: 70–85 kVp, grid 8:1–12:1, SID 100–120 cm, 35 × 43 cm field; AP hip: 24 × 30 cm field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

DetectorKind = Literal["CsI flat panel", "a-Se flat panel", "CR storage phosphor"]
View = Literal["AP pelvis", "AP hip"]
ToneCurve = Literal["linear", "gamma", "sigmoid", "film"]


@dataclass(frozen=True)
class Detector:
    """The image receptor.

    Attributes:
        kind: detector technology.
        absorber: physics material of the absorbing layer ("csi", "selenium", "bafbr").
        absorber_g_cm2: its mass per area, g/cm²; quantum efficiency η(E) = 1 − exp(−(μ/ρ)(E)·m).
        blur_sigma_mm: σ of the Gaussian point-spread function (light spread, laser scatter), mm.
        electronic_noise_quanta: σ of additive read-out noise per stored pixel, in absorbed-quanta units.
        pixel_pitch_mm: pitch of the stored (binned) image, mm.
    """

    kind: DetectorKind
    absorber: str
    absorber_g_cm2: float
    blur_sigma_mm: float
    electronic_noise_quanta: float
    pixel_pitch_mm: float


@dataclass(frozen=True)
class Technique:
    """Exposure factors and geometry.

    Attributes:
        kvp: tube potential, kV (tungsten anode, 2.5 mm Al inherent filtration).
        added_al_mm, added_cu_mm: added filtration, mm.
        mas: tube current–time product, mAs; the fixed technique, or the AEC's first guess.
        aec_detector_ugy: automatic exposure control target, air kerma at the detector (µGy, behind the
            grid, in the central third of the field), or None for a fixed mAs.
        grid_ratio: anti-scatter grid ratio (focused, ~40 lines/cm), or None for no grid.
        sid_range_mm: range of source–image distances used in the room, mm.
        table_gap_mm: tabletop (patient's back) to detector distance, mm.
        heel_gradient: fractional fluence change from the top to the bottom row (anode at the top,
            cathode at the bottom; 0 for none, or for a tube across the field).
    """

    kvp: float
    added_al_mm: float
    added_cu_mm: float
    mas: float
    aec_detector_ugy: float | None
    grid_ratio: float | None
    sid_range_mm: tuple[float, float]
    table_gap_mm: float
    heel_gradient: float = 0.0


@dataclass(frozen=True)
class Processing:
    """The vendor's processing from detector signal to stored image (bone bright before MONOCHROME1).

    FOR PROCESSING stores the log signal, −log10 of the detector signal over four decades, scaled to the bit
    depth; the other fields are then unused. FOR PRESENTATION takes the log, re-weights frequency bands
    (``detail_radii_mm``: Gaussian σ of successive low-pass images; band k lies between radius k−1 and k,
    band 0 being the finest; ``detail_gains``: one gain per band; ``base_gain`` scales what is coarser
    than the last radius — below 1 compresses latitude, as multi-scale equalisation does; one band with gain
    1 + a and base 1 is plain unsharp masking), windows between percentiles of the anatomy, applies the tone
    curve and quantises to the bit depth.

    Attributes:
        presentation: DICOM Presentation Intent Type.
        detail_radii_mm, detail_gains, base_gain: band re-weighting, see above.
        window_percentiles: (low, high) percentiles of the anatomy mapped to black and white.
        tone_curve, tone_parameter: "linear"; "gamma" (exponent); "sigmoid" (slope across the window);
            "film" (contrast of an H&D-like characteristic curve with a long toe, tabulated as a LUT).
        bits_stored: bit depth of the stored image.
        monochrome1: stored inverted (MONOCHROME1), as some CR vendors do.
    """

    presentation: Literal["FOR PROCESSING", "FOR PRESENTATION"]
    detail_radii_mm: tuple[float, ...] = ()
    detail_gains: tuple[float, ...] = ()
    base_gain: float = 1.0
    detail_limit: float | None = None
    window_percentiles: tuple[float, float] = (0.5, 99.5)
    window_levels: tuple[float, float] = (0.0, 1.0)
    tone_curve: ToneCurve = "linear"
    tone_parameter: float = 1.0
    bits_stored: int = 12
    monochrome1: bool = False


@dataclass(frozen=True)
class SiteProfile:
    """One imaging site: who made the equipment, how it exposes and how it processes.

    Attributes:
        name: registry key.
        manufacturer, institution: what the DX file says (fictional).
        view: "AP pelvis" (both hips, 35 × 43 cm landscape) or "AP hip" (one side, 24 × 30 cm portrait).
        field_mm: (rows, cols) size of the stored field at the detector, mm.
        held_out: kept out of training, to test generalisation.
    """

    name: str
    manufacturer: str
    institution: str
    view: View
    field_mm: tuple[float, float]
    detector: Detector
    technique: Technique
    processing: Processing
    held_out: bool = False

    @property
    def body_part(self) -> str:
        """DICOM Body Part Examined of the view."""
        return "PELVIS" if self.view == "AP pelvis" else "HIP"

    def draw_sid_mm(self, rng: np.random.Generator) -> float:
        """A source–image distance drawn uniformly from the room's range, mm."""
        low, high = self.technique.sid_range_mm
        return float(rng.uniform(low, high))


PELVIS_FIELD_MM = (350.0, 430.0)
HIP_FIELD_MM = (300.0, 240.0)

# CsI panels: 0.6 mm CsI:Tl at ~80 % of 4.51 g/cm³ ≈ 0.22 g/cm²; 0.5 mm ≈ 0.18 g/cm².
_CSI_600 = Detector("CsI flat panel", "csi", 0.22, 0.15, 4.0, 0.30)
_CSI_500_FINE = Detector("CsI flat panel", "csi", 0.18, 0.14, 5.0, 0.25)
_CSI_500 = Detector("CsI flat panel", "csi", 0.18, 0.16, 4.0, 0.28)
# a-Se direct conversion, 0.5 mm at 4.28 g/cm³; charge collection keeps the PSF narrow.
_A_SE = Detector("a-Se flat panel", "selenium", 0.21, 0.05, 3.0, 0.28)
# CR powder plate; laser-light scatter in the phosphor widens the PSF; more read-out (PMT, laser) noise.
_CR = Detector("CR storage phosphor", "bafbr", 0.08, 0.19, 15.0, 0.35)

SITE_PROFILES: dict[str, SiteProfile] = {
    profile.name: profile
    for profile in (
        SiteProfile(
            name="site_a_csi",
            manufacturer="Site A / CsI flat panel",
            institution="Training hospital A",
            view="AP pelvis",
            field_mm=PELVIS_FIELD_MM,
            detector=_CSI_600,
            # 0.1 mm Cu + 1 mm Al added, common on DR rooms to cut skin dose; AEC at speed class 400.
            technique=Technique(
                kvp=75.0,
                added_al_mm=1.0,
                added_cu_mm=0.1,
                mas=25.0,
                aec_detector_ugy=2.5,
                grid_ratio=10.0,
                sid_range_mm=(1100.0, 1150.0),
                table_gap_mm=60.0,
            ),
            # Three-band equalisation: fine bands boosted, the base compressed to a quarter; sigmoid curve.
            processing=Processing(
                presentation="FOR PRESENTATION",
                detail_radii_mm=(1.5, 6.0, 24.0),
                detail_gains=(1.4, 1.3, 1.2),
                base_gain=0.25,
                detail_limit=0.6,
                window_percentiles=(50.0, 99.7),
                window_levels=(0.45, 0.95),
                tone_curve="sigmoid",
                tone_parameter=4.0,
                bits_stored=12,
            ),
        ),
        SiteProfile(
            name="site_b_csi",
            manufacturer="Site B / CsI flat panel",
            institution="Training hospital B",
            view="AP pelvis",
            field_mm=PELVIS_FIELD_MM,
            detector=_CSI_500,
            technique=Technique(
                kvp=80.0,
                added_al_mm=1.0,
                added_cu_mm=0.0,
                mas=20.0,
                aec_detector_ugy=2.0,
                grid_ratio=12.0,
                sid_range_mm=(1150.0, 1200.0),
                table_gap_mm=70.0,
                heel_gradient=0.06,
            ),
            # Multi-scale contrast equalisation: fine bands boosted, the coarse base compressed to 0.3.
            processing=Processing(
                presentation="FOR PRESENTATION",
                detail_radii_mm=(1.0, 4.0, 16.0),
                detail_gains=(1.5, 1.3, 1.1),
                base_gain=0.3,
                detail_limit=0.8,
                window_percentiles=(50.0, 99.5),
                window_levels=(0.5, 0.95),
                tone_curve="gamma",
                tone_parameter=1.2,
                bits_stored=14,
            ),
        ),
        SiteProfile(
            name="site_c_cr",
            manufacturer="Site C / CR storage phosphor",
            institution="Training hospital C",
            view="AP pelvis",
            field_mm=PELVIS_FIELD_MM,
            detector=_CR,
            # Fixed technique chart (no AEC), Bucky with an 8:1 grid; shorter SID, so a stronger heel effect.
            technique=Technique(
                kvp=70.0,
                added_al_mm=0.0,
                added_cu_mm=0.0,
                mas=32.0,
                aec_detector_ugy=None,
                grid_ratio=8.0,
                sid_range_mm=(1000.0, 1100.0),
                table_gap_mm=75.0,
                heel_gradient=0.10,
            ),
            # Unsharp mask (σ 3 mm, amount 0.3) and dynamic range compression (what is coarser than
            # 30 mm halved), film-like LUT, 10 bits, stored MONOCHROME1.
            processing=Processing(
                presentation="FOR PRESENTATION",
                detail_radii_mm=(3.0, 30.0),
                detail_gains=(1.3, 1.0),
                base_gain=0.45,
                detail_limit=0.6,
                window_percentiles=(50.0, 99.5),
                window_levels=(0.45, 0.95),
                tone_curve="film",
                tone_parameter=4.0,
                bits_stored=10,
                monochrome1=True,
            ),
        ),
        SiteProfile(
            name="site_d_raw",
            manufacturer="Site D / CsI flat panel",
            institution="Training hospital D",
            view="AP pelvis",
            field_mm=PELVIS_FIELD_MM,
            detector=_CSI_500_FINE,
            technique=Technique(
                kvp=85.0,
                added_al_mm=1.0,
                added_cu_mm=0.1,
                mas=16.0,
                aec_detector_ugy=3.0,
                grid_ratio=10.0,
                sid_range_mm=(1100.0, 1200.0),
                table_gap_mm=65.0,
            ),
            # The raw log read-out exported FOR PROCESSING, 16 bits, as research exports often are.
            processing=Processing(presentation="FOR PROCESSING", bits_stored=16),
        ),
        SiteProfile(
            name="site_e_ase",
            manufacturer="Site E / a-Se flat panel",
            institution="Held-out hospital E",
            view="AP hip",
            field_mm=HIP_FIELD_MM,
            detector=_A_SE,
            technique=Technique(
                kvp=78.0,
                added_al_mm=1.0,
                added_cu_mm=0.0,
                mas=20.0,
                aec_detector_ugy=3.5,
                grid_ratio=12.0,
                sid_range_mm=(1000.0, 1150.0),
                table_gap_mm=55.0,
            ),
            # a-Se is sharp already: a wide unsharp mask (σ 8 mm) over a base at 0.4, a steep sigmoid.
            processing=Processing(
                presentation="FOR PRESENTATION",
                detail_radii_mm=(8.0,),
                detail_gains=(2.0,),
                base_gain=0.4,
                detail_limit=0.7,
                window_percentiles=(50.0, 99.5),
                window_levels=(0.5, 0.95),
                tone_curve="sigmoid",
                tone_parameter=5.0,
                bits_stored=16,
            ),
            held_out=True,
        ),
        SiteProfile(
            name="site_f_portable",
            manufacturer="Site F / wireless CsI flat panel",
            institution="Held-out hospital F",
            view="AP pelvis",
            field_mm=PELVIS_FIELD_MM,
            detector=_CSI_600,
            # Bedside: the panel under the patient without a grid, higher kVp, fixed mAs, small gap.
            technique=Technique(
                kvp=90.0,
                added_al_mm=1.0,
                added_cu_mm=0.0,
                mas=12.0,
                aec_detector_ugy=None,
                grid_ratio=None,
                sid_range_mm=(1000.0, 1100.0),
                table_gap_mm=20.0,
                heel_gradient=0.08,
            ),
            # Aggressive equalisation (base at 0.1) to lift detail out of the scatter fog, gamma curve.
            processing=Processing(
                presentation="FOR PRESENTATION",
                detail_radii_mm=(2.0, 10.0, 40.0),
                detail_gains=(1.8, 1.8, 1.6),
                base_gain=0.1,
                detail_limit=0.4,
                window_percentiles=(50.0, 99.0),
                window_levels=(0.5, 0.95),
                tone_curve="gamma",
                tone_parameter=1.5,
                bits_stored=12,
            ),
            held_out=True,
        ),
    )
}
"""Registered site profiles by name: four for training, two ``held_out``."""


def training_sites() -> tuple[SiteProfile, ...]:
    """The profiles a model may be trained on."""
    return tuple(profile for profile in SITE_PROFILES.values() if not profile.held_out)


def held_out_sites() -> tuple[SiteProfile, ...]:
    """The profiles kept out of training, to test generalisation."""
    return tuple(profile for profile in SITE_PROFILES.values() if profile.held_out)
