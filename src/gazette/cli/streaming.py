"""How `gazette ask` and `gazette code` show an answer while it arrives: Markdown on a terminal, raw
text when piped, one JSON object with --json; Ctrl-C keeps what arrived and exits 130."""

from __future__ import annotations

import sys
from collections.abc import Generator
from types import TracebackType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gazette.cli.output import console, print_json

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.live import Live

    from gazette.dialogs import Answer, AskEvent, AskStarted

INTERRUPTED_EXIT = 130

# The options every command that asks a model shares (gazette ask, gazette code).
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model", "-m", help="A route, provider:model or a model on the Ollama server [default: models.default]."
    ),
]
SessionOption = Annotated[
    str | None,
    typer.Option("--session", "-s", help="Continue this session (an id or a unique prefix: gazette dialogs list)."),
]
NewOption = Annotated[bool, typer.Option("--new", help="Start a new session.")]
NoCaptureOption = Annotated[bool, typer.Option("--no-capture", help="Record neither the question nor the answer.")]


def stream_answer(
    events: Generator[AskEvent, None, None], *, as_json: bool, extra: dict[str, Any] | None = None
) -> None:
    """Show the events of `Dialogs.ask` as they arrive; `extra` keys are added to the JSON object."""
    from gazette.dialogs import Answer, AskStarted
    from gazette.providers import TextDelta

    extra = extra or {}
    view: _View = _View() if as_json else _Markdown() if console.is_terminal else _Plain()
    started: AskStarted | None = None
    answer: Answer | None = None
    received: list[str] = []
    try:
        with view:
            for event in events:
                if isinstance(event, AskStarted):
                    started = event
                elif isinstance(event, TextDelta):
                    received.append(event.text)
                    view.add(event.text)
                elif isinstance(event, Answer):
                    answer = event
    except KeyboardInterrupt:
        events.close()  # the service records what arrived
        _stopped(started, "".join(received), as_json=as_json, extra=extra)
        raise typer.Exit(INTERRUPTED_EXIT) from None
    finally:
        events.close()
    if answer is None or started is None:  # the service always ends with an Answer
        raise AssertionError("the answer stream ended without its Answer")
    if as_json:
        print_json({**answer.model_dump(exclude={"type"}), "new_session": started.new_session, **extra})
    elif sys.stderr.isatty():
        parts = [f"session {answer.session}" + (" (new)" if started.new_session else ""), answer.model]
        if answer.latency_ms is not None:
            parts.append(f"{answer.latency_ms / 1000:.1f} s")
        if not answer.captured:
            parts.append("not recorded")
        note(" · ".join(parts))


def _stopped(started: AskStarted | None, text: str, *, as_json: bool, extra: dict[str, Any]) -> None:
    where = "not recorded"
    if started is not None and started.capture:
        where = f"recorded in session {started.session} as interrupted"
    note(f"stopped: {len(text)} characters of the answer arrived; {where}")
    if as_json and started is not None:
        print_json(
            {
                "session": started.session,
                "route": started.route,
                "model": started.model,
                "answer": text,
                "captured": started.capture,
                "interrupted": True,
                "new_session": started.new_session,
                **extra,
            }
        )


def note(line: str) -> None:
    sys.stderr.write(f"{line}\n")
    sys.stderr.flush()


class _View:
    """How the answer appears while it arrives: not at all (JSON at the end)."""

    def add(self, text: str) -> None:
        pass

    def __enter__(self) -> _View:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        pass


class _Plain(_View):
    """Piped: the raw text, flushed piece by piece, ending with a newline."""

    def __init__(self) -> None:
        self._last = "\n"

    def add(self, text: str) -> None:
        if text:
            self._last = text[-1]  # first: Ctrl-C may land while the text is being written
            sys.stdout.write(text)
            sys.stdout.flush()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._last != "\n":
            sys.stdout.write("\n")
            sys.stdout.flush()


class _Growing:
    """Markdown of the text so far, parsed when Rich refreshes the screen rather than on every piece."""

    def __init__(self) -> None:
        self.text = ""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.markdown import Markdown

        yield Markdown(self.text)


class _Markdown(_View):
    """On a terminal: the answer rendered as Markdown, re-rendered as it grows."""

    def __init__(self) -> None:
        self._growing = _Growing()
        self._live: Live | None = None

    def add(self, text: str) -> None:
        self._growing.text += text

    def __enter__(self) -> _View:
        from rich.live import Live

        self._live = Live(self._growing, console=console, refresh_per_second=10, vertical_overflow="visible")
        self._live.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.__exit__(kind, error, traceback)
