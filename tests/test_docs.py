"""The docs a newcomer reads agree with what the code does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from gazette.cli.root import app

ROOT = Path(__file__).resolve().parents[1]
HIDDEN_OPTIONS = {"install_completion", "show_completion"}


def commands(command: Any, path: tuple[str, ...] = ("gazette",)) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    if hasattr(command, "list_commands"):
        for name in command.list_commands(None):
            yield from commands(command.get_command(None, name), (*path, name))


def sections(markdown: str) -> dict[str, str]:
    parts = re.split(r"^## ", markdown, flags=re.MULTILINE)
    return {part.splitlines()[0].strip("` "): part for part in parts[1:]}


def test_cli_reference_covers_every_command_and_option() -> None:
    documented = sections((ROOT / "docs" / "cli.md").read_text())
    for path, command in commands(typer.main.get_command(app)):
        title = " ".join(path) if len(path) > 1 else "Global options (before the command)"
        assert title in documented, f"docs/cli.md has no section for {title}"
        for param in command.params:
            if param.param_type_name == "option" and param.name not in HIDDEN_OPTIONS:
                longest = max(param.opts, key=len)
                assert longest in documented[title], f"docs/cli.md: {title} does not document {longest}"


def test_cli_reference_documents_no_command_that_does_not_exist() -> None:
    real = {" ".join(path) for path, _ in commands(typer.main.get_command(app)) if len(path) > 1}
    documented = {title for title in sections((ROOT / "docs" / "cli.md").read_text()) if title.startswith("gazette")}
    assert documented == real


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = [
        line
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line and not line.startswith(("#", "set ", "cd "))
    ]
    assert ci == ["make test"]
    assert "make test    #" in readme
    assert "make run     #" in readme


def test_readme_links_point_at_files_that_exist() -> None:
    for link in re.findall(r"\]\(((?:docs/)[^)]+)\)", (ROOT / "README.md").read_text()):
        assert (ROOT / link).is_file(), link
