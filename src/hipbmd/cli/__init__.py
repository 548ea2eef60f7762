"""The ``hipbmd`` command line: one module per API module (:mod:`hipbmd.api`), same names.

``hipbmd.cli.main`` is the console entry point and ``hipbmd.cli.app`` the Typer app.
"""

from hipbmd.cli.entry import app, main

__all__ = ["app", "main"]
