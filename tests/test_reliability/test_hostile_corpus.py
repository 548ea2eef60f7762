"""Each hostile input gets its documented outcome: the exit code, one line on stderr naming the file and
the problem (or, for estimate, a reason in results.csv), and nothing half-written."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

import hostile_corpus
from hipbmd.cli import main


def _run_in_process(
    case: hostile_corpus.HostileCase,
    folder: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[int, list[str], list[str]]:
    """(exit code, stderr lines, reasons and input notes of the estimate records)."""
    monkeypatch.chdir(folder)
    monkeypatch.setattr(sys, "argv", ["hipbmd", *case.command])
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        main()
    errors = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    reasons = list(hostile_corpus.recorded_reasons(folder / "out"))
    return int(stopped.value.code or 0), errors, reasons


@pytest.mark.parametrize("case", hostile_corpus.CASES, ids=lambda case: case.name)
def test_a_hostile_input_gets_its_documented_outcome(
    case: hostile_corpus.HostileCase,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case.make(tmp_path)
    code, errors, reasons = _run_in_process(case, tmp_path, capsys, monkeypatch)
    assert code == case.exit_code, (errors, reasons)
    if code == 0:
        assert any(case.expect in reason for reason in reasons), reasons
    else:
        assert errors and case.expect in errors[0], errors
        assert errors[0].startswith("hipbmd: error: ")
        assert not any("Traceback" in line for line in errors)
    for name in case.not_written:
        assert not (tmp_path / name).exists(), f"{name} was written"
