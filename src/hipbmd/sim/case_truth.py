"""Reading a virtual case's ``truth.json``: the one place that knows its keys.

:func:`hipbmd.sim.truth.write_truth` writes the document; :meth:`CaseTruth.from_json` reads it into
typed fields for what the training, localisation and pictures use (the case, the patient, the DXA
values, the radiograph's geometry, the truth DRRs and the femurs' landmarks on them), and keeps the
whole document for the rest (the CT record, the femurs' shapes and densities, the poses).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hipbmd.drr.geometry import PoseParameters, camera_with_pose, project_points
from hipbmd.errors import InputError
from hipbmd.io.radiograph import read_radiograph
from hipbmd.types import Camera, Radiograph, Side

Pixel = tuple[float, float]
SHAFT_DISTAL_MM = 60.0  # the shaft-axis landmark below the neck base, mm in the femur (below the trochanter)


@dataclass(frozen=True)
class DetectorGrid:
    """A camera's detector as the truth records it (:func:`hipbmd.drr.project_ct.camera_record`).

    Attributes:
        shape: rows, columns.
        pixel_spacing_mm: (row, col) pixel size at the detector, mm.
        principal_point_px: (row, col) where the central ray meets the detector.
        sdd_mm: source–detector distance, mm.
        projection: "perspective" or "parallel".
    """

    shape: tuple[int, int]
    pixel_spacing_mm: tuple[float, float]
    principal_point_px: Pixel
    sdd_mm: float
    projection: str = "perspective"

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> DetectorGrid:
        """The grid of a camera record."""
        return cls(
            (int(record["shape"][0]), int(record["shape"][1])),
            _pair(record["pixel_spacing_mm"]),
            _pair(record["principal_point_px"]),
            float(record["sdd_mm"]),
            str(record.get("projection", "perspective")),
        )

    def to_dict(self) -> dict[str, Any]:
        """Inverse of :meth:`from_dict`."""
        return {
            "shape": list(self.shape),
            "pixel_spacing_mm": list(self.pixel_spacing_mm),
            "sdd_mm": self.sdd_mm,
            "principal_point_px": list(self.principal_point_px),
            "projection": self.projection,
        }

    def camera(self) -> Camera:
        """The grid as a camera in the reference pose."""
        if self.projection == "parallel":
            return Camera(self.shape, self.pixel_spacing_mm, self.sdd_mm, self.principal_point_px, "parallel")
        return Camera(self.shape, self.pixel_spacing_mm, self.sdd_mm, self.principal_point_px)

    def to_detector_mm(self, points_px: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """(row, col) pixels (..., 2) → mm on the detector plane from the principal point."""
        offsets = np.asarray(points_px, dtype=np.float64) - np.asarray(self.principal_point_px)
        return np.asarray(offsets * np.asarray(self.pixel_spacing_mm), dtype=np.float64)

    def to_pixels(self, detector_mm: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Inverse of :meth:`to_detector_mm`."""
        scaled = np.asarray(detector_mm, dtype=np.float64) / np.asarray(self.pixel_spacing_mm)
        return np.asarray(scaled + np.asarray(self.principal_point_px), dtype=np.float64)


