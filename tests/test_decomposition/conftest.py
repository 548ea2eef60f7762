"""One torch thread for these tests: their tensors are tiny, and on a busy machine the hand-off between
OpenMP threads costs far more than the arithmetic (about 0.9 s against 2 ms per generator call here)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
