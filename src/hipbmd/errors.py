"""Errors that hipbmd reports to its users as one clear line."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """A file or folder hipbmd cannot use, with the path and the problem in one line.

    The CLI prints ``str(error)`` on stderr and exits with code 2; ``--debug`` adds the traceback.
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class InputWarning(UserWarning):
    """An input hipbmd could use only after changing it (resampling, colour to grey, …)."""


class InputRefusedError(InputError):
    """A readable input outside the bounds hipbmd accepts (a size, a spacing, a pixel range).

    ``hipbmd estimate`` records it as ``refused: <problem>`` and goes on; elsewhere it is an input error.
    """