@dataclass(frozen=True)
class CaseTruth:
    """What the simulator knows of one case, read from its ``truth.json``.

    Attributes:
        case_id, site: the case and its imaging site.
        sex, age_years: the patient.
        index_side: the side DXA was taken on.
        implant_side: the side of a hip implant, None without one.
        dxa_g_cm2: ROI → the index hip's DXA aBMD, g/cm².
        shown_side: the hip a single-hip view shows ("right"/"left"), None or "both" for a pelvis.
        sid_mm, sod_mm: source–detector and source–isocentre distances of the radiograph, mm.
        radiograph: the radiograph's detector.
        drr: the detector of the truth DRRs (the same plane, finer pixels).
        femur_drr_file, bone_drr_file: the truth DRRs (g/cm²), relative to the case folder.
        landmarks_drr_px: side → landmark name → (row, col) on the truth DRRs.
        document: the whole ``truth.json`` as read.
    """

    case_id: str
    site: str
    sex: str
    age_years: float
    index_side: Side
    implant_side: Side | None
    dxa_g_cm2: dict[str, float]
    shown_side: str | None
    sid_mm: float
    sod_mm: float
    radiograph: DetectorGrid
    drr: DetectorGrid
    femur_drr_file: str
    bone_drr_file: str
    landmarks_drr_px: dict[str, dict[str, Pixel]]
    document: dict[str, Any] = field(repr=False, compare=False)

    @property
    def radiograph_file(self) -> str:
        """The radiograph's file name in the case folder (cases made before exports: ``xray.dcm``)."""
        return str(self.document["xray"].get("file", "xray.dcm"))

    @property
    def style_family(self) -> str:
        """The radiograph's processing family ("site" for a named site's own processing)."""
        return str(self.document["xray"].get("style", {}).get("family", "site"))

    @property
    def anatomy_source(self) -> str:
        """Where the case's anatomy came from (cases made before anatomy sources are parametric)."""
        return str(self.document.get("anatomy_source", "parametric"))

    @property
    def magnification(self) -> float:
        """The radiograph's magnification at the isocentre, SID / SOD."""
        return self.sid_mm / self.sod_mm

    @classmethod
    def read(cls, folder: Path) -> CaseTruth:
        """The truth of the case in ``folder``.

        Raises:
            InputError: no readable ``truth.json`` of a simulated case there.
        """
        path = folder / "truth.json"
        try:
            return cls.from_json(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError, ValueError) as error:
            raise InputError(path, f"not the truth of a simulated case ({error})") from None

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> CaseTruth:
        """The typed truth of a ``truth.json`` document.

        Raises:
            ValueError: a document without the keys of a simulated case's truth.
        """
        try:
            patient, dxa, xray = document["patient"], dict(document["dxa_g_cm2"]), document["xray"]
            implant = patient.get("implant") or {}
            landmarks = {
                str(side): {str(name): _pair(px) for name, px in femur.get("landmarks_drr_px", {}).items()}
                for side, femur in document.get("femurs", {}).items()
            }
            return cls(
                str(document["case_id"]),
                str(document["site"]),
                str(patient["sex"]),
                float(patient["age_years"]),
                _side(dxa.pop("side")),
                None if implant.get("side") is None else _side(implant["side"]),
                {str(roi): float(value) for roi, value in dxa.items()},
                xray.get("side"),
                float(xray["sid_mm"]),
                float(xray["sod_mm"]),
                DetectorGrid.from_dict(xray["camera"]),
                DetectorGrid.from_dict(document["femur_drr"]["camera"]),
                str(document["femur_drr"]["file"]),
                str(document["bone_drr"]["file"]),
                landmarks,
                dict(document),
            )
        except (KeyError, TypeError, IndexError, AttributeError) as error:
            raise ValueError(f"missing or malformed {error}") from None

    def to_json(self) -> dict[str, Any]:
        """The document as read (the inverse of :meth:`from_json`)."""
        return self.document

    def drr_to_radiograph_px(self, drr_px: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Truth-DRR pixels (..., 2) as radiograph pixels: both cameras share the detector plane."""
        return self.radiograph.to_pixels(self.drr.to_detector_mm(drr_px))

    def radiograph_to_drr_px(self, radiograph_px: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Inverse of :meth:`drr_to_radiograph_px`."""
        return self.drr.to_pixels(self.radiograph.to_detector_mm(radiograph_px))

    def femur_points_px(self, side: str) -> dict[str, npt.NDArray[np.float64]]:
        """The landmarks of ``side``'s femur in the radiograph's pixels (row, col): the truth DRR's own
        (head centre, narrowest neck, lesser and greater trochanter) and two points of the shaft axis
        projected from the femur's CT landmarks in its pose: ``neck_base`` (where the neck axis meets the
        shaft axis) and ``shaft_distal`` (``SHAFT_DISTAL_MM`` further down the shaft axis). Empty for a
        femur the truth does not describe; without the shaft points when it has no CT landmarks."""
        drawn = self.landmarks_drr_px.get(side, {})
        points = {name: self.drr_to_radiograph_px(px) for name, px in drawn.items()}
        femur = self.document.get("femurs", {}).get(side) or {}
        if "shaft_point_mm" not in femur.get("landmarks_ct", {}) or "pose" not in femur:
            return points
        marks = femur["landmarks_ct"]
        base = np.asarray(marks["shaft_point_mm"], dtype=np.float64)
        up = np.asarray(marks["shaft_axis"], dtype=np.float64)
        up = up if up[2] >= 0 else -up  # the axis as recorded points proximally (RAS+: +z superior)
        shaft_ct = np.stack([base, base - SHAFT_DISTAL_MM * up / np.linalg.norm(up)])
        shaft_px = self.femur_ct_points_px(side, shaft_ct)
        points["neck_base"], points["shaft_distal"] = shaft_px[0], shaft_px[1]
        return points

    def femur_ct_points_px(self, side: str, points_ct_mm: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Points (N, 3) of ``side``'s femur in its CT (RAS+ mm) as radiograph pixels (N, 2): the femur's
        recorded pose in the exam on the truth DRR camera, then the common detector plane."""
        pose = PoseParameters.from_dict(self.document["femurs"][side]["pose"]).to_pose()
        camera = camera_with_pose(self.drr.camera(), pose)
        return self.drr_to_radiograph_px(project_points(camera, np.atleast_2d(points_ct_mm)))

    def head_centre_px(self, side: str) -> npt.NDArray[np.float64]:
        """The femoral head centre of ``side`` in the radiograph's pixels (row, col)."""
        return self.drr_to_radiograph_px(self.landmarks_drr_px[side]["head_centre"])


def _pair(values: Any) -> tuple[float, float]:
    return float(values[0]), float(values[1])


def _side(value: Any) -> Side:
    if value not in ("right", "left"):
        raise ValueError(f"side {value!r}")
    return "right" if value == "right" else "left"


def read_case_radiograph(path: Path, truth: CaseTruth) -> Radiograph:
    """A case's radiograph as read; a PNG/JPEG export, which carries no spacing, gets the truth's detector
    spacing (source "assumed"), as a user gives it with ``--spacing-mm``."""
    radiograph = read_radiograph(path)
    if radiograph.pixel_spacing_mm is None:
        radiograph.pixel_spacing_mm = truth.radiograph.pixel_spacing_mm
        radiograph.spacing_source = "assumed"
    return radiograph
