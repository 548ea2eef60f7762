"""The report folder of ``hipbmd.api.evaluate`` on a tiny synthetic pair: files, numbers, failures."""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from evaluate_files import FAILED_CASE, WITHHELD_CASE, write_inputs
from sklearn.metrics import roc_auc_score

from hipbmd import __version__, api
from hipbmd.errors import InputError

NECK_YOUNG = (0.858, 0.120)  # NHANES III femoral neck mean and SD, g/cm² (Looker et al. 1998)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, Path, Path]:
    folder = tmp_path_factory.mktemp("evaluate")
    results, manifest = write_inputs(folder, n=24)[::-1]
    record = api.evaluate(results, manifest, folder / "report")
    return record, folder / "report", results, manifest


def _neck_pairs(results: Path, manifest: Path) -> tuple[np.ndarray, np.ndarray]:
    """Reference and estimated neck aBMD read straight from the CSVs (the index side of each case)."""
    with manifest.open() as stream:
        cases = {(str(manifest.parent / row["xray"]), row["side"]): row for row in csv.DictReader(stream)}
    x, y = [], []
    with results.open() as stream:
        for row in csv.DictReader(stream):
            case = cases.get((row["file"], row["side"]))
            if case is not None and row["roi"] == "neck" and row["abmd_g_cm2"]:
                x.append(float(case["dxa_neck_g_cm2"]))
                y.append(float(row["abmd_g_cm2"]))
    return np.array(x), np.array(y)


def test_the_folder_holds_json_html_and_every_figure(report: tuple[dict[str, Any], Path, Path, Path]) -> None:
    record, folder, _, _ = report
    names = {path.name for path in folder.iterdir()}
    assert names == {"report.json", "report.html", *record["figures"]}
    assert {"scatter_neck.png", "bland_altman_total_hip.png", "roc_osteoporosis.png", "sites.png"} <= names
    for name in record["figures"]:
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_json_is_strict_and_carries_provenance(report: tuple[dict[str, Any], Path, Path, Path]) -> None:
    record, folder, results, manifest = report

    def refuse(constant: str) -> None:
        raise AssertionError(f"non-standard JSON constant {constant}")

    written = json.loads((folder / "report.json").read_text(), parse_constant=refuse)
    assert written == record
    assert record["schema"] == "hipbmd-evaluate/1"
    provenance = record["provenance"]
    assert provenance["hipbmd_version"] == __version__
    datetime.fromisoformat(provenance["created"])
    for role, path in (("results", results), ("reference", manifest)):
        assert provenance["inputs"][role] == {
            "path": str(path),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        }


def test_numbers_equal_a_direct_computation(report: tuple[dict[str, Any], Path, Path, Path]) -> None:
    record, _, results, manifest = report
    x, y = _neck_pairs(results, manifest)
    neck = record["strata"]["overall"]["all"]["neck"]
    stats = neck["agreement"]
    assert stats["n"] == len(x) == 24 - 2
    assert stats["mae_g_cm2"] == pytest.approx(np.mean(np.abs(y - x)))
    assert stats["pearson"]["value"] == pytest.approx(np.corrcoef(x, y)[0, 1])
    assert stats["bland_altman"]["bias_g_cm2"] == pytest.approx(np.mean(y - x))
    t_scores = (x - NECK_YOUNG[0]) / NECK_YOUNG[1]
    assert np.all(np.abs(t_scores + 2.5) > 0.05)  # no rounding question at the boundary
    truth = t_scores <= -2.5
    assert 0 < truth.sum() < len(truth)
    auc = neck["diagnosis"]["osteoporosis"]["auc"]
    assert auc["value"] == pytest.approx(roc_auc_score(truth, -y))
    assert auc["ci_low"] <= auc["value"] <= auc["ci_high"]
    confusion = neck["who_confusion"]
    assert confusion["n"] == 24 and sum(map(sum, confusion["counts"])) == 24
    assert sum(row[-1] for row in confusion["counts"]) == 2  # the withheld and the failed file
    assert confusion["n_categorised"] == 22


