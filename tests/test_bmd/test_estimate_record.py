"""The estimate record and the rows of results.csv: written and read back unchanged, in the documented
layout of schema hipbmd-estimate/3; records of schemas 1 and 2 are still read."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from hipbmd.bmd.hip_evidence import HipEvidence
from hipbmd.bmd.record import EstimateRecord, read_records
from hipbmd.bmd.record_parts import (
    EstimateOptions,
    HipCategory,
    HipRecord,
    ModelReference,
    RadiographSummary,
    ROIMeasurement,
)
from hipbmd.bmd.results_table import CSV_COLUMNS, ResultRow, result_rows, write_results_csv
from hipbmd.localisation.hip_location import HipLocation

LOCATION = HipLocation("left", (120.5, 300.25), (190.0, 280.0), 0.91, 0.72, "assumed", ("side_assumed",))
OPTIONS = EstimateOptions(samples=4, seed=3, side=None, center_mm=(12.5, 30.0), yam_table=None)
EVIDENCE = HipEvidence({"neck": 0.012, "total_hip": 0.008}, 0.91, 0.05, 1.5, 23.25, 128.5, 31.5, 0.75)


def _record() -> EstimateRecord:
    neck = ROIMeasurement(
        "left", "neck", 0.7123, (0.61, 0.81), -1.4, None, "osteopenia", None, 0.051, 0.0123, 0.9456
    )
    withheld = ROIMeasurement("left", "total_hip", None)
    hip = HipRecord(
        "left",
        LOCATION,
        ("side_assumed", "high_uncertainty: total_hip ±0.100 g/cm2"),
        {"neck": 0.65432, "total_hip": 0.8},
        (neck, withheld),
        {"side": "right", "failure": None, "regions": {}},
        HipCategory(None, None, None, 0.9, "not_measured: total_hip"),
        EVIDENCE,
        1.234,
    )
    bare = HipRecord(
        "right", replace(LOCATION, side="right", lesser_trochanter_px=None), ("not_measured: x",)
    )
    return EstimateRecord(
        "/data/hip.dcm",
        input_sha256="ef" * 32,
        input_notes=("colour (RGB) radiograph converted to grey",),
        radiograph=RadiographSummary((0.15, 0.15), "imager", 1.15, "AP", None, "FOR PRESENTATION", 71.0, "F"),
        model=ModelReference("bmd_gan", "ab" * 32, True, "12" * 32),
        localiser=ModelReference("localiser", "cd" * 32, False),
        options=OPTIONS,
        hips=(bare, hip),
        overlay="hip.png",
    )


def test_a_record_round_trips_through_json_text() -> None:
    record = _record()
    assert EstimateRecord.from_json(json.loads(json.dumps(record.to_json()))) == record


def test_evidence_without_a_neck_width_is_written_as_null_and_read_back_as_nan() -> None:
    missing = replace(EVIDENCE, neck_width_mm=float("nan"))
    written = json.loads(json.dumps(missing.to_dict()))
    assert written["neck_width_mm"] is None
    read = HipEvidence.from_dict(written)
    assert math.isnan(read.neck_width_mm) and read == missing and read != EVIDENCE


def test_a_record_of_schema_2_is_read() -> None:
    written = json.loads(json.dumps(_record().to_json()))
    del written["settings"]["category_confidence"]
    for hip in written["hips"]:
        for key in ("category", "evidence", "ood_distance"):
            del hip[key]
        for measurement in hip["measurements"]:
            for key in ("error_sd_g_cm2", "p_osteoporosis", "p_below_normal"):
                del measurement[key]
    read = EstimateRecord.from_json({**written, "schema": "hipbmd-estimate/2"})
    assert read.schema == "hipbmd-estimate/2" and read.options == OPTIONS
    hip = read.hips[1]
    assert hip.category is None and hip.evidence is None and hip.measurements[0].p_osteoporosis is None


def test_an_error_record_round_trips_and_has_only_its_three_keys() -> None:
    record = EstimateRecord.failed("/data/broken.dcm", "not a DICOM file")
    assert record.to_json() == {
        "schema": "hipbmd-estimate/3",
        "source": "/data/broken.dcm",
        "error": "not a DICOM file",
    }
    assert EstimateRecord.from_json(record.to_json()) == record
    assert record.reason == "error: not a DICOM file"


def test_a_refused_record_round_trips_with_its_input_digest() -> None:
    record = EstimateRecord("/data/coarse.dcm", refused="pixel spacing 30 x 30 mm", input_sha256="12" * 32)
    assert list(record.to_json()) == ["schema", "source", "input_sha256", "input_notes", "refused"]
    assert EstimateRecord.from_json(json.loads(json.dumps(record.to_json()))) == record
    assert record.reason == "refused: pixel spacing 30 x 30 mm"


def test_a_record_of_schema_1_is_read() -> None:
    written = json.loads(json.dumps(_record().to_json()))
    for key in ("input_sha256", "input_notes", "no_hip_found"):
        del written[key]
    for model in ("model", "localiser"):
        del written[model]["shipped"]
        del written[model]["calibration_sha256"]
    read = EstimateRecord.from_json({**written, "schema": "hipbmd-estimate/1"})
    assert read.schema == "hipbmd-estimate/1" and read.input_sha256 is None and read.model
    assert read.model.shipped is None and [h.measurements for h in read.hips] == [
        h.measurements for h in _record().hips
    ]
    assert not read.is_finished(OPTIONS, "ab" * 32, "cd" * 32, "ef" * 32)  # redone by this version


def test_the_json_keeps_the_documented_layout() -> None:
    written = json.loads(json.dumps(_record().to_json()))
    assert list(written) == [
        "schema",
        "hipbmd_version",
        "source",
        "input_sha256",
        "input_notes",
        "radiograph",
        "model",
        "localiser",
        "settings",
        "no_hip_found",
        "hips",
        "qc_flags",
        "overlay",
    ]
    assert written["settings"] == {
        "samples": 4,
        "seed": 3,
        "side": None,
        "center_mm": [12.5, 30.0],
        "yam_table": None,
        "spacing_mm": None,
        "category_confidence": 0.9,
    }
    hip = written["hips"][1]
    assert list(hip) == [
        "side",
        "location",
        "flags",
        "raw_roi_mean_g_cm2",
        "measurements",
        "femur",
        "category",
        "evidence",
        "ood_distance",
    ]
    assert hip["category"] == {
        "who_category": None,
        "probability": None,
        "likeliest": None,
        "confidence": 0.9,
        "withheld": "not_measured: total_hip",
    }
    assert hip["evidence"]["neck_width_mm"] == 31.5 and hip["ood_distance"] == 1.234
    assert hip["measurements"][0] == {
        "side": "left",
        "roi": "neck",
        "abmd_g_cm2": 0.7123,
        "interval_g_cm2": [0.61, 0.81],
        "t_score": -1.4,
        "yam_percent": None,
        "who_category": "osteopenia",
        "jos_category": None,
        "error_sd_g_cm2": 0.051,
        "p_osteoporosis": 0.0123,
        "p_below_normal": 0.9456,
    }
    assert hip["location"]["head_centre_px"] == [120.5, 300.25]
    assert written["qc_flags"] == [
        "right: not_measured: x",
        "left: side_assumed",
        "left: high_uncertainty: total_hip ±0.100 g/cm2",
    ]


@pytest.mark.parametrize(
    "broken",
    [
        {"schema": "hipbmd-estimate/0", "source": "a", "error": "x"},
        {"schema": "hipbmd-estimate/1", "source": "a"},
        {"schema": "hipbmd-estimate/1", "source": "a", "hips": [{"side": "middle"}]},
        ["not", "a", "record"],
    ],
)
def test_a_foreign_or_malformed_record_is_refused(broken: object) -> None:
    with pytest.raises(ValueError):
        EstimateRecord.from_json(broken)


def test_a_record_is_finished_only_for_the_same_input_model_localiser_and_options() -> None:
    record = _record()
    assert record.is_finished(OPTIONS, "ab" * 32, "cd" * 32, "ef" * 32, "12" * 32)
    # the same weights, recalibrated (or not calibrated): redone
    assert not record.is_finished(OPTIONS, "ab" * 32, "cd" * 32, "ef" * 32, "34" * 32)
    assert not record.is_finished(OPTIONS, "ab" * 32, "cd" * 32, "ef" * 32)
    assert not record.is_finished(replace(OPTIONS, seed=4), "ab" * 32, "cd" * 32, "ef" * 32)
    assert not record.is_finished(OPTIONS, "ef" * 32, "cd" * 32, "ef" * 32)
    assert not record.is_finished(OPTIONS, "ab" * 32, None, "ef" * 32)
    assert not record.is_finished(OPTIONS, "ab" * 32, "cd" * 32, "00" * 32)  # another image at the path
    assert not EstimateRecord.failed("a", "b").is_finished(OPTIONS, "ab" * 32, "cd" * 32, None)


def test_read_records_skips_other_json(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(_record().to_json()))
    (tmp_path / "b.json").write_text(json.dumps({"schema": "something else"}))
    (tmp_path / "c.json").write_text("{not json")
    assert read_records(tmp_path) == [("a", _record())]


def test_result_rows_round_trip_through_the_csv(tmp_path: Path) -> None:
    nothing = replace(_record(), source="/data/chest.dcm", hips=(), no_hip_found="no femoral head")
    records = [_record(), EstimateRecord.failed("/data/broken.dcm", "not a DICOM file"), nothing]
    path = write_results_csv(tmp_path / "results.csv", records)
    with path.open(newline="") as stream:
        reader = csv.DictReader(stream)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        read = [ResultRow.from_csv(row, line) for line, row in enumerate(reader, start=2)]
    made = [row for record in records for row in result_rows(record)]
    assert [replace(row, line=None) for row in read] == made
    assert [(row.side, row.roi) for row in made] == [
        ("right", ""),
        ("left", "neck"),
        ("left", "total_hip"),
        ("", ""),
        ("", ""),
    ]
    assert made[1].raw_roi_mean_g_cm2 == 0.65432 and made[3].error == "not a DICOM file"
    assert made[3].reason == "error: not a DICOM file"
    assert made[4].reason == "no_hip_found: no femoral head" and not made[4].error


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("abmd_g_cm2", "abc", "abmd_g_cm2 is not a number"),
        ("t_score", "nan", "t_score is not finite"),
        ("who_category", "fragile", "who_category 'fragile' is not one of"),
        ("roi", "wrist", "unknown roi 'wrist'"),
    ],
)
def test_a_bad_cell_is_refused_naming_its_column(column: str, value: str, problem: str) -> None:
    row = ResultRow("/data/hip.dcm", "left", "neck", 0.7).to_csv()
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerow({**row, column: value})
    cells = next(csv.DictReader(io.StringIO(text.getvalue())))
    with pytest.raises(ValueError, match=problem):
        ResultRow.from_csv(cells)
