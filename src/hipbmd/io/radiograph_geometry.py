"""The geometry of a radiograph at the hip: one value, derived once, used from reading to measurement.

A hip on the detector is magnified by M = SID / SOD, with SOD the distance from the focal spot to the
hip. Files rarely state SOD. What they state, and what it is worth (DICOM PS3.3 C.8.11.7 and §10.7.1):

* **PixelSpacing calibrated at the patient plane** (Pixel Spacing Calibration Type GEOMETRY or FIDUCIAL):
  the site measured the magnification, M = detector spacing / calibrated spacing (±2 %).
* **DistanceSourceToPatient** (0018,1111, or SID / Estimated Radiographic Magnification Factor) is the
  distance to the tabletop on some devices and to the patient's entrance surface on others; neither is
  the hip. Which one it is shows in the gap SID − DSP: up to :data:`TABLETOP_GAP_MAX_MM` it is the
  tabletop (a bucky lies 20–90 mm below it), and the hip centre lies about half the body's front-to-back
  thickness above it: :data:`HIP_ABOVE_TABLETOP_MM` (SD 25 mm over bodies 180–350 mm thick). A larger gap
  is the entrance surface; the gap is then the bucky's distance plus the body's thickness, and the hip lies
  half that thickness above the bucky's usual :data:`TYPICAL_TABLETOP_GAP_MM` (SD 20 mm, from the spread of
  the bucky's distance and of where the hip lies within the body).
* **SID alone**: the hip lies 100–250 mm above the detector (tabletop gap plus half a pelvis); placed at
  :data:`HIP_ABOVE_DETECTOR_MM` with the SD of a uniform spread over that range (43 mm), the
  magnification is uncertain by about 5 % (1 SD; about ±10 % over the whole range).
* An **Estimated Radiographic Magnification Factor** without distances is used as the hip's (5 %).
* **Nothing**: an assumed SID of 1100 mm with the hip at its usual height, flagged.

The relative uncertainties are one standard deviation of the magnification, i.e. of every length and of
the square root of every area measured at the hip: the SD of the hip's height over the detector divided
by the source–hip distance.
"""

from __future__ import annotations

from dataclasses import dataclass

from hipbmd.types import Radiograph

DEFAULT_SID_MM = 1100.0
TABLETOP_GAP_MAX_MM = 150.0
TYPICAL_TABLETOP_GAP_MM = 55.0
HIP_ABOVE_TABLETOP_MM = 120.0
HIP_DEPTH_FRACTION = 0.5
HIP_ABOVE_DETECTOR_MM = 175.0
_PLAUSIBLE_GAP_MM = (10.0, 700.0)
_PLAUSIBLE_MAGNIFICATION = (1.0, 1.6)
HIP_HEIGHT_SD_OVER_TABLETOP_MM = 25.0
HIP_HEIGHT_SD_UNDER_ENTRANCE_MM = 20.0
HIP_HEIGHT_SD_UNKNOWN_MM = 150.0 / 12**0.5  # uniform over 100–250 mm above the detector
CALIBRATED_UNCERTAINTY = 0.02
MAGNIFICATION_FACTOR_UNCERTAINTY = 0.05


@dataclass(frozen=True)
class RadiographGeometry:
    """How large the hip is on the detector, and how sure that is.

    Attributes:
        detector_spacing_mm: (row, col) pixel spacing at the detector, mm (None when unknown).
        magnification: detector size / size at the hip's plane (≥ 1).
        relative_uncertainty: one standard deviation of the magnification, as a fraction of it.
        source: what it was derived from: "calibrated_spacing", "tabletop_distance",
            "entrance_surface_distance", "sid", "magnification_factor" or "assumed".
        sid_mm: source–detector distance, mm (the file's, or the assumed one).
    """

    detector_spacing_mm: tuple[float, float] | None
    magnification: float
    relative_uncertainty: float
    source: str
    sid_mm: float

    @property
    def hip_spacing_mm(self) -> tuple[float, float] | None:
        """(row, col) pixel spacing at the hip's plane, mm."""
        if self.detector_spacing_mm is None:
            return None
        return self.detector_spacing_mm[0] / self.magnification, self.detector_spacing_mm[
            1
        ] / self.magnification

    @property
    def sod_mm(self) -> float:
        """Source–hip distance, mm (SID / magnification)."""
        return self.sid_mm / self.magnification

    @property
    def flags(self) -> list[str]:
        """QC flags the geometry raises: an assumed magnification."""
        if self.source == "assumed":
            return [f"magnification_assumed: {self.magnification:.3f}"]
        return []


