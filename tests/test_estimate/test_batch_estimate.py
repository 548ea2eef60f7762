"""hipbmd estimate as a batch: folders and manifests in, finished records skipped, parts into one folder."""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from hipbmd import api  # noqa: E402
from hipbmd.cli import main  # noqa: E402


class Statuses:
    """Collects what ``on_file`` reports: record name → status."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def __call__(self, done: int, total: int, name: str, status: str) -> None:
        self.seen[name] = status


def run(
    inputs: list[Path],
    output: Path,
    model: Path,
    manifest: Path | None = None,
    part: str | tuple[int, int] | None = None,
    seed: int = 0,
    overwrite: bool = False,
) -> dict[str, str]:
    """Record name → status of one batch run with two Monte-Carlo samples."""
    statuses = Statuses()
    api.estimate(
        inputs,
        output,
        model=model,
        samples=2,
        seed=seed,
        on_file=statuses,
        manifest=manifest,
        part=part,
        overwrite=overwrite,
    )
    return statuses.seen


def csv_files(output: Path) -> list[str]:
    with (output / "results.csv").open(newline="") as stream:
        return sorted({Path(row["file"]).parent.name for row in csv.DictReader(stream)})


CASES = ["case_00000", "case_00001", "case_00002"]
NAMES = [f"{case}_xray" for case in CASES]


def test_a_rerun_skips_finished_records_and_redoes_changed_or_broken_ones(
    sim_cohort: Path, tiny_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert run([], out, tiny_model, manifest=sim_cohort / "manifest.csv") == dict.fromkeys(NAMES, "done")
    stamps = {name: (out / f"{name}.json").stat().st_mtime_ns for name in NAMES}
    assert run([sim_cohort], out, tiny_model) == dict.fromkeys(NAMES, "skipped")  # the folder: same files
    assert {name: (out / f"{name}.json").stat().st_mtime_ns for name in NAMES} == stamps
    changed = json.loads((out / f"{NAMES[0]}.json").read_text())
    changed["settings"]["samples"] = 3
    (out / f"{NAMES[0]}.json").write_text(json.dumps(changed))
    (out / f"{NAMES[1]}.json").write_text('{"schema": "hipbmd-estimate/1", "sour')  # cut short
    again = run([sim_cohort], out, tiny_model)
    assert again == {NAMES[0]: "done", NAMES[1]: "done", NAMES[2]: "skipped"}
    assert json.loads((out / f"{NAMES[0]}.json").read_text())["settings"]["samples"] == 2
    assert run([sim_cohort], out, tiny_model, seed=1) == dict.fromkeys(NAMES, "done")  # other settings
    assert run([sim_cohort], out, tiny_model, seed=1, overwrite=True) == dict.fromkeys(NAMES, "done")
    assert csv_files(out) == CASES
    assert not list(out.glob("*.partial"))


def test_parts_run_into_one_folder_make_one_complete_table(
    sim_cohort: Path, tiny_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = run([sim_cohort], out, tiny_model, part="1/2")
    assert csv_files(out) == [CASES[0], CASES[2]]
    second = run([sim_cohort], out, tiny_model, part=(2, 2))
    assert set(first) | set(second) == set(NAMES) and not set(first) & set(second)
    assert csv_files(out) == CASES  # the last part's table lists every record in the folder
    assert run([sim_cohort], out, tiny_model, part="3/3") == {NAMES[2]: "skipped"}


def test_parts_in_separate_folders_are_merged(sim_cohort: Path, tiny_model: Path, tmp_path: Path) -> None:
    parts = [tmp_path / f"part_{k}" for k in (1, 2)]
    for k, folder in enumerate(parts, start=1):
        run([], folder, tiny_model, manifest=sim_cohort / "manifest.csv", part=f"{k}/2")
    records = api.merge_results(parts, tmp_path / "merged.csv")
    assert sorted(Path(r.source).parent.name for r in records) == CASES
    shutil.copy(tmp_path / "merged.csv", parts[0] / "results.csv")
    assert csv_files(parts[0]) == CASES


def test_files_of_one_name_in_different_folders_keep_their_own_records(
    sim_cohort: Path, tiny_model: Path, tmp_path: Path
) -> None:
    xray = sim_cohort / "cases" / CASES[0] / "xray.dcm"
    for folder in ("a", "b", "c"):
        (tmp_path / folder).mkdir()
        shutil.copy(xray, tmp_path / folder / "xray.dcm")
    out = tmp_path / "out"
    assert run([tmp_path / "a" / "xray.dcm", tmp_path / "b"], out, tiny_model) == {
        "a_xray": "done",
        "b_xray": "done",
    }
    assert run([tmp_path / "b" / "xray.dcm"], out, tiny_model) == {"b_xray": "skipped"}  # found by source
    assert run([tmp_path / "c" / "xray.dcm"], out, tiny_model) == {"xray": "done"}
    (tmp_path / "d").mkdir()
    shutil.copy(xray, tmp_path / "d" / "xray.dcm")
    (name,) = run([tmp_path / "d" / "xray.dcm"], out, tiny_model)  # "xray" is c's: d's gets a suffix
    assert name.startswith("xray-")
    sources = [json.loads(p.read_text())["source"] for p in sorted(out.glob("*.json"))]
    assert sorted(Path(s).parent.name for s in sources) == ["a", "b", "c", "d"]


def test_a_file_that_failed_is_tried_again(tiny_model: Path, tmp_path: Path) -> None:
    bad = tmp_path / "broken.dcm"
    bad.write_bytes(b"not a dicom file")
    for _ in range(2):
        assert run([bad], tmp_path / "out", tiny_model) == {"broken": "failed"}


def test_the_command_counts_and_refuses_bad_parts(
    sim_cohort: Path,
    tiny_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    common = ["-o", str(tmp_path / "o"), "--model", str(tiny_model), "--samples", "2"]
    for extra, code in (
        ([str(sim_cohort), "--part", "0/3"], 2),
        ([str(sim_cohort), "--part", "4/3"], 2),
        ([str(sim_cohort), "--part", "x"], 2),
        ([], 2),  # no inputs
        (["--manifest", str(sim_cohort / "manifest.csv"), "--part", "2/3"], 0),
        ([str(sim_cohort)], 0),
    ):
        monkeypatch.setattr(sys, "argv", ["hipbmd", "estimate", *common, *extra])
        with pytest.raises(SystemExit) as done:
            main()
        assert done.value.code == code, extra
    captured = capsys.readouterr()
    assert "--part '4/3': expected k/N" in captured.err
    assert "3 files, 2 done, 1 skipped (finished before), 0 failed" in captured.out
    merged = tmp_path / "merged.csv"
    monkeypatch.setattr(sys, "argv", ["hipbmd", "merge-results", str(tmp_path / "o"), "-o", str(merged)])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 0 and merged.read_text() == (tmp_path / "o" / "results.csv").read_text()


def test_a_radiograph_replaced_at_the_same_path_is_estimated_again(
    sim_cohort: Path, tiny_model: Path, tmp_path: Path
) -> None:
    xray = tmp_path / "in" / "hip.dcm"
    xray.parent.mkdir()
    shutil.copy(sim_cohort / "cases" / CASES[0] / "xray.dcm", xray)
    out = tmp_path / "out"
    assert run([xray], out, tiny_model) == {"hip": "done"}
    first = json.loads((out / "hip.json").read_text())["input_sha256"]
    assert run([xray], out, tiny_model) == {"hip": "skipped"}
    shutil.copy(sim_cohort / "cases" / CASES[1] / "xray.dcm", xray)  # another patient, same path
    assert run([xray], out, tiny_model) == {"hip": "done"}
    assert json.loads((out / "hip.json").read_text())["input_sha256"] != first


def test_no_error_escapes_the_per_file_handling(
    sim_cohort: Path, tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hipbmd.bmd.estimate as estimate_module

    real = estimate_module.estimate_hips
    calls = []

    def exhausted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise MemoryError
        if len(calls) == 2:
            raise RuntimeError("a bug")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(estimate_module, "estimate_hips", exhausted)
    statuses = run([sim_cohort], tmp_path / "out", tiny_model)
    assert statuses == {NAMES[0]: "failed", NAMES[1]: "failed", NAMES[2]: "done"}
    with (tmp_path / "out" / "results.csv").open(newline="") as stream:
        reasons = [row["reason"] for row in csv.DictReader(stream)]
    assert reasons[:2] == [
        "error: out of memory while estimating this file",
        "error: unexpected RuntimeError: a bug",
    ]


def test_exit_codes_tell_whether_every_file_has_its_rows(
    sim_cohort: Path,
    tiny_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "broken.dcm"
    bad.write_bytes(b"not a dicom file")
    good = sim_cohort / "cases" / CASES[0] / "xray.dcm"
    for inputs, code in (([good], 0), ([good, bad], 1), ([bad], 2)):
        out = tmp_path / f"out_{len(inputs)}_{code}"
        argv = ["hipbmd", "estimate", *map(str, inputs), "-o", str(out), "--model", str(tiny_model)]
        monkeypatch.setattr(sys, "argv", [*argv, "--samples", "2"])
        capsys.readouterr()
        with pytest.raises(SystemExit) as done:
            main()
        captured = capsys.readouterr()
        assert done.value.code == code, inputs
        errors = captured.err.strip().splitlines()
        if bad in inputs:  # one line on stderr naming the file once, and nothing about it on stdout
            assert errors == [f"hipbmd: error: {bad}: not a DICOM file"]
            assert str(bad) not in captured.out
        with (out / "results.csv").open(newline="") as stream:
            assert {row["file"] for row in csv.DictReader(stream)} == {str(p) for p in inputs}


def test_dicom_results_are_written_for_dicom_inputs_and_kept_on_resume(
    sim_cohort: Path, tiny_model: Path, tmp_path: Path
) -> None:
    xray = sim_cohort / "cases" / CASES[1] / "xray.dcm"
    out = tmp_path / "out"
    api.estimate([xray], out, model=tiny_model, samples=2, dicom=True)
    sr, sc = out / "xray_sr.dcm", out / "xray_sc.dcm"
    assert sr.is_file() and sc.is_file()
    import pydicom

    assert pydicom.dcmread(sr).StudyInstanceUID == pydicom.dcmread(xray).StudyInstanceUID
    sr.unlink()
    statuses = Statuses()
    api.estimate([xray], out, model=tiny_model, samples=2, dicom=True, on_file=statuses)
    assert statuses.seen == {"xray": "skipped"} and sr.is_file()  # a missing result is written again
