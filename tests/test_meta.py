"""Rules of the house that a test can hold: layering, the public API, docs against --help."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import gazette

SRC = Path(gazette.__file__).parent
SURFACE_LIBRARIES = {
    "typer",
    "rich",
    "fastapi",
    "starlette",
    "mcp",
    "grpc",
    "grpc_health",
    "grpc_reflection",
    "uvicorn",
}
SURFACES = {"cli", "api", "mcp_server", "grpc_server", "web"}
NON_CAPABILITY = {"serve.py", "__main__.py"}  # the process host wires surfaces together


def capability_modules() -> list[Path]:
    modules = []
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC)
        if relative.parts[0] in SURFACES or str(relative) in NON_CAPABILITY:
            continue
        modules.append(path)
    return modules


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_there_are_capability_modules_to_check() -> None:
    names = {str(p.relative_to(SRC)) for p in capability_modules()}
    assert {"app.py", "settings.py", "errors.py", "system/service.py", "store/database.py"} <= names


@pytest.mark.parametrize("path", capability_modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_capabilities_import_no_surface_library(path: Path) -> None:
    assert not imported_roots(path) & SURFACE_LIBRARIES


def test_no_surface_imports_another_surface() -> None:
    for surface in SURFACES - {"web"}:
        for path in (SRC / surface).rglob("*.py"):
            others = {
                node.module.split(".")[1]
                for node in ast.walk(ast.parse(path.read_text()))
                if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gazette.")
            }
            # The HTTP app mounts the MCP server at /mcp: the one sanctioned composition.
            allowed = {surface, "mcp_server"} if surface == "api" else {surface}
            assert not (others & SURFACES) - allowed, f"{path} imports {others & SURFACES}"


def test_public_api_matches_all() -> None:
    for name in gazette.__all__:
        assert getattr(gazette, name) is not None, name
    public = {name for name in dir(gazette) if not name.startswith("_")} | {"__version__"}
    assert public == set(gazette.__all__)


def test_public_exceptions_are_the_error_tree() -> None:
    errors = importlib.import_module("gazette.errors")
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.GazetteError)
        assert name in gazette.__all__


def test_no_utils_grab_bags() -> None:
    assert not [p for p in SRC.rglob("*.py") if p.stem in {"utils", "helpers", "misc", "common"}]
