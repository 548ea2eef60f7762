"""The coded concepts of hipbmd's DICOM Structured Report, listed in docs/dicom.md.

Standard codes are used where they mean what hipbmd reports: the anatomy and laterality (SNOMED CT), the
units (UCUM), and the report's structure (DICOM's own codes, through highdicom's TID 1500 templates).
hipbmd's numbers are *estimates from a radiograph* of what DXA would measure; the LOINC codes for bone
density and T-score name measurements *by DXA* (e.g. LOINC 38264-8 "DXA Hip [T-score] Bone density"), so
reporting an estimate under them would misstate the method. Those concepts use the private coding scheme
:data:`SCHEME` instead, each with the nearest standard code named in docs/dicom.md for mapping.
"""

from __future__ import annotations

from highdicom.sr import CodedConcept
from pydicom.sr.codedict import codes

SCHEME = "99HIPBMD"
SCHEME_NAME = "hipbmd private coding scheme"


def _private(value: str, meaning: str) -> CodedConcept:
    return CodedConcept(value, SCHEME, meaning)


PROCEDURE = _private("HIPBMD-EST", "Proximal femur aBMD estimated from a radiograph")
ABMD = _private("ABMD-EST", "Areal BMD, DXA-equivalent estimate")
INTERVAL_LOW = _private("ABMD-CI95-LOW", "Areal BMD estimate, 95% interval lower limit")
INTERVAL_HIGH = _private("ABMD-CI95-HIGH", "Areal BMD estimate, 95% interval upper limit")
T_SCORE = _private("TSCORE-EST", "T-score of the areal BMD estimate (NHANES III)")
YAM_PERCENT = _private("YAM-PERCENT-EST", "Areal BMD estimate as percent of young adult mean")
WHO_CATEGORY = _private("WHO-CATEGORY", "WHO densitometric category")
JOS_CATEGORY = _private("JOS-CATEGORY", "JOS/JSBMR 2012 densitometric category")
QC_FLAG = _private("QC-FLAG", "Quality control flag")
CATEGORIES = {
    "normal": _private("NORMAL", "Normal"),
    "osteopenia": _private("OSTEOPENIA", "Osteopenia"),
    "osteoporosis": _private("OSTEOPOROSIS", "Osteoporosis"),
    "low_bone_mass": _private("LOW-BONE-MASS", "Low bone mass"),
}
REGIONS = {
    "neck": _private("ROI-NECK", "Femoral neck region (DXA-like)"),
    "total_hip": _private("ROI-TOTAL-HIP", "Total hip region (DXA-like)"),
    "proximal_femur": _private("ROI-PROX-FEMUR", "Proximal femur region"),
}

PROXIMAL_FEMUR = CodedConcept.from_code(codes.SCT.BoneStructureOfProximalFemur)
LATERALITY = {
    "right": CodedConcept.from_code(codes.SCT.Right),
    "left": CodedConcept.from_code(codes.SCT.Left),
}
G_PER_CM2 = CodedConcept("g/cm2", "UCUM", "g/cm2")
T_SCORE_UNIT = CodedConcept("{T-score}", "UCUM", "T-score")
PERCENT = CodedConcept("%", "UCUM", "percent")


def flag_concept(flag: str) -> CodedConcept:
    """A QC flag as a coded value: its name as the code, the whole flag as meaning (in the default
    character repertoire, ± written +/-, cut to 64 characters)."""
    name = flag.split(":")[0].strip() or "flag"
    meaning = flag.strip().replace("±", "+/-").encode("ascii", "replace").decode("ascii")
    return _private(name, meaning[:64])
