"""A Comprehensive SR measurement report (TID 1500) of one radiograph's estimate record, with highdicom.

One measurement group per hip and region: the DXA-equivalent aBMD (g/cm²) with its 95 % interval, the
T-score, %YAM when a table was given, the WHO and JOS categories when given, and the hip's QC flags; the
finding site is the proximal femur with its laterality and the region as modifier. The algorithm (hipbmd,
its version and the sha256 of the model and localiser) identifies the device observer. The report
references its source image and copies the patient and study identity from it, so a PACS files it with
the study. Codes: :mod:`hipbmd.bmd.dicom_codes` and docs/dicom.md.

UIDs are derived from the source's SOP Instance UID and the model's sha256: the same radiograph estimated
with the same model gives the same report, so a receiver that gets it twice keeps one copy.
"""

from __future__ import annotations

import highdicom as hd
from pydicom import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from hipbmd import __version__
from hipbmd.bmd import dicom_codes as concept
from hipbmd.bmd.record import EstimateRecord
from hipbmd.bmd.record_parts import HipRecord, ROIMeasurement

SR_SERIES_NUMBER = 9100
SR_INSTANCE_NUMBER = 1


# Type 2 attributes of the patient and study that a referencing object copies: present, maybe empty.
IDENTITY_KEYWORDS = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
)


def evidence_of(source: Dataset) -> Dataset:
    """The source's header (no pixels) with every identity attribute present, empty where it lacks one."""
    header = Dataset()
    header.update({element.tag: element for element in source if element.keyword != "PixelData"})
    if hasattr(source, "file_meta"):
        header.file_meta = source.file_meta
    for keyword in IDENTITY_KEYWORDS:
        if keyword not in header:
            setattr(header, keyword, "")
    return header


def derived_uid(source: Dataset, record: EstimateRecord, role: str) -> str:
    """A UID fixed by the source image, the model and the role ("sr", "sr-series", "sc", …)."""
    model = record.model.sha256 if record.model is not None else ""
    return str(generate_uid(entropy_srcs=[str(source.SOPInstanceUID), str(model), role]))


def measurement_report(record: EstimateRecord, source: Dataset) -> hd.sr.ComprehensiveSR:
    """The SR of an estimate ``record`` of the radiograph ``source`` (module docstring).

    Raises:
        ValueError: the record holds no result (an error or a refusal), or the source is not DICOM.
    """
    if record.error is not None or record.refused is not None or record.model is None:
        raise ValueError(f"{record.source}: no result to report ({record.reason})")
    if "SOPInstanceUID" not in source or "StudyInstanceUID" not in source:
        raise ValueError(f"{record.source}: the source has no DICOM study to report into")
    source = evidence_of(source)
    groups = [group for hip in record.hips for group in _hip_groups(hip, record, source)]
    if not groups:
        raise ValueError(f"{record.source}: no hip to report ({record.reason})")
    report = hd.sr.MeasurementReport(
        observation_context=_observation_context(record, source),
        procedure_reported=concept.PROCEDURE,
        imaging_measurements=groups,
        referenced_images=[source],
    )
    return hd.sr.ComprehensiveSR(
        evidence=[source],
        content=report,
        series_instance_uid=derived_uid(source, record, "sr-series"),
        series_number=SR_SERIES_NUMBER,
        sop_instance_uid=derived_uid(source, record, "sr"),
        instance_number=SR_INSTANCE_NUMBER,
        manufacturer="hipbmd",
        is_complete=True,
        series_description="hipbmd aBMD estimate (research, not for diagnosis)",
    )


def _observation_context(record: EstimateRecord, source: Dataset) -> hd.sr.ObservationContext:
    device = hd.sr.DeviceObserverIdentifyingAttributes(
        uid=derived_uid(source, record, "device"),
        name="hipbmd",
        manufacturer_name="hipbmd contributors",
        model_name=(record.model.name if record.model is not None else None) or "hipbmd",
    )
    observer = hd.sr.ObserverContext(observer_type=codes.DCM.Device, observer_identifying_attributes=device)
    return hd.sr.ObservationContext(observer_device_context=observer)


def _algorithm(record: EstimateRecord) -> hd.sr.AlgorithmIdentification:
    # the full sha256 of the model's weights, then of the localiser's (64 hex digits: an LO value each)
    parameters = [
        reference.sha256 for reference in (record.model, record.localiser) if reference and reference.sha256
    ]
    return hd.sr.AlgorithmIdentification(name="hipbmd", version=__version__, parameters=parameters)


def _hip_groups(
    hip: HipRecord, record: EstimateRecord, source: Dataset
) -> list[hd.sr.MeasurementsAndQualitativeEvaluations]:
    """One group per region with a number; a hip without any gets one group of its flags (why)."""
    measured = [m for m in hip.measurements if m.abmd_g_cm2 is not None]
    groups = [_group(hip, m.roi, _numbers(m), _evaluations(hip, m), record, source) for m in measured]
    flags = _evaluations(hip, None)
    if not groups and flags:
        groups.append(_group(hip, None, [], flags, record, source))
    return groups


def _group(
    hip: HipRecord,
    roi: str | None,
    numbers: list[hd.sr.Measurement],
    evaluations: list[hd.sr.QualitativeEvaluation],
    record: EstimateRecord,
    source: Dataset,
) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    site = hd.sr.FindingSite(
        anatomic_location=concept.PROXIMAL_FEMUR,
        laterality=concept.LATERALITY[hip.side],
        topographical_modifier=None if roi is None else concept.REGIONS[roi],
    )
    name = hip.side if roi is None else f"{hip.side} {roi}"
    tracking = hd.sr.TrackingIdentifier(uid=derived_uid(source, record, name), identifier=name)
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=tracking,
        algorithm_id=_algorithm(record),
        finding_sites=[site],
        measurements=numbers or None,
        qualitative_evaluations=evaluations or None,
        source_images=[hd.sr.SourceImageForMeasurementGroup.from_source_image(source)],
    )


def _numbers(measurement: ROIMeasurement) -> list[hd.sr.Measurement]:
    low, high = measurement.interval_g_cm2 or (None, None)
    values = [
        (concept.ABMD, measurement.abmd_g_cm2, concept.G_PER_CM2),
        (concept.INTERVAL_LOW, low, concept.G_PER_CM2),
        (concept.INTERVAL_HIGH, high, concept.G_PER_CM2),
        (concept.T_SCORE, measurement.t_score, concept.T_SCORE_UNIT),
        (concept.YAM_PERCENT, measurement.yam_percent, concept.PERCENT),
    ]
    return [
        hd.sr.Measurement(name=name, value=value, unit=unit)
        for name, value, unit in values
        if value is not None
    ]


def _evaluations(hip: HipRecord, measurement: ROIMeasurement | None) -> list[hd.sr.QualitativeEvaluation]:
    """The region's categories (when given) and the hip's flags."""
    categories = (
        []
        if measurement is None
        else [
            (concept.WHO_CATEGORY, measurement.who_category),
            (concept.JOS_CATEGORY, measurement.jos_category),
        ]
    )
    evaluations = [
        hd.sr.QualitativeEvaluation(name=name, value=concept.CATEGORIES[category])
        for name, category in categories
        if category is not None
    ]
    flags = [flag for flag in hip.flags if not flag.startswith("landmarks:")]
    return evaluations + [
        hd.sr.QualitativeEvaluation(name=concept.QC_FLAG, value=concept.flag_concept(flag)) for flag in flags
    ]
