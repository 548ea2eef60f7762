"""One manifest row of a site's training cohort, read for registration: CT, density, labels, radiograph.

A site hands over per patient a hip CT (DICOM series or volume file, in HU), optionally a label map of
it, a hip or pelvis radiograph and the DXA values; the manifest names them relative to the cohort
folder (columns ``case_id, site, side, ct, labels, xray, dxa_neck_g_cm2, dxa_total_hip_g_cm2``;
``side`` is the DXA's side). Nothing here reads a simulator's ``truth.json``.

* **Calibration** (HU → mg/cm³, :mod:`hipbmd.calibration`): the row's own line when it fills both
  optional columns ``slope_hu_per_mg_cm3`` and ``intercept_hu`` (a calibration made elsewhere, e.g. an
  asynchronous phantom scan), else the phantom in the CT, identified among the built-in ones. There is
  no automatic phantomless fallback: a CT without either is refused with a reason (training targets
  from an assumed calibration would teach the network a wrong density scale).
* **Labels**: the row's ``labels`` file or folder (:func:`~hipbmd.segmentation.masks.labels_for_ct`;
  an optional ``label_table`` column names its values, default ``hipbmd``), else the shipped femur
  segmenter (:func:`~hipbmd.segmentation.segment.segment_ct`).
* **Radiograph**: flipped into the standard AP display (DICOM PatientOrientation), the only display
  the registration's camera model knows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hipbmd.errors import InputError
from hipbmd.io.ct import read_ct
from hipbmd.io.radiograph import read_radiograph
from hipbmd.types import Radiograph, Volume

SLOPE_COLUMN = "slope_hu_per_mg_cm3"
INTERCEPT_COLUMN = "intercept_hu"
# Label names hipbmd reads as bone (every label map is first brought to the hipbmd names).
FEMUR_NAMES = {"right": "femur_right", "left": "femur_left"}
PELVIS_NAMES = ("hip_right", "hip_left", "sacrum", "pelvis")


@dataclass
class SiteCase:
    """A case read for registration.

    Attributes:
        case_id: the manifest's case id.
        ct_hu: the CT in HU.
        density: the calibrated CT (mg/cm³ of ``calibration["material"]``).
        labels: label map on the CT's grid.
        label_values: label name → value of ``labels``.
        radiograph: the radiograph in the standard AP display.
        calibration: summary of the HU → mg/cm³ line and how it was made.
        labels_source: the label file used, or "segmented".
    """

    case_id: str
    ct_hu: Volume
    density: Volume
    labels: Volume
    label_values: dict[str, int]
    radiograph: Radiograph
    calibration: dict[str, Any]
    labels_source: str

    def femur_value(self, side: str) -> int | None:
        """The label value of the femur of ``side``, None when the label map has none."""
        value = self.label_values.get(FEMUR_NAMES[side])
        return value if value is not None and bool((self.labels.array == value).any()) else None

    def pelvis_values(self) -> list[int]:
        """Label values of the pelvic bones present in the label map."""
        present = {int(v) for v in set(self.labels.array.ravel().tolist())}
        return [v for name, v in self.label_values.items() if name in PELVIS_NAMES and v in present]

    def bone_values(self) -> list[int]:
        """Label values of every bone present (femurs and pelvis; an implant label is not bone)."""
        femurs = [v for side in FEMUR_NAMES if (v := self.femur_value(side)) is not None]
        return femurs + self.pelvis_values()


def read_site_case(cohort: Path, row: dict[str, str], segmenter: Any = None) -> SiteCase:
    """Read, calibrate and label one manifest row (paths relative to ``cohort``).

    Args:
        cohort: the cohort folder.
        row: the manifest row.
        segmenter: a loaded segmentation model for rows without labels (default: the shipped one).

    Raises:
        InputError: a file cannot be read, or the CT has no usable calibration.
    """
    ct_path = cohort / row["ct"]
    ct_hu = read_ct(ct_path)
    calibration = _calibration(ct_hu, row, str(ct_path))
    labels, table, source = _labels(cohort, row, ct_hu, segmenter)
    radiograph = standard_display(read_radiograph(cohort / row["xray"]))
    return SiteCase(
        row["case_id"],
        ct_hu,
        calibration.apply(ct_hu),
        labels,
        table,
        radiograph,
        calibration.summary(),
        source,
    )


def _calibration(ct_hu: Volume, row: dict[str, str], source: str) -> Any:
    """The row's HU → mg/cm³ line, else the CT's phantom (see the module docstring)."""
    from hipbmd.calibration import calibrate_with_phantom, manual_calibration

    slope, intercept = (row.get(column, "").strip() for column in (SLOPE_COLUMN, INTERCEPT_COLUMN))
    if bool(slope) != bool(intercept):
        raise InputError(source, f"the manifest gives only one of {SLOPE_COLUMN} and {INTERCEPT_COLUMN}")
    if slope:
        try:
            return manual_calibration(float(slope), float(intercept), source)
        except ValueError as error:
            raise InputError(source, f"manifest calibration line refused ({error})") from None
    try:
        return calibrate_with_phantom(ct_hu, None, source)
    except InputError as error:
        found = error.problem.split(";")[0]
        hint = f"fill {SLOPE_COLUMN} and {INTERCEPT_COLUMN} in its manifest row"
        raise InputError(source, f"{found}; {hint}") from None


def _labels(
    cohort: Path, row: dict[str, str], ct_hu: Volume, segmenter: Any
) -> tuple[Volume, dict[str, int], str]:
    """The label map on the CT's grid, its name → value table and where it came from."""
    from hipbmd.io.label_tables import load_label_table

    given = row.get("labels", "").strip()
    if given:
        from hipbmd.segmentation.masks import labels_for_ct

        labels, table = labels_for_ct(cohort / given, ct_hu, row.get("label_table", "").strip() or "hipbmd")
        return labels, load_label_table(table), given
    from hipbmd.segmentation.segment import segment_ct

    return segment_ct(ct_hu, segmenter).labels, load_label_table("hipbmd"), "segmented"


def standard_display(radiograph: Radiograph) -> Radiograph:
    """The radiograph flipped into the standard AP display (its orientation then no longer stated).

    Raises:
        InputError: the image has no pixel spacing (registration needs the detector's size).
    """
    from hipbmd.localisation.orientation import display_orientation, to_standard

    if radiograph.pixel_spacing_mm is None:
        raise InputError(radiograph.meta.get("source", "radiograph"), "no pixel spacing")
    orientation = display_orientation(radiograph)
    if not (orientation.mirrored or orientation.upside_down):
        return radiograph
    meta = {key: value for key, value in radiograph.meta.items() if key != "patient_orientation"}
    meta["flipped_to_standard_display"] = {
        "mirrored": orientation.mirrored,
        "upside_down": orientation.upside_down,
    }
    return replace(radiograph, array=to_standard(radiograph.array, orientation), meta=meta)
