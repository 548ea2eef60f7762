"""Pairing results.csv rows with reference hips: by path, by a unique tail, and the reasons for gaps."""

from __future__ import annotations

from pathlib import Path

import pytest

from hipbmd.errors import InputError
from hipbmd.stats.inputs import read_reference, read_results
from hipbmd.stats.matching import match, withheld_counts

HEADER = "file,side,roi,abmd_g_cm2,error\n"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_matches_relative_paths_against_each_csv_folder(tmp_path: Path) -> None:
    reference = _write(
        tmp_path / "cohort" / "manifest.csv", "xray,side,dxa_neck_g_cm2\ncases/a/xray.dcm,left,0.7\n"
    )
    results = _write(
        tmp_path / "out" / "results.csv", HEADER + "../cohort/cases/a/xray.dcm,left,neck,0.72,\n"
    )
    matching = match(read_results(results), read_reference(reference), cwd=tmp_path / "elsewhere")
    assert (matching.matched_by_path, matching.matched_by_name) == (1, 0)
    assert matching.pairs[0].estimate_g_cm2 == 0.72


def test_falls_back_to_the_shortest_unique_tail(tmp_path: Path) -> None:
    rows = "cases/a/xray.dcm,left,0.7\ncases/b/xray.dcm,right,0.8\n"
    reference = _write(tmp_path / "cohort" / "manifest.csv", "xray,side,dxa_neck_g_cm2\n" + rows)
    results = _write(
        tmp_path / "out" / "results.csv",
        HEADER + "/elsewhere/a/xray.dcm,left,neck,0.71,\n/elsewhere/b/xray.dcm,right,neck,0.79,\n",
    )
    matching = match(read_results(results), read_reference(reference), cwd=tmp_path)
    assert (matching.matched_by_path, matching.matched_by_name) == (0, 2)
    assert [pair.estimate_g_cm2 for pair in matching.pairs] == [0.71, 0.79]


def test_an_ambiguous_name_is_not_matched(tmp_path: Path) -> None:
    reference = _write(
        tmp_path / "ref" / "dxa.csv", "file,side,dxa_neck_g_cm2\nhip.dcm,left,0.7\nother.dcm,left,0.6\n"
    )
    results = _write(
        tmp_path / "out" / "results.csv",
        HEADER + "/x/hip.dcm,left,neck,0.7,\n/y/hip.dcm,left,neck,0.7,\n/z/other.dcm,left,neck,0.6,\n",
    )
    matching = match(read_results(results), read_reference(reference), cwd=tmp_path)
    assert matching.ambiguous_reference == ("hip.dcm (left)",)
    assert matching.unmatched_results == ("/x/hip.dcm", "/y/hip.dcm")


def test_every_missing_estimate_has_a_reason(tmp_path: Path) -> None:
    reference = _write(
        tmp_path / "dxa.csv",
        "file,side,dxa_neck_g_cm2,dxa_total_hip_g_cm2\n"
        "a.dcm,left,0.7,0.8\nb.dcm,left,0.6,0.7\nc.dcm,right,0.5,0.6\nd.dcm,left,0.5,0.6\n",
    )
    results = _write(
        tmp_path / "results.csv",
        HEADER + "a.dcm,left,neck,0.71,\na.dcm,left,total_hip,,\n"  # total hip withheld
        "b.dcm,,,,cannot read\n"  # file error
        "c.dcm,left,neck,0.5,\n"  # other side only
        "d.dcm,left,,,\n",  # hip found, not measured
    )
    matching = match(read_results(results), read_reference(reference), cwd=tmp_path)
    reasons = {(pair.case.file, pair.roi): pair.withheld for pair in matching.pairs}
    assert reasons == {
        ("a.dcm", "neck"): None,
        ("a.dcm", "total_hip"): "withheld",
        ("b.dcm", "neck"): "file_error",
        ("b.dcm", "total_hip"): "file_error",
        ("c.dcm", "neck"): "side_missing",
        ("c.dcm", "total_hip"): "side_missing",
        ("d.dcm", "neck"): "not_measured",
        ("d.dcm", "total_hip"): "not_measured",
    }
    assert withheld_counts(list(matching.pairs)) == {
        "withheld": 1,
        "file_error": 2,
        "side_missing": 2,
        "not_measured": 2,
    }


def test_no_match_and_duplicates_are_errors_naming_the_results(tmp_path: Path) -> None:
    reference = _write(tmp_path / "dxa.csv", "file,side,dxa_neck_g_cm2\na.dcm,left,0.7\n")
    results = _write(tmp_path / "results.csv", HEADER + "z.dcm,left,neck,0.7,\n")
    with pytest.raises(InputError, match=r"results\.csv: no row matches"):
        match(read_results(results), read_reference(reference), cwd=tmp_path)
    _write(results, HEADER + "a.dcm,left,neck,0.7,\na.dcm,left,neck,0.8,\n")
    with pytest.raises(InputError, match="more than once"):
        match(read_results(results), read_reference(reference), cwd=tmp_path)


def test_both_hips_of_one_radiograph_are_matched_by_name(tmp_path: Path) -> None:
    reference = _write(
        tmp_path / "ref" / "dxa.csv", "file,side,dxa_neck_g_cm2\npelvis.dcm,left,0.7\npelvis.dcm,right,0.6\n"
    )
    results = _write(
        tmp_path / "out" / "results.csv",
        HEADER + "/x/pelvis.dcm,right,neck,0.61,\n/x/pelvis.dcm,left,neck,0.72,\n",
    )
    matching = match(read_results(results), read_reference(reference), cwd=tmp_path)
    assert matching.matched_by_name == 2
    assert {(pair.case.side, pair.estimate_g_cm2) for pair in matching.pairs} == {
        ("left", 0.72),
        ("right", 0.61),
    }
