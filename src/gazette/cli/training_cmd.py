"""`gazette training`: what is captured from your dialogs, and the context they give the next question.

One command group for the training data of the dialog memory; each subcommand is a thin adapter
over `gz.dialogs` (more subcommands register here the same way).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gazette.cli.context import cli_context
from gazette.cli.output import console, print_json

app = typer.Typer(
    help="Training data from your dialogs: capture, and context for the next question.", no_args_is_help=True
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("capture")
def capture(
    ctx: typer.Context,
    enable: Annotated[bool, typer.Option("--enable", help="Record your dialogs from now on.")] = False,
    disable: Annotated[bool, typer.Option("--disable", help="Stop recording your dialogs.")] = False,
    status: Annotated[bool, typer.Option("--status", help="Show whether dialogs are recorded (the default).")] = False,
    as_json: JsonOption = False,
) -> None:
    """Turn the capture of your dialogs on or off, or show its state, its source and the counts."""
    if enable + disable + status > 1:
        raise typer.BadParameter("give one of --enable, --disable, --status")
    gz = cli_context(ctx).gazette()
    owner = gz.local_owner()
    state = gz.dialogs.set_capture(owner, enabled=enable) if enable or disable else gz.dialogs.capture_state(owner)
    if as_json:
        print_json(state.model_dump(mode="json"))
        return
    since = f", {state.changed_at:%Y-%m-%d %H:%M} UTC" if state.changed_at else ""
    console.print(
        f"Capture is {'on' if state.enabled else 'off'} ({state.source}{since}); "
        f"{_count(state.sessions, 'session')}, {_count(state.turns, 'turn')} recorded.",
        markup=False,
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


@app.command("inject")
def inject(
    ctx: typer.Context,
    last: Annotated[int, typer.Option("--last", help="Consider up to this many recent turns.")] = 50,
    session: Annotated[
        str | None, typer.Option("--session", "-s", help="Only this session (an id or a unique prefix).")
    ] = None,
    budget: Annotated[
        int | None, typer.Option("--budget", help="Token budget of the block [default: training.inject_budget].")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Print the context block of your recent turns, fitted to a token budget.

    The newest turns go in whole; older ones are cut at a word boundary and marked [… trimmed];
    the oldest are left out and the block's first line says how many.
    """
    gz = cli_context(ctx).gazette()
    block = gz.dialogs.context_block(gz.local_owner(), last=last, session=session, budget=budget)
    if as_json:
        print_json(block.model_dump(mode="json"))
        return
    if not block.text:
        sys.stderr.write("No captured turns fit: nothing to inject.\n")
        return
    sys.stdout.write(block.text + "\n")
    sys.stderr.write(
        f"{block.included} turns ({block.trimmed} trimmed, {block.left_out} left out); "
        f"~{block.tokens} of {block.budget} tokens\n"
    )
