"""``hipbmd seg-train`` on a one-case phantom cohort, with an extra CT of which only one side is kept."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

from seg_phantom import phantom_ct, phantom_label_volume

from hipbmd.cli import main
from hipbmd.io.volume_writers import write_labels, write_nifti


def run(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    """Run the CLI in-process; return (exit code, stderr)."""
    monkeypatch.setattr(sys, "argv", ["hipbmd", *args])
    with pytest.raises(SystemExit) as stopped:
        main()
    code = stopped.value.code
    return (0 if code is None else int(code)), capsys.readouterr().err


@pytest.fixture
def cohort(tmp_path: Path) -> Path:
    folder = tmp_path / "cohort"
    write_nifti(phantom_ct(), folder / "cases" / "p0" / "ct.nii.gz")
    write_labels(phantom_label_volume(), folder / "cases" / "p0" / "labels.nii.gz")
    (folder / "manifest.csv").write_text("case_id,ct,labels\np0,cases/p0/ct.nii.gz,cases/p0/labels.nii.gz\n")
    return folder


def test_an_extra_ct_can_keep_one_side_and_be_drawn_more_often(
    cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    case = cohort / "cases" / "p0"
    extra = f"{case / 'ct.nii.gz'},{case / 'labels.nii.gz'},hipbmd,left"
    output = tmp_path / "model"
    args = ["seg-train", "--cohort", str(cohort), "-o", str(output), "--iterations", "2", "--patch", "16"]
    code, err = run([*args, "--batch", "1", "--extra", extra, "--extra-weight", "3"], capsys, monkeypatch)
    assert code == 0, err
    training = json.loads((output / "model.json").read_text())["training"]
    assert training["cases"][1]["side_kept"] == "left" and "side_kept" not in training["cases"][0]
    assert training["extra_weight"] == 3


@pytest.mark.parametrize("spec", ["a,b", "a,b,hipbmd,middle"])
def test_a_malformed_extra_is_refused_in_one_line(
    spec: str,
    cohort: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = ["seg-train", "--cohort", str(cohort), "-o", str(tmp_path / "m"), "--extra", spec]
    code, err = run(args, capsys, monkeypatch)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--extra" in err
    assert not (tmp_path / "m").exists()
