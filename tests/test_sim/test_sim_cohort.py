"""A cohort: manifest, settings, resuming after an interruption, the ``simulate`` command, contact sheet."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
import sys
from pathlib import Path

import matplotlib.image
import pytest

from hipbmd.cli import main
from hipbmd.errors import InputError
from hipbmd.sim.case_draw import Resolution
from hipbmd.sim.cohort import MANIFEST_COLUMNS, CohortSpec, check_settings, resolve_sites, simulate_cohort
from hipbmd.sim.contact_sheet import write_contact_sheet
from hipbmd.sim.sites import SITE_PROFILES, held_out_sites, training_sites
from sim_cohort_files import SPEC, file_hashes, file_stamps

CASES = [request.case_id for request in SPEC.requests()]


def _rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "manifest.csv").open(newline="") as stream:
        reader = csv.DictReader(stream)
        assert tuple(reader.fieldnames or ()) == MANIFEST_COLUMNS
        return list(reader)


def _cli_args(folder: Path, seed: int) -> list[str]:
    resolution = SPEC.resolution
    return [
        "simulate",
        "-o",
        str(folder),
        "--n",
        str(SPEC.n),
        "--sites",
        ",".join(SPEC.sites),
        "--seed",
        str(seed),
        "--voxel-mm",
        str(resolution.voxel_mm),
        "--xray-binning",
        str(resolution.xray_binning),
        "--ct-scale",
        str(resolution.ct_scale),
        "--no-contact-sheet",
    ]


def _run(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["hipbmd", *args])
    with pytest.raises(SystemExit) as stopped:
        main()
    captured = capsys.readouterr()
    code = stopped.value.code
    return (0 if code is None else code), captured.out, captured.err


def test_manifest_has_one_row_per_case_with_the_site_files(sim_cohort: Path) -> None:
    rows = _rows(sim_cohort)
    assert [row["case_id"] for row in rows] == CASES
    assert [row["site"] for row in rows] == list(SPEC.sites)  # case k at site k mod (number of sites)
    for row in rows:
        truth = json.loads((sim_cohort / "cases" / row["case_id"] / "truth.json").read_text())
        for column in ("ct", "labels", "xray"):
            assert (sim_cohort / row[column]).exists(), column
        assert row["ct"].endswith("/ct") == (sim_cohort / row["ct"]).is_dir()
        patient, dxa = truth["patient"], truth["dxa_g_cm2"]
        assert (float(row["age"]), row["sex"], row["side"]) == (
            patient["age_years"],
            patient["sex"],
            dxa["side"],
        )
        assert float(row["dxa_neck_g_cm2"]) == round(dxa["neck"], 4)
        assert float(row["dxa_total_hip_g_cm2"]) == round(dxa["total_hip"], 4)


def test_cohort_json_records_the_settings(sim_cohort: Path) -> None:
    settings = json.loads((sim_cohort / "cohort.json").read_text())
    assert settings["seed"] == SPEC.seed and settings["sites"] == list(SPEC.sites)
    assert settings["resolution"] == dataclasses.asdict(SPEC.resolution)
    assert "hipbmd_version" in settings


def test_resume_recreates_a_lost_case_and_leaves_the_others_alone(sim_cohort: Path, tmp_path: Path) -> None:
    folder = tmp_path / "cohort"
    shutil.copytree(sim_cohort, folder)
    cases = folder / "cases"
    original = file_hashes(cases / "case_00001")
    kept = {case: file_stamps(cases / case) for case in CASES if case != "case_00001"}
    manifest = (folder / "manifest.csv").read_bytes()
    shutil.rmtree(cases / "case_00001")
    # an interrupted run leaves its half-written case behind
    (cases / "case_00001.partial").mkdir()
    (cases / "case_00001.partial" / "stray.txt").write_text("half written")
    (folder / "manifest.csv").unlink()
    reports: list[tuple[str, int, int]] = []
    written = simulate_cohort(SPEC, folder, on_case=lambda *report: reports.append(report))
    assert reports == [("case_00001", SPEC.n, SPEC.n)]
    assert file_hashes(cases / "case_00001") == original  # byte for byte, no stray file
    assert {case: file_stamps(cases / case) for case in kept} == kept  # not rewritten
    assert not list(cases.glob("*.partial"))
    assert written == folder / "manifest.csv" and written.read_bytes() == manifest


def test_leftover_partial_folders_are_removed_even_when_nothing_is_pending(
    sim_cohort: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "cohort"
    shutil.copytree(sim_cohort, folder)
    (folder / "cases" / "case_00002.partial").mkdir()
    reports: list[tuple[str, int, int]] = []
    simulate_cohort(SPEC, folder, on_case=lambda *report: reports.append(report))
    assert reports == []
    assert not (folder / "cases" / "case_00002.partial").exists()


@pytest.mark.parametrize(
    "other",
    [
        dataclasses.replace(SPEC, seed=SPEC.seed + 1),
        dataclasses.replace(SPEC, sites=tuple(reversed(SPEC.sites))),
        dataclasses.replace(SPEC, resolution=Resolution(voxel_mm=2.0, xray_binning=4, ct_scale=3.0)),
        dataclasses.replace(SPEC, resolution=Resolution()),
    ],
    ids=["seed", "sites", "voxel", "resolution"],
)
def test_check_settings_refuses_a_folder_with_other_settings(other: CohortSpec, tmp_path: Path) -> None:
    check_settings(SPEC, tmp_path)
    recorded = (tmp_path / "cohort.json").read_text()
    with pytest.raises(InputError, match="other settings"):
        check_settings(other, tmp_path)
    assert (tmp_path / "cohort.json").read_text() == recorded


def test_check_settings_accepts_the_same_settings_and_a_larger_cohort(tmp_path: Path) -> None:
    check_settings(SPEC, tmp_path)
    check_settings(SPEC, tmp_path)
    check_settings(dataclasses.replace(SPEC, n=SPEC.n + 10), tmp_path)  # extending a cohort is allowed


def test_check_settings_refuses_a_broken_settings_file(tmp_path: Path) -> None:
    (tmp_path / "cohort.json").write_text("{not json")
    with pytest.raises(InputError, match="not a cohort settings file"):
        check_settings(SPEC, tmp_path)


def test_resolve_sites_groups_and_lists() -> None:
    training = tuple(p.name for p in training_sites())
    held_out = tuple(p.name for p in held_out_sites())
    assert len(training) == 4 and len(held_out) == 2 and not set(training) & set(held_out)
    assert resolve_sites("training") == training
    assert resolve_sites("held-out") == held_out
    assert resolve_sites("all") == tuple(SITE_PROFILES)
    assert resolve_sites(f" {held_out[0]} , training,{held_out[0]}") == (held_out[0], *training)
    assert resolve_sites(f"{training[1]},training") == (
        training[1],
        *(s for s in training if s != training[1]),
    )


@pytest.mark.parametrize("names", ["", " , ", "site_z", "training,nowhere"])
def test_resolve_sites_refuses_unknown_or_no_sites(names: str) -> None:
    with pytest.raises(ValueError, match="site"):
        resolve_sites(names)


def test_cli_refuses_a_folder_with_other_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    check_settings(SPEC, tmp_path)
    before = file_hashes(tmp_path)
    code, out, err = _run(_cli_args(tmp_path, SPEC.seed + 1), capsys, monkeypatch)
    assert code == 2 and out == ""
    assert err.startswith("hipbmd: error: ") and "other settings" in err.splitlines()[0]
    assert file_hashes(tmp_path) == before and not (tmp_path / "cases").exists()


def test_cli_error_is_one_line_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    check_settings(SPEC, tmp_path)
    code, _, err = _run(_cli_args(tmp_path, SPEC.seed + 1), capsys, monkeypatch)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err


def test_cli_on_a_finished_cohort_changes_nothing(
    sim_cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same settings through the command line options: recognised as the same cohort, nothing to do."""
    folder = tmp_path / "cohort"
    shutil.copytree(sim_cohort, folder)
    before = file_hashes(folder)
    code, out, _ = _run(_cli_args(folder, SPEC.seed), capsys, monkeypatch)
    assert code == 0
    assert out.strip() == f"wrote {folder / 'manifest.csv'} ({SPEC.n} cases from {', '.join(SPEC.sites)})"
    assert file_hashes(folder) == before


def test_contact_sheet_is_a_png_of_one_row_per_case(sim_cohort: Path, tmp_path: Path) -> None:
    path = write_contact_sheet(sim_cohort, tmp_path / "sheets" / "contact.png")
    assert path == tmp_path / "sheets" / "contact.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    # figure size 4.2 in per column (4 columns) × 3.6 in per case, at 80 dpi
    assert image.shape[:2] == (round(3.6 * SPEC.n * 80), round(4.2 * 4 * 80))
    assert image[..., :3].std() > 0.05  # not a blank page
    two = write_contact_sheet(sim_cohort, tmp_path / "two.png", cases=2)
    assert two is not None and matplotlib.image.imread(two).shape[0] == round(3.6 * 2 * 80)


def test_contact_sheet_of_an_empty_cohort_is_none(tmp_path: Path) -> None:
    (tmp_path / "cases").mkdir()
    assert write_contact_sheet(tmp_path, tmp_path / "contact.png") is None
    assert not (tmp_path / "contact.png").exists()
