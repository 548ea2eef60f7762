"""Checks of where a command will write, made before any work, so that a long run does not end in
"permission denied" and nothing is left half-written.

A path is writable when it is not the wrong kind of thing already (a folder where a file goes, or the
reverse), and its nearest existing folder can be written in: every folder still to be created lies
under it, and no part of the path is a file.
"""

from __future__ import annotations

import os
from pathlib import Path

from hipbmd.errors import InputError


def check_output_file(path: str | Path) -> Path:
    """The output file ``path``, checked writable (see the module docstring).

    Raises:
        InputError: it is a folder, a file that cannot be replaced, or lies where no file can be made.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(path, "is a folder; give a file name to write")
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(path, "exists and cannot be written (read-only)")
    _check_can_create(path)
    return path


def check_output_folder(path: str | Path) -> Path:
    """The output folder ``path``, checked writable (see the module docstring).

    Raises:
        InputError: it is a file, a folder that cannot be written in, or lies where no folder can be made.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(path, "is a file; give a folder to write into")
    if path.is_dir():
        _check_writable_folder(path, path)
        return path
    _check_can_create(path)
    return path


def _check_can_create(path: Path) -> None:
    """The nearest existing ancestor of ``path`` is a folder this process can write in."""
    ancestor = path.parent  # as given, so that the message names what the user wrote
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    _check_writable_folder(ancestor, path)


def _check_writable_folder(folder: Path, path: Path) -> None:
    if not folder.is_dir():
        raise InputError(path, f"cannot be written: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(path, f"cannot be written: no permission to write in {folder}")
