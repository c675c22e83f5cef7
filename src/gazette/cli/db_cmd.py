"""`gazette db`: schema migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from gazette.cli.context import cli_context
from gazette.cli.output import console, print_json

app = typer.Typer(help="Database migrations (applied automatically on serve and first use).", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command()
def upgrade(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Apply every pending migration."""
    store = cli_context(ctx).gazette().store
    before = store.migrator.current()
    with store.translate_errors():
        store.migrator.upgrade()
    after = store.migrator.current()
    if as_json:
        print_json({"from": before, "to": after, "store": store.display_url})
    elif before == after:
        console.print(f"{store.display_url}: already at {after}")
    else:
        console.print(f"{store.display_url}: upgraded {before or 'empty'} -> {after}")


@app.command()
def current(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show the revision the database is at, and the newest this Gazette knows."""
    store = cli_context(ctx).gazette().store
    with store.translate_errors():
        revision, head = store.migrator.current(), store.migrator.head()
    if as_json:
        print_json({"current": revision, "head": head, "up_to_date": revision == head, "store": store.display_url})
    else:
        state = "up to date" if revision == head else f"behind head {head}: run `gazette db upgrade`"
        console.print(f"{store.display_url}: {revision or 'empty'} ({state})")


@app.command()
def history(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List every migration, oldest first, and whether it is applied."""
    store = cli_context(ctx).gazette().store
    with store.translate_errors():
        revisions = store.migrator.history()
    if as_json:
        print_json([{"id": r.id, "message": r.message, "down": r.down, "applied": r.applied} for r in revisions])
        return
    for r in revisions:
        console.print(f"{'[green]applied[/]' if r.applied else '[yellow]pending[/]'}  {r.id}  {r.message}")
