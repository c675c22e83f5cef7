"""`gazette code`: ask for code with a context of files, a git diff and cited search hits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gazette.cli.context import cli_context
from gazette.cli.streaming import ModelOption, NewOption, NoCaptureOption, SessionOption, note, stream_answer

DEFAULT_BUDGET = 6000  # gazette.dialogs.code_context.DEFAULT_BUDGET, kept here for a fast --help


def code(
    ctx: typer.Context,
    prompt: Annotated[str, typer.Argument(help="What to write or change, in plain words.")],
    files: Annotated[
        list[Path] | None,
        typer.Option(
            "--file", "-f", metavar="PATH", help="Include this file (repeatable); files come first in the budget."
        ),
    ] = None,
    diff: Annotated[
        str | None,
        typer.Option(
            "--diff",
            metavar="REV",
            help="Include `git diff REV` of the current directory (--diff HEAD~1; --diff HEAD for every "
            'uncommitted change; --diff "" for unstaged changes).',
        ),
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", help="Include the best search hits of the index, cited repo/path:lines.")
    ] = None,
    repo: Annotated[str | None, typer.Option("--repo", help="Search only this indexed repository.")] = None,
    budget: Annotated[
        int, typer.Option("--budget", help="Size of the context in tokens (4 characters each).")
    ] = DEFAULT_BUDGET,
    model: ModelOption = None,
    session: SessionOption = None,
    new: NewOption = False,
    no_capture: NoCaptureOption = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object when the answer is complete, with the context.")
    ] = False,
) -> None:
    """Ask a model for code, with files, a git diff and search hits as context within a token budget.

    Before the answer, stderr lists what went into the context (source, tokens, trimmed) and what
    was left out and why. The answer streams and is recorded as with gazette ask.
    """
    gz = cli_context(ctx).gazette()
    context, events = gz.dialogs.code(
        gz.local_owner(),
        prompt,
        files=files or [],
        diff=diff,
        search=search,
        repo=repo,
        budget=budget,
        model=model,
        session=session,
        new=new,
        capture=not no_capture,
    )
    if not as_json:
        for part in context.parts:
            note(f"context: {part.source} ({part.tokens} tokens{', trimmed' if part.trimmed else ''})")
        for out in context.left_out:
            note(f"left out: {out.source}: {out.reason}")
        if not context.parts and not context.left_out:
            note("context: none (give --file, --diff or --search)")
        else:
            note(f"context: {context.tokens} of {context.budget} tokens")
    stream_answer(events, as_json=as_json, extra={"context": context.model_dump(exclude={"text"})})
