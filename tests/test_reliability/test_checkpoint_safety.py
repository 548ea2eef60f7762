"""A checkpoint planted in an output folder must not run code when training resumes."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from hipbmd.errors import InputError  # noqa: E402
from hipbmd.io.checkpoint import load_checkpoint  # noqa: E402


class _Payload:
    """Unpickling this calls Path.touch on the marker: code run from a data file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (Path.touch, (str(self.marker),))  # type: ignore[return-value]


def test_a_planted_pickle_is_refused_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    planted = tmp_path / "checkpoint.pt"
    torch.save({"model": _Payload(marker)}, planted)
    with pytest.raises(InputError, match="not a hipbmd training checkpoint"):
        load_checkpoint(planted)
    assert not marker.exists()


def test_a_plain_checkpoint_is_read(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    state = {"model": {"w": torch.ones(2)}, "history": [1.0, 0.5], "rng": {"state": 2**100, "name": "PCG64"}}
    torch.save(state, path)
    loaded = load_checkpoint(path)
    assert torch.equal(loaded["model"]["w"], torch.ones(2)) and loaded["rng"]["state"] == 2**100


def test_a_truncated_checkpoint_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(pickle.dumps({"a": 1})[:5])
    with pytest.raises(InputError, match="remove it to start afresh"):
        load_checkpoint(path)
