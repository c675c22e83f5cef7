"""Printing for commands: JSON for machines, Rich for people, errors on stderr."""

from __future__ import annotations

import json
import sys
from typing import IO, Any

from rich.console import Console

# Off a terminal Rich would wrap and truncate at 80 columns; pipes and logs get whole lines.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)


def print_json(data: Any, *, stream: IO[str] | None = None) -> None:
    """`data` as indented JSON on stdout, or on `stream` (stderr, when stdout carries other output)."""
    (stream or sys.stdout).write(json.dumps(data, indent=2, default=str) + "\n")


def fail(message: str) -> None:
    """One plain line on stderr (no Rich markup: messages contain brackets and paths)."""
    sys.stderr.write(f"error: {message}\n")


STATUS_STYLE = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]", "skip": "[dim]skip[/]"}
