"""`gazette config`: the effective settings and where each came from."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gazette.cli.context import cli_context
from gazette.cli.output import console, print_json

app = typer.Typer(help="Inspect settings.", no_args_is_help=True)


@app.command()
def show(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the effective settings, secrets masked, with the source of each value."""
    from gazette.settings import describe_settings

    loaded = cli_context(ctx).settings()
    rows = describe_settings(loaded)
    if as_json:
        print_json(
            {
                "data_dir": str(loaded.settings.data_dir),
                "config_file": str(loaded.config_file) if loaded.config_file else None,
                "profile": loaded.settings.profile,
                "settings": rows,
            }
        )
        return
    from rich.table import Table

    console.print(f"data dir     {loaded.settings.data_dir}")
    console.print(f"config file  {loaded.config_file or '(none)'}")
    console.print(f"profile      {loaded.settings.profile or '(none)'}")
    table = Table(box=None, header_style="bold")
    for column in ("setting", "value", "source"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["key"], _show(row["value"]), row["source"], style=None if row["source"] != "default" else "dim"
        )
    console.print(table)


def _show(value: Any) -> str:
    import json

    return "" if value is None else value if isinstance(value, str) else json.dumps(value)
