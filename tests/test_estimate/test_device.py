"""--device: a device this machine has is used; another is refused before any work, in one line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from hipbmd.cli import main  # noqa: E402
from hipbmd.torch_device import module_device, resolve_device  # noqa: E402


def test_cpu_is_always_there() -> None:
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("name", ["banana", "cuda:x", "xla"])
def test_a_name_that_is_no_usable_device_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match=f"--device {name}"):
        resolve_device(name)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_cuda_without_a_cuda_device_is_refused() -> None:
    with pytest.raises(ValueError, match="no CUDA device"):
        resolve_device("cuda")


def test_module_device_follows_the_parameters() -> None:
    assert module_device(torch.nn.Linear(2, 2)) == torch.device("cpu")
    assert module_device(torch.nn.ReLU()) == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_estimate_refuses_a_missing_device_with_one_line_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    xray = tmp_path / "hip.png"
    xray.write_bytes(b"")
    out = tmp_path / "out"
    monkeypatch.setattr(sys, "argv", ["hipbmd", "estimate", str(xray), "-o", str(out), "--device", "cuda"])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "--device cuda" in error
    assert not out.exists()
