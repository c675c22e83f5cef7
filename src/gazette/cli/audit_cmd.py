"""`gazette audit`: read, verify and export the hash-chained audit log."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from gazette.cli.context import cli_context
from gazette.cli.output import console, print_json

app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)


class ExportFormat(StrEnum):
    jsonl = "jsonl"


@app.command("list")
def list_(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many entries, newest first.")] = 50,
    event: Annotated[str | None, typer.Option("--event", help="Only this event, e.g. auth.failure.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the newest entries."""
    gz = cli_context(ctx).gazette()
    entries = gz.audit.list_entries(gz.local_owner(), limit=limit, event=event)
    if as_json:
        print_json([entry.model_dump(mode="json") for entry in entries])
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in ("seq", "time (UTC)", "event", "actor", "target", "outcome"):
        table.add_column(column)
    for entry in entries:
        table.add_row(
            str(entry.seq),
            f"{entry.at:%Y-%m-%d %H:%M:%S}",
            entry.event,
            f"{entry.actor_kind}:{entry.actor_id}",
            entry.target or "",
            entry.outcome,
        )
    console.print(table)


@app.command("verify")
def verify(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Recompute the chain: exit 0 when intact, else exit 1 naming the first broken entry."""
    gz = cli_context(ctx).gazette()
    result = gz.audit.verify(gz.local_owner())
    if as_json:
        print_json(result.model_dump(mode="json"))
    elif result.first_break is None:
        console.print(f"Audit log intact: {result.checked} entries verified.")
    else:
        broken = result.first_break
        where = f"entry id {broken.id} (position {broken.seq})"
        sys.stderr.write(f"error: audit log broken at {where}: {broken.problem}: {broken.detail}\n")
    if not result.ok:
        raise typer.Exit(1)


@app.command("export")
def export(
    ctx: typer.Context,
    export_format: Annotated[ExportFormat, typer.Option("--format", help="Output format.")] = ExportFormat.jsonl,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """Export every entry in chain order (one JSON object per line)."""
    gz = cli_context(ctx).gazette()
    entries = gz.audit.export(gz.local_owner())
    lines = (json.dumps(entry.model_dump(mode="json"), sort_keys=True) + "\n" for entry in entries)
    if output is None:
        sys.stdout.writelines(lines)
        return
    temporary = output.with_name(f".{output.name}.partial")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.writelines(lines)
    temporary.replace(output)  # no half-written export on failure
    console.print(f"Exported the audit log to {output}.")