def test_withheld_estimates_are_counted_not_dropped(report: tuple[dict[str, Any], Path, Path, Path]) -> None:
    record, *_ = report
    assert record["withheld"]["neck"] == {
        "n_reference": 24,
        "n_pairs": 22,
        "n_withheld": 2,
        "withheld_by_reason": {"withheld": 1, "file_error": 1},
    }
    withheld = [p for p in record["pairs"] if p["roi"] == "neck" and p["withheld"]]
    assert sorted(p["case_id"] for p in withheld) == [f"case_{WITHHELD_CASE:05d}", f"case_{FAILED_CASE:05d}"]
    jos = record["strata"]["overall"]["all"]["neck"]["jos_confusion"]
    assert jos["columns"][-1] == "withheld" and "implied" in jos["reference_yam"]


def test_subgroups_by_site_sex_and_age(report: tuple[dict[str, Any], Path, Path, Path]) -> None:
    record, *_ = report
    strata = record["strata"]
    assert list(strata) == ["overall", "site", "sex", "age_band"]
    assert list(strata["site"]) == ["site_a", "site_b"]
    assert sum(group["neck"]["n_reference"] for group in strata["sex"].values()) == 24
    assert list(strata["age_band"]) == ["<50", "50-59", "60-69", "70-79", ">=80"]
    assert record["rois"] == ["neck", "total_hip"]


def test_html_is_self_contained(report: tuple[dict[str, Any], Path, Path, Path]) -> None:
    record, folder, _, _ = report
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert page.count("<table") >= 6 and "ICC(A,1)" in page and "Youden" in page
    for banned in ("<script", "<link", "http://", "https://", 'src="/', "url("):
        assert banned not in page
    images = re.findall(r'alt="([^"]+)" title="[^"]+" src="data:image/png;base64,([^"]+)"', page)
    assert {name for name, _ in images} == set(record["figures"])
    name, data = images[0]
    assert base64.b64decode(data) == (folder / name).read_bytes()


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def test_failures_write_nothing(tmp_path: Path) -> None:
    results, manifest = write_inputs(tmp_path, n=8)[::-1]
    broken = tmp_path / "broken.csv"
    broken.write_text("file,side,abmd_g_cm2\nx.dcm,left,0.7\n")
    output = tmp_path / "existing"
    output.mkdir()
    (output / "keep.txt").write_text("mine")
    before = _snapshot(output)
    with pytest.raises(InputError, match=r"broken\.csv: missing column\(s\) roi"):
        api.evaluate(broken, manifest, output)
    with pytest.raises(InputError, match=r"nothing\.csv: cannot read"):
        api.evaluate(results, tmp_path / "nothing.csv", output)
    stranger = tmp_path / "stranger.csv"
    stranger.write_text("file,side,dxa_neck_g_cm2\nother.dcm,left,0.7\n")
    with pytest.raises(InputError, match="no row matches"):
        api.evaluate(results, stranger, output / "new")
    assert _snapshot(output) == before


def test_a_roi_without_t_reference_gets_jos_but_no_who_or_roc(tmp_path: Path) -> None:
    from evaluate_files import result_row

    from hipbmd.stats.evaluate import evaluation
    from hipbmd.stats.inputs import read_reference, read_results

    values = [(0.50, 0.52), (0.62, 0.60), (0.71, 0.74), (0.80, 0.78), (0.95, 0.97)]
    reference = tmp_path / "dxa.csv"
    reference.write_text(
        "file,side,dxa_proximal_femur_g_cm2\n"
        + "".join(f"h{k}.dcm,left,{x}\n" for k, (x, _) in enumerate(values))
    )
    rows = [result_row(f"h{k}.dcm", "left", "proximal_femur", y) for k, (_, y) in enumerate(values)]
    results = tmp_path / "results.csv"
    with results.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    record = evaluation(read_results(results), read_reference(reference))
    femur = record["strata"]["overall"]["all"]["proximal_femur"]
    assert femur["agreement"]["n"] == 5
    assert femur["diagnosis"] is None and femur["who_confusion"] is None
    # YAM implied by the results is 0.85 g/cm²: reference %YAM 58.8, 72.9, 83.5, 94.1, 111.8
    # (osteoporosis, low bone mass, three normal); estimates 61.2, 70.6, 87.1, 91.8, 114.1.
    jos = femur["jos_confusion"]
    assert jos["counts"] == [[3, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]
    assert list(record["strata"]) == ["overall"]
