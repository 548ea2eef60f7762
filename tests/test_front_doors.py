"""The two front doors mirror each other: every CLI command parses its options and calls exactly one
API function, the one of the same name in the API module named as the command's CLI module."""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap

from hipbmd.cli import app


def _commands() -> list[tuple[str, object]]:
    return [(info.name or "", info.callback) for info in app.registered_commands]


def _api_calls(function: object) -> set[str]:
    """Names called on ``api`` inside a function's body (``api.estimate(...)`` → ``estimate``)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))  # type: ignore[arg-type]
    return {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "api"
        and node.func.attr[0].islower()
    }


def test_every_command_has_its_api_function_in_the_mirrored_module() -> None:
    commands = _commands()
    assert len(commands) >= 15
    for name, callback in commands:
        module = callback.__module__  # type: ignore[attr-defined]
        assert module.startswith("hipbmd.cli."), (name, module)
        api_module = importlib.import_module(module.replace("hipbmd.cli.", "hipbmd.api.", 1))
        function = getattr(api_module, name.replace("-", "_"), None)
        assert callable(function), f"hipbmd {name}: no {api_module.__name__}.{name.replace('-', '_')}"
        assert function.__module__ == api_module.__name__


def test_every_command_calls_exactly_its_own_api_function() -> None:
    for name, callback in _commands():
        assert _api_calls(callback) == {name.replace("-", "_")}, name


def test_the_api_package_exports_every_command() -> None:
    from hipbmd import api

    for name, _ in _commands():
        assert name.replace("-", "_") in api.__all__
        assert callable(getattr(api, name.replace("-", "_")))


def test_api_and_cli_packages_hold_the_same_module_names() -> None:
    import pkgutil

    import hipbmd.api
    import hipbmd.cli

    api_modules = {m.name for m in pkgutil.iter_modules(hipbmd.api.__path__)}
    cli_modules = {m.name for m in pkgutil.iter_modules(hipbmd.cli.__path__)}
    assert cli_modules - {"entry", "support", "__main__"} == api_modules
