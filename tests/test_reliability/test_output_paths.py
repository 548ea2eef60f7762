"""Outputs are checked before any work: a folder where a file goes, a file where a folder goes, a path
under a file, or a folder without write permission is one clear error naming the path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hipbmd.errors import InputError
from hipbmd.io.output_paths import check_output_file, check_output_folder


def test_ordinary_outputs_pass(tmp_path: Path) -> None:
    assert (
        check_output_file(tmp_path / "new" / "deeper" / "labels.nii.gz")
        == tmp_path / "new" / "deeper" / "labels.nii.gz"
    )
    (tmp_path / "old.json").write_text("{}")
    check_output_file(tmp_path / "old.json")  # replaced
    check_output_folder(tmp_path / "out")
    check_output_folder(tmp_path)


@pytest.mark.parametrize(
    ("target", "kind", "problem"),
    [
        ("folder", "file", "is a folder; give a file name"),
        ("notes.txt", "folder", "is a file; give a folder"),
        ("notes.txt/out.json", "file", "notes.txt is a file, not a folder"),
        ("notes.txt/deeper/out", "folder", "notes.txt is a file, not a folder"),
    ],
)
def test_the_wrong_kind_of_path_is_refused(tmp_path: Path, target: str, kind: str, problem: str) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "notes.txt").write_text("a file")
    check = check_output_file if kind == "file" else check_output_folder
    with pytest.raises(InputError, match=problem) as raised:
        check(tmp_path / target)
    assert raised.value.path == str(tmp_path / target)


@pytest.mark.skipif(os.geteuid() == 0, reason="permissions do not bind the root user")
def test_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(InputError, match="no permission to write"):
            check_output_file(locked / "labels.nii.gz")
        with pytest.raises(InputError, match="no permission to write"):
            check_output_folder(locked)
    finally:
        locked.chmod(0o755)


def test_an_os_error_is_one_line_naming_its_file() -> None:
    import typer

    from hipbmd.cli.support import one_line, run_reporting_errors

    error = PermissionError(13, "Permission denied", "/data/out/labels.nii.gz")
    assert one_line(error) == "/data/out/labels.nii.gz: Permission denied"

    def fails() -> None:
        raise FileExistsError(17, "File exists", "/data/out")

    with pytest.raises(typer.Exit) as stopped:
        run_reporting_errors(fails)
    assert stopped.value.exit_code == 2


def test_info_json_has_no_nan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import sys

    import nibabel as nib
    import numpy as np

    from hipbmd.cli import main

    array = np.full((8, 8, 8), 40.0, dtype=np.float32)
    array[0, 0, 0] = np.nan
    nib.save(nib.Nifti1Image(array, np.eye(4)), tmp_path / "ct.nii.gz")
    monkeypatch.setattr(sys, "argv", ["hipbmd", "info", str(tmp_path / "ct.nii.gz"), "--json"])
    with pytest.raises(SystemExit):
        main()

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    json.loads(capsys.readouterr().out, parse_constant=refuse)
