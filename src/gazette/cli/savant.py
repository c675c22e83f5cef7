"""`savant-context`: the seed's container contract, over the same services as `gazette`.

savant-context index repo <path> --name <n>
savant-context status [name]
savant-context memory search "query" [--repo R] [--k N]
savant-context memory read <repo> <path>
savant-context --version
"""

from __future__ import annotations

from typing import Annotated

import typer

from gazette import __version__
from gazette.cli import index_cmd, run
from gazette.cli.context import CliContext, cli_context
from gazette.cli.output import print_json

app = typer.Typer(
    name="savant-context",
    help="Context gateway (the seed's contract): index repositories, check status, search and read memory.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
index_app = typer.Typer(help="Index repositories.", no_args_is_help=True)
memory_app = typer.Typer(help="Search and read indexed memory.", no_args_is_help=True)
index_app.command("repo")(index_cmd.repo)
memory_app.command("search")(index_cmd.search)
memory_app.command("read")(index_cmd.read)
app.add_typer(index_app, name="index")
app.add_typer(memory_app, name="memory")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"savant-context {__version__} (gazette)")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    ctx.obj = CliContext()


@app.command("status")
def status(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Repository name; omit for all of them.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Index status of one repository, or of every repository of the workspace."""
    if name is not None:
        index_cmd.status(ctx, name, as_json=as_json)
        return
    gz = cli_context(ctx).gazette()
    owner = gz.local_owner()
    statuses = {repo.name: gz.index.status(owner, repo.name) for repo in gz.index.list_repos(owner)}
    if as_json:
        print_json({repo: state.model_dump(mode="json") for repo, state in statuses.items()})
        return
    if not statuses:
        typer.echo("No repositories. Index one with: savant-context index repo PATH --name NAME")
    for repo, state in statuses.items():
        typer.echo(f"{repo}: {state.status} · {state.files} files · {state.chunks} chunks")


def main(argv: list[str] | None = None) -> None:
    run(app, "savant-context", argv)


if __name__ == "__main__":
    main()
