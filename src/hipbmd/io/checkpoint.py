"""Training checkpoints (``checkpoint.pt``): read without running any code they might carry.

A checkpoint holds tensors, optimiser states, random-generator states and the loss history: plain
containers of tensors, numbers and strings. It is read with ``torch.load(weights_only=True)``, which
refuses any other pickled object, so a file planted in an output folder cannot run code on resume.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from hipbmd.errors import InputError


def load_checkpoint(path: Path) -> dict[str, Any]:
    """The state saved in a training checkpoint.

    Raises:
        InputError: the file is not a checkpoint of plain tensors and containers (a pickle with other
            objects, a truncated or foreign file).
    """
    import torch

    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, AttributeError) as error:
        problem = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        message = f"not a hipbmd training checkpoint; remove it to start afresh ({problem})"
        raise InputError(path, message) from None
    if not isinstance(state, dict):
        raise InputError(path, "not a hipbmd training checkpoint; remove it to start afresh")
    return state
