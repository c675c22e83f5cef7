"""`gazette doctor`: what works and what does not, with what to do about it."""

from __future__ import annotations

from typing import Annotated

import typer

from gazette.cli.context import cli_context
from gazette.cli.output import STATUS_STYLE, console, print_json


def doctor(
    ctx: typer.Context,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model to size against this machine's memory.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check the data dir, SQLite (FTS5, sqlite-vec), the store, migrations, ports, endpoints and memory.

    Memory: RAM, VRAM where nvidia-smi exists, and the num_ctx and quantisation that let --model
    (default: models.default) fit. Exits 1 when a required check fails.
    """
    from rich.table import Table

    report = cli_context(ctx).gazette().doctor.run(model)
    if as_json:
        print_json({"ok": report.ok, "checks": [check.model_dump() for check in report.checks]})
    else:
        table = Table(show_header=True, header_style="bold", box=None)
        table.add_column("check")
        table.add_column("status")
        table.add_column("detail", overflow="fold")
        for check in report.checks:
            status = STATUS_STYLE[check.status] + ("" if check.required else " [dim](optional)[/]")
            table.add_row(check.name, status, check.detail)
        console.print(table)
        console.print("[green]All required checks passed.[/]" if report.ok else "[red]Some required checks failed.[/]")
    if not report.ok:
        raise typer.Exit(1)
