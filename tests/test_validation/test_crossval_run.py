"""A tiny end-to-end cross-validation on the three-case cohort: two folds and one external site."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from hipbmd import api  # noqa: E402
from hipbmd.cli import main  # noqa: E402
from hipbmd.errors import InputError  # noqa: E402

TINY_CONFIG = """
grid: {shape: [64, 64], spacing_mm: 2.5}
generator: {base_width: 4}
gan: {iterations: [2, 2], batch: 2, checkpoint_every: 2}
"""


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cv_config") / "tiny.yaml"
    path.write_text(TINY_CONFIG)
    return path


@pytest.fixture(scope="module")
def cv(sim_cohort: Path, tiny_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("cv") / "cv"
    api.crossval(sim_cohort, folder, 2, tiny_config, ["site_e"], seed=0, samples=2)
    return folder


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as stream:
        return list(csv.DictReader(stream))


def test_each_fold_trains_on_the_other_folds_and_never_on_the_external_site(cv: Path) -> None:
    splits = json.loads((cv / "splits.json").read_text())
    assert splits["external"] == ["case_00002"] and splits["external_sites"] == ["site_e_ase"]
    assert sorted(case for fold in splits["folds"] for case in fold) == ["case_00000", "case_00001"]
    for k, held_out in enumerate(splits["folds"], start=1):
        plan = json.loads((cv / f"fold_{k}" / "model" / "model.json").read_text())["training"]["plan"]
        assert plan["case_ids"] == sorted({"case_00000", "case_00001"} - set(held_out))
        estimated = [
            json.loads(p.read_text())["source"] for p in (cv / f"fold_{k}" / "estimates").glob("*.json")
        ]
        assert [Path(source).parent.name for source in estimated] == held_out
    final = json.loads((cv / "final" / "model" / "model.json").read_text())["training"]["plan"]
    assert final["case_ids"] == ["case_00000", "case_00001"]


def test_the_folds_results_and_the_reference_are_combined_and_evaluated(sim_cohort: Path, cv: Path) -> None:
    reference = rows(cv / "reference.csv")
    assert [row["case_id"] for row in reference] == ["case_00000", "case_00001"]
    for row in reference:
        assert Path(row["file"]).is_absolute() and Path(row["file"]).is_file() and row["file"] == row["xray"]
        assert row["fold"] in ("1", "2")
    assert {row["file"] for row in rows(cv / "results.csv")} == {row["file"] for row in reference}
    external = rows(cv / "external" / "reference.csv")
    assert [(row["case_id"], row["fold"]) for row in external] == [("case_00002", "external")]
    assert {row["file"] for row in rows(cv / "external" / "results.csv")} == {external[0]["file"]}
    for report in (cv / "report", cv / "external" / "report"):
        assert (report / "report.json").is_file()


def test_a_rerun_resumes_without_training_or_estimating_again(
    sim_cohort: Path,
    tiny_config: Path,
    cv: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    weights = {p: p.stat().st_mtime_ns for p in cv.glob("*/model/model.safetensors")}
    command = ["--cohort", str(sim_cohort), "--folds", "2", "-o", str(cv), "--config", str(tiny_config)]
    command += ["--external-sites", "site_e", "--samples", "2"]
    monkeypatch.setattr(sys, "argv", ["hipbmd", "crossval", *command])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "0 estimated, 1 skipped, 0 failed" in out and "external: 1 cases" in out
    assert {p: p.stat().st_mtime_ns for p in cv.glob("*/model/model.safetensors")} == weights
    assert len(weights) == 3


def test_a_folder_with_other_splits_is_refused(sim_cohort: Path, tiny_config: Path, cv: Path) -> None:
    with pytest.raises(InputError, match="other splits"):
        api.crossval(sim_cohort, cv, 2, tiny_config, [], seed=0)


def test_bad_folds_and_sites_end_with_exit_code_2(
    sim_cohort: Path, tiny_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    common = [
        "hipbmd",
        "crossval",
        "--cohort",
        str(sim_cohort),
        "-o",
        str(tmp_path),
        "--config",
        str(tiny_config),
    ]
    for extra in (["--folds", "1"], ["--folds", "2", "--external-sites", "site_z"], ["--folds", "4"]):
        monkeypatch.setattr(sys, "argv", [*common, *extra])
        with pytest.raises(SystemExit) as done:
            main()
        assert done.value.code == 2, extra
    assert not (tmp_path / "splits.json").exists()
