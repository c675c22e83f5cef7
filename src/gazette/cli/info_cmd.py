"""`gazette info`: the CLI face of `gazette_info`."""

from __future__ import annotations

from typing import Annotated

import typer

from gazette.cli.context import cli_context
from gazette.cli.output import console, print_json


def info(
    ctx: typer.Context,
    workspace: Annotated[str | None, typer.Option(help="Workspace slug [default: the configured one].")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the version, workspace, store and enabled capabilities."""
    gz = cli_context(ctx).gazette()
    result = gz.system.info(gz.local_owner(), workspace)
    if as_json:
        print_json(result.model_dump())
        return
    console.print(f"gazette {result.version}")
    console.print(f"workspace     {result.workspace.slug} ({result.workspace.name})")
    console.print(f"store         {result.store}")
    console.print(f"capabilities  {', '.join(result.capabilities)}")
