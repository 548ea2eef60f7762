"""The DICOM results of an estimate: a TID 1500 SR that reads back to the record's numbers, and the
overlay as a Secondary Capture, both in the source's study, with UIDs fixed by source and model."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

hd = pytest.importorskip("highdicom")

from hipbmd.bmd.dicom_files import dicom_result_paths, has_dicom_source, write_dicom_results  # noqa: E402
from hipbmd.bmd.record import EstimateRecord  # noqa: E402
from hipbmd.bmd.record_parts import (  # noqa: E402
    EstimateOptions,
    HipRecord,
    ModelReference,
    RadiographSummary,
    ROIMeasurement,
)
from hipbmd.io.dicom_dx import DXAcquisition, write_dx  # noqa: E402
from hipbmd.localisation.hip_location import HipLocation  # noqa: E402

ACQUISITION = DXAcquisition((0.5, 0.5), 1100.0, 950.0, uid_entropy="sr-test", age_years=71.0, sex="F")


def _case(folder: Path) -> EstimateRecord:
    """A DX source, its overlay PNG, and a record with two regions on the left hip."""
    source = write_dx(np.random.default_rng(0).random((300, 320)), folder / "hip.dcm", ACQUISITION)
    Image.fromarray(np.full((60, 80, 3), 128, np.uint8)).save(folder / "hip.png")
    neck = ROIMeasurement("left", "neck", 0.6123, (0.55, 0.67), -2.6, 71.5, "osteoporosis", "osteoporosis")
    total = ROIMeasurement("left", "total_hip", 0.7421, (0.69, 0.79), -1.7, None, None, None)
    location = HipLocation("left", (150.0, 200.0), None, 0.9, 0.0, "dicom")
    hip = HipRecord("left", location, ("high_uncertainty: total_hip ±0.101 g/cm2",), {}, (neck, total))
    return EstimateRecord(
        str(source),
        input_sha256="ab" * 32,
        radiograph=RadiographSummary((0.5, 0.5), "imager", 1.158),
        model=ModelReference("bmd_gan", "cd" * 32, True),
        localiser=ModelReference("hip_localiser", "ef" * 32, True),
        options=EstimateOptions(),
        hips=(hip,),
        overlay="hip.png",
    )


def _numbers(group: object) -> dict[str, float]:
    return {m.name.value: m.value for m in group.get_measurements()}  # type: ignore[attr-defined]


def test_the_sr_reads_back_to_the_numbers_of_the_record(tmp_path: Path) -> None:
    record = _case(tmp_path)
    sr_path, sc_path = write_dicom_results(record, tmp_path, "hip")
    report = hd.sr.srread(sr_path).content
    groups = {group.tracking_identifier: group for group in report.get_image_measurement_groups()}
    assert set(groups) == {"left neck", "left total_hip"}
    for measurement in record.hips[0].measurements:
        numbers = _numbers(groups[f"left {measurement.roi}"])
        assert numbers["ABMD-EST"] == pytest.approx(measurement.abmd_g_cm2)
        assert measurement.interval_g_cm2 is not None
        assert (numbers["ABMD-CI95-LOW"], numbers["ABMD-CI95-HIGH"]) == pytest.approx(
            measurement.interval_g_cm2
        )
        assert numbers["TSCORE-EST"] == pytest.approx(measurement.t_score)
    assert _numbers(groups["left neck"])["YAM-PERCENT-EST"] == pytest.approx(71.5)
    neck = groups["left neck"]
    evaluations = {(q.name.value, q.value.value) for q in neck.get_qualitative_evaluations()}
    assert ("WHO-CATEGORY", "OSTEOPOROSIS") in evaluations and ("QC-FLAG", "high_uncertainty") in evaluations
    content: list[str] = []
    pydicom.dcmread(sr_path).walk(lambda _, element: content.append(str(element.value)))
    assert record.model is not None and record.localiser is not None
    assert record.model.sha256 in content and record.localiser.sha256 in content and "hipbmd" in content
    site = neck.finding_sites[0]
    assert site.laterality.value == "7771000" and site.topographical_modifier.value == "ROI-NECK"
    assert sc_path.is_file()


def test_both_objects_join_the_source_study_with_fixed_uids(tmp_path: Path) -> None:
    record = _case(tmp_path)
    source = pydicom.dcmread(record.source)
    sr_path, sc_path = write_dicom_results(record, tmp_path, "hip")
    sr, sc = pydicom.dcmread(sr_path), pydicom.dcmread(sc_path)
    for derived in (sr, sc):
        assert derived.StudyInstanceUID == source.StudyInstanceUID
        assert derived.PatientID == source.PatientID and derived.PatientSex == "F"
        assert derived.SeriesInstanceUID != source.SeriesInstanceUID
    assert (
        sc.ImageType == ["DERIVED", "SECONDARY"] and "not for primary diagnosis" in sc.DerivationDescription
    )
    referenced = sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
    assert referenced.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
    first = (sr.SOPInstanceUID, sc.SOPInstanceUID)
    write_dicom_results(record, tmp_path, "hip")  # again: the same objects
    assert (pydicom.dcmread(sr_path).SOPInstanceUID, pydicom.dcmread(sc_path).SOPInstanceUID) == first
    other_model = replace(record, model=ModelReference("other", "00" * 32, False))
    write_dicom_results(other_model, tmp_path, "other")
    assert pydicom.dcmread(dicom_result_paths(tmp_path, "other")[0]).SOPInstanceUID != first[0]


def test_only_results_of_dicom_sources_get_dicom_results(tmp_path: Path) -> None:
    record = _case(tmp_path)
    assert has_dicom_source(record)
    assert not has_dicom_source(replace(record, source=str(tmp_path / "hip.png")))
    assert not has_dicom_source(EstimateRecord.failed(record.source, "broken"))
    assert not has_dicom_source(EstimateRecord(record.source, refused="too small"))


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy (Debian dicom3tools) is not installed")
def test_dciodvfy_finds_no_error_in_either_object(tmp_path: Path) -> None:
    for path in write_dicom_results(_case(tmp_path), tmp_path, "hip"):
        checked = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, errors="replace")
        errors = [line for line in (checked.stdout + checked.stderr).splitlines() if line.startswith("Error")]
        assert not errors, (path.name, errors)
