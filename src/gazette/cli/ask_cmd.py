"""`gazette ask`: ask a model; the answer streams as it arrives and the dialog is remembered."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gazette.cli.context import cli_context
from gazette.cli.streaming import ModelOption, NewOption, NoCaptureOption, SessionOption, stream_answer


def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="What to ask, in plain words; - reads it from stdin.")],
    model: ModelOption = None,
    session: SessionOption = None,
    new: NewOption = False,
    system: Annotated[
        str | None, typer.Option("--system", help="System prompt for this question (recorded as a system turn).")
    ] = None,
    with_history: Annotated[
        int,
        typer.Option("--with-history", help="Send up to N earlier turns ahead of the question (see training inject)."),
    ] = 0,
    no_capture: NoCaptureOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object when the answer is complete.")] = False,
) -> None:
    """Ask a model: the answer streams as it arrives; the turns are recorded, secrets redacted.

    Without --session or --new the latest session continues if it was active within
    training.session_idle_minutes. Ctrl-C stops the answer and keeps what arrived (exit 130).
    A question of - is read from stdin: gazette ask - < question.md
    """
    if question == "-":
        if sys.stdin.isatty():
            raise typer.BadParameter("- reads the question from stdin, but nothing is piped in", param_hint="QUESTION")
        question = sys.stdin.read()
    gz = cli_context(ctx).gazette()
    events = gz.dialogs.ask(
        gz.local_owner(),
        question,
        model=model,
        session=session,
        new=new,
        system=system,
        with_history=with_history,
        capture=not no_capture,
    )
    stream_answer(events, as_json=as_json)
