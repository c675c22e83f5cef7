"""The root `gazette` command and its global options."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from gazette import __version__
from gazette.cli import (
    ask_cmd,
    audit_cmd,
    auth_cmd,
    code_cmd,
    config_cmd,
    db_cmd,
    dialogs_cmd,
    doctor_cmd,
    index_cmd,
    info_cmd,
    mcp_cmd,
    models_cmd,
    serve_cmd,
    training_cmd,
    webhooks_cmd,
)
from gazette.cli.context import CliContext

app = typer.Typer(
    name="gazette",
    help="Gazette: local-first MCP gateway and memory for developers and their AI agents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help: rendering it with Rich costs ~200 ms of imports (markdown, pygments).
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class LogFormat(StrEnum):
    auto = "auto"
    json = "json"
    console = "console"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gazette {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    profile: Annotated[
        str | None, typer.Option("--profile", "-p", help="Profile from config.toml [env: GAZETTE_PROFILE].")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Config file (default: <data dir>/config.toml).")
    ] = None,
    log_format: Annotated[
        LogFormat | None, typer.Option("--log-format", help="auto (readable on a TTY, JSON otherwise), json, console.")
    ] = None,
    log_level: Annotated[str | None, typer.Option("--log-level", help="debug, info, warning or error.")] = None,
    log_file: Annotated[
        Path | None, typer.Option("--log-file", help="Also write JSON log lines to this file (rotated by size).")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    log = {
        key: value
        for key, value in (
            ("format", log_format.value if log_format else None),
            ("level", log_level),
            ("file", log_file),
        )
        if value is not None
    }
    ctx.obj = CliContext(profile=profile, config_file=config, log_overrides=log, debug=debug)


app.command("serve")(serve_cmd.serve)
app.command("mcp")(mcp_cmd.mcp)
app.command("info")(info_cmd.info)
app.command("doctor")(doctor_cmd.doctor)
app.add_typer(index_cmd.app, name="index")
app.command("search")(index_cmd.search)
app.command("read")(index_cmd.read)
app.command("watch")(index_cmd.watch)
app.add_typer(index_cmd.hooks_app, name="hooks")
app.add_typer(webhooks_cmd.app, name="webhooks")
app.add_typer(models_cmd.app, name="models")
app.command("ask")(ask_cmd.ask)
app.command("code")(code_cmd.code)
app.add_typer(dialogs_cmd.app, name="dialogs")
app.add_typer(training_cmd.app, name="training")
app.add_typer(auth_cmd.app, name="auth")
app.add_typer(audit_cmd.app, name="audit")
app.add_typer(config_cmd.app, name="config")
app.add_typer(db_cmd.app, name="db")