def radiograph_geometry(radiograph: Radiograph) -> RadiographGeometry:
    """The hip's magnification of a radiograph, from the strongest statement its file makes (see module)."""
    detector = radiograph.pixel_spacing_mm
    sid = radiograph.sid_mm
    calibrated = radiograph.calibrated_spacing_mm
    if calibrated is not None and detector is not None and calibrated[0] > 0:
        magnification = detector[0] / calibrated[0]
        return RadiographGeometry(
            detector, magnification, CALIBRATED_UNCERTAINTY, "calibrated_spacing", sid or DEFAULT_SID_MM
        )
    distance = _source_to_patient_mm(radiograph)
    if sid is not None and distance is not None:
        return _from_distances(detector, sid, distance)
    if sid is not None:
        return _hip_at(detector, sid, HIP_ABOVE_DETECTOR_MM, HIP_HEIGHT_SD_UNKNOWN_MM, "sid")
    if radiograph.magnification is not None and _plausible(radiograph.magnification):
        magnification = float(radiograph.magnification)
        return RadiographGeometry(
            detector, magnification, MAGNIFICATION_FACTOR_UNCERTAINTY, "magnification_factor", DEFAULT_SID_MM
        )
    return _hip_at(detector, DEFAULT_SID_MM, HIP_ABOVE_DETECTOR_MM, HIP_HEIGHT_SD_UNKNOWN_MM, "assumed")


def _source_to_patient_mm(radiograph: Radiograph) -> float | None:
    """DistanceSourceToPatient, or SID / Estimated Radiographic Magnification Factor, mm."""
    if radiograph.sod_mm is not None:
        return float(radiograph.sod_mm)
    if (
        radiograph.sid_mm is not None
        and radiograph.magnification is not None
        and radiograph.magnification > 0
    ):
        return float(radiograph.sid_mm / radiograph.magnification)
    return None


def _from_distances(
    detector: tuple[float, float] | None, sid_mm: float, distance_mm: float
) -> RadiographGeometry:
    """Tabletop or entrance surface, told apart by the gap between the stated distance and the detector."""
    gap = sid_mm - distance_mm
    if not _PLAUSIBLE_GAP_MM[0] <= gap <= _PLAUSIBLE_GAP_MM[1]:
        return _hip_at(detector, sid_mm, HIP_ABOVE_DETECTOR_MM, HIP_HEIGHT_SD_UNKNOWN_MM, "sid")
    if gap <= TABLETOP_GAP_MAX_MM:
        above = gap + HIP_ABOVE_TABLETOP_MM
        return _hip_at(detector, sid_mm, above, HIP_HEIGHT_SD_OVER_TABLETOP_MM, "tabletop_distance")
    thickness = gap - TYPICAL_TABLETOP_GAP_MM
    above = TYPICAL_TABLETOP_GAP_MM + HIP_DEPTH_FRACTION * thickness
    return _hip_at(detector, sid_mm, above, HIP_HEIGHT_SD_UNDER_ENTRANCE_MM, "entrance_surface_distance")


def _hip_at(
    detector: tuple[float, float] | None, sid_mm: float, above_mm: float, height_sd_mm: float, source: str
) -> RadiographGeometry:
    """The hip ``above_mm`` over the detector, its height uncertain by ``height_sd_mm`` (1 SD)."""
    source_to_hip_mm = sid_mm - above_mm
    magnification = sid_mm / source_to_hip_mm
    return RadiographGeometry(detector, magnification, height_sd_mm / source_to_hip_mm, source, sid_mm)


def _plausible(magnification: float) -> bool:
    return _PLAUSIBLE_MAGNIFICATION[0] <= magnification <= _PLAUSIBLE_MAGNIFICATION[1]
