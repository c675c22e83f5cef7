"""`gazette dialogs`: your captured dialogs (terminal_dialogs), session by session."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from gazette.cli.context import cli_context
from gazette.cli.output import console, print_json

if TYPE_CHECKING:
    from gazette.dialogs import Transcript

app = typer.Typer(help="Your captured dialogs: list, show and delete sessions.", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
SessionArgument = Annotated[str, typer.Argument(help="Session id, or a unique prefix of one.")]
TITLE_WIDTH = 60


@app.command("list")
def list_(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many sessions, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List your dialog sessions, most recently active first."""
    gz = cli_context(ctx).gazette()
    sessions = gz.dialogs.list_sessions(gz.local_owner(), limit=limit)
    if as_json:
        print_json([session.model_dump(mode="json") for session in sessions])
        return
    if not sessions:
        console.print('No dialogs yet. Ask something: gazette ask "explain git rebase"', markup=False)
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in ("session", "turns", "last (UTC)", "model", "first question"):
        table.add_column(column)
    for session in sessions:
        title = " ".join(session.title.split())
        if len(title) > TITLE_WIDTH:
            title = title[: TITLE_WIDTH - 1] + "…"
        table.add_row(session.id, str(session.turns), f"{session.last_at:%Y-%m-%d %H:%M}", session.model or "-", title)
    console.print(table, markup=False)


@app.command("show")
def show(
    ctx: typer.Context,
    session: SessionArgument,
    transcript: Annotated[
        bool,
        typer.Option("--transcript", help="Print the raw transcripts of the session's gazette training wrap runs."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Show every turn of one session, secrets as they were redacted."""
    gz = cli_context(ctx).gazette()
    if transcript:
        _show_transcripts(gz.dialogs.list_transcripts(gz.local_owner(), session), as_json=as_json)
        return
    dialog = gz.dialogs.get_session(gz.local_owner(), session)
    if as_json:
        print_json(dialog.model_dump(mode="json"))
        return
    console.print(f"session {dialog.session.id} · {dialog.session.turns} turns", markup=False)
    for turn in dialog.turns:
        facts = [f"{turn.timestamp:%Y-%m-%d %H:%M:%S} UTC"]
        if turn.role == "assistant":
            facts += [turn.model or "-"]
            facts += [f"{turn.tokens_used} tokens"] if turn.tokens_used is not None else []
            facts += [f"{turn.latency_ms} ms"] if turn.latency_ms is not None else []
        if turn.interrupted:
            facts.append("interrupted")
        console.print()
        console.print(f"#{turn.turn_number} {turn.role} · {' · '.join(facts)}", style="bold", markup=False)
        console.print(turn.content, markup=False, highlight=False)


def _show_transcripts(transcripts: list[Transcript], *, as_json: bool) -> None:
    if as_json:
        print_json([transcript.model_dump(mode="json") for transcript in transcripts])
        return
    if not transcripts:
        sys.stderr.write("This session has no transcript: only gazette training wrap keeps one.\n")
    for transcript in transcripts:
        # The transcript alone on stdout, as the program showed it; what it was on stderr.
        exit_code = "-" if transcript.exit_code is None else transcript.exit_code
        sys.stderr.write(
            f"# {' '.join(transcript.command)} · {transcript.started_at:%Y-%m-%d %H:%M:%S} UTC · "
            f"exit {exit_code} · {transcript.bytes} bytes\n"
        )
        text = transcript.transcript
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


@app.command("delete")
def delete(ctx: typer.Context, session: SessionArgument) -> None:
    """Delete a session: hidden from list, show, inject and exports from now on; its transcripts removed."""
    gz = cli_context(ctx).gazette()
    deleted = gz.dialogs.delete_session(gz.local_owner(), session)
    console.print(f"Deleted session {deleted.id} ({deleted.turns} turns).", markup=False)
