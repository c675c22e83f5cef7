"""`gazette models`: model providers and routes, and whether each is reachable now."""

from __future__ import annotations

from typing import Annotated

import typer

from gazette.cli.context import cli_context
from gazette.cli.output import console, print_json

app = typer.Typer(
    help="Model providers and routes: what a model name leads to, and what answers now.", no_args_is_help=True
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List providers and model routes, probing which are reachable right now."""
    gz = cli_context(ctx).gazette()
    catalog = gz.providers.catalog(gz.local_owner())
    if as_json:
        print_json(catalog.model_dump(mode="json"))
        return
    console.print("[bold]providers[/]")
    for provider in catalog.providers:
        mark = "[green]ok[/]  " if provider.reachable else "[dim]--[/]  "
        console.print(f"  {mark}", end="")
        line = f"{provider.name:<10} {provider.endpoint or '-'}  key: {provider.key}; {provider.detail}"
        console.print(line, markup=False, highlight=False)
    console.print("[bold]routes[/]")
    if not catalog.routes:
        console.print("  none: add aliases under [models.routes] in config.toml (see docs/models.md)", markup=False)
    for route in catalog.routes:
        mark = "[green]ok[/]  " if route.reachable else "[red]--[/]  "
        default = " (default)" if route.default else ""
        console.print(f"  {mark}", end="")
        console.print(f"{route.name}{default} -> {route.target}  {route.detail}", markup=False, highlight=False)


@app.command("show")
def show(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="A route, provider:model, or a model on the Ollama server.")],
    as_json: JsonOption = False,
) -> None:
    """Show what the provider tells about one model (family, size, context length)."""
    gz = cli_context(ctx).gazette()
    info = gz.providers.show(gz.local_owner(), model)
    if as_json:
        print_json(info.model_dump(mode="json"))
        return
    for name, value in info.model_dump().items():
        if value is not None:
            console.print(f"{name:<15} {value}", markup=False, highlight=False)
