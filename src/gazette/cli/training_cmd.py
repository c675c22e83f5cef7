"""`gazette training`: the training side of the dialog memory and of local models.

What is captured from your dialogs, the context they give the next question, their export as
fine-tuning data, the import of other tools' logs and the recording of terminal chat programs
(thin adapters over `gz.dialogs`); and Ollama Modelfiles and the models created from them (over
`gz.training`).
More subcommands register here the same way.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from gazette.cli.context import cli_context
from gazette.cli.output import console, fail, print_json
from gazette.cli.streaming import NewOption, NoCaptureOption, SessionOption

if TYPE_CHECKING:
    from gazette.dialogs import ExportReport, ImportReport, WrapReport
    from gazette.providers import CreateProgress

app = typer.Typer(
    help="Training data and models of your own: capture, context, export, import, wrap, Modelfiles, models on Ollama.",
    no_args_is_help=True,
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
    summary = f"a summary of turns 1–{block.summary_through} and " if block.summary_through else ""
    sys.stderr.write(
        f"{summary}{block.included} turns ({block.trimmed} trimmed, {block.left_out} left out); "
        f"~{block.tokens} of {block.budget} tokens\n"
    )
    if block.distill_error:
        sys.stderr.write(f"Older turns were trimmed, not distilled: {block.distill_error}\n")


@app.command("distill")
def distill(
    ctx: typer.Context,
    session: Annotated[str, typer.Argument(help="The session (an id or a unique prefix).")],
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="The model that summarises [default: training.distill_model]."),
    ] = None,
    budget: Annotated[
        int | None,
        typer.Option("--budget", help="Token budget of the context block [default: training.inject_budget]."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Distill a session's older turns into a stored summary by a cheaper model.

    The newest turns that fit in half the budget stay whole; the older ones, with the summary so
    far, are summarised in at most a quarter of the budget. `training inject --session` and
    `ask --with-history` then put the summary ahead of the newer turns. With
    training.distill_model set this happens by itself when a session outgrows the budget.
    """
    gz = cli_context(ctx).gazette()
    done = gz.dialogs.distill(gz.local_owner(), session, model=model, budget=budget)
    if as_json:
        print_json(done.model_dump(mode="json"))
        return
    summary = done.summary
    if summary is None:
        sys.stderr.write(f"Nothing to distill: the session's {_count(done.kept, 'turn')} fit in half the budget.\n")
        return
    sys.stdout.write(summary.content + "\n")
    if done.created:
        sys.stderr.write(
            f"Distilled {_count(done.folded, 'turn')} into a summary of turns 1–{summary.through_turn} "
            f"(~{summary.tokens} tokens from ~{summary.source_tokens}, by {summary.model}); "
            f"{_count(done.kept, 'newer turn')} stay whole.\n"
        )
    else:
        sys.stderr.write(
            f"Up to date: the summary of turns 1–{summary.through_turn} (by {summary.model}) stands; "
            f"{_count(done.kept, 'newer turn')} fit whole.\n"
        )


@app.command("export")
def export(
    ctx: typer.Context,
    date_from: Annotated[
        str | None, typer.Option("--from", help="Sessions started on or after this day (YYYY-MM-DD, UTC).")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Sessions started on or before this day (YYYY-MM-DD, UTC).")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Sessions with a turn of this provider:model or route.")
    ] = None,
    session: Annotated[
        str | None, typer.Option("--session", "-s", help="Only this session (an id or a unique prefix).")
    ] = None,
    format_: Annotated[
        Literal["jsonl", "sharegpt", "parquet"],
        typer.Option("--format", "-f", help="jsonl (OpenAI chat), sharegpt, or parquet (the parquet extra)."),
    ] = "jsonl",
    system: Annotated[
        str | None,
        typer.Option("--system", help='The system message of every example, replacing theirs ("" for none).'),
    ] = None,
    anonymize: Annotated[
        bool, typer.Option("--anonymize", help="Also mask e-mail and IPv4 addresses and home-directory users.")
    ] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file [default: stdout].")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the file if it exists.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Export your sessions as fine-tuning data: one example per session, system message first.

    Sessions that make no valid example (roles not alternating, empty content, no complete answer)
    are skipped and counted by reason; interrupted answers are dropped with their question. The
    file is written whole or not at all. Without -o the data goes to stdout and the summary to stderr.
    """
    from gazette.dialogs import ExportOptions

    gz = cli_context(ctx).gazette()
    options = ExportOptions(
        format=format_,
        date_from=date_from,
        date_to=date_to,
        model=model,
        session=session,
        system=system,
        anonymize=anonymize,
    )
    owner = gz.local_owner()
    with _progress("exporting", "sessions", quiet=as_json or output is None) as advance:
        report = gz.dialogs.export(owner, options, path=output, out=sys.stdout, force=force, progress=advance)
    if as_json:
        print_json(report.model_dump(mode="json"), stream=sys.stdout if output is not None else sys.stderr)
        return
    _export_summary(report)


@app.command("import")
def import_(
    ctx: typer.Context,
    source: Annotated[
        Literal["llm-logs", "openai-export"],
        typer.Option("--from", help="llm-logs (llm's logs.db) or openai-export (ChatGPT conversations.json)."),
    ],
    path: Annotated[Path, typer.Argument(help="The file to import.")],
    as_json: JsonOption = False,
) -> None:
    """Import another tool's conversations as your sessions (secrets redacted; again: only new ones)."""
    gz = cli_context(ctx).gazette()
    report = gz.dialogs.import_dialogs(gz.local_owner(), source, path)
    if as_json:
        print_json(report.model_dump(mode="json"))
        return
    _import_summary(report)


@app.command("wrap", context_settings={"allow_interspersed_args": False})
def wrap(
    ctx: typer.Context,
    command: Annotated[
        list[str] | None, typer.Argument(help="The program and its arguments, after --.", show_default=False)
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="The model to record on the turns [default: from the command: ollama run X is ollama:X, "
            "llm -m X is X; else the program's name].",
        ),
    ] = None,
    session: SessionOption = None,
    new: NewOption = False,
    no_capture: NoCaptureOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON (on stderr).")] = False,
) -> None:
    """Run an interactive terminal program, such as a chat with a model, and record what you ask it.

    Everything you type and everything it shows passes through unchanged, on a pseudo-terminal of
    its own. Each line you send is a question and what the program shows until your next line is
    the answer; both are recorded as turns of a new session (or of --session), with the raw
    transcript (gazette dialogs show SESSION --transcript), secrets redacted. A summary line goes
    to stderr at the end; the exit code is the program's.

    Example: gazette training wrap -- ollama run llama3.2
    """
    from gazette.errors import GazetteError

    gz = cli_context(ctx).gazette()
    try:
        report = gz.dialogs.wrap(
            gz.local_owner(), command or [], model=model, session=session, new=new, capture=not no_capture
        )
    except GazetteError as exc:
        code = exc.details.get("exit_code")
        if not isinstance(code, int):  # the error is Gazette's, not the program's: exit 1 as usual
            raise
        fail(exc.message)  # as a shell says it: 127 not found, 126 not executable
        raise typer.Exit(code) from None
    if as_json:
        print_json(report.model_dump(mode="json"), stream=sys.stderr)
    else:
        sys.stderr.write(_wrap_summary(report) + "\n")
    raise typer.Exit(report.exit_code)


def _wrap_summary(report: WrapReport) -> str:
    if not report.captured:
        return f"gazette: nothing recorded: capture is off ({report.capture_source})."
    if report.session is None:
        return "gazette: no question with an answer was seen: nothing recorded."
    parts = [
        f"gazette: session {report.session}" + (" (new)" if report.new_session else ""),
        f"{_count(report.turns, 'turn')} recorded",
        f"transcript {report.transcript_bytes} bytes",
    ]
    if report.interrupted:
        parts.append("an answer interrupted")
    return " · ".join(parts)


@contextmanager
def _progress(verb: str, noun: str, *, quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A Rich bar on a terminal's stderr; nothing when piped or quiet."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn(f"[bold]{verb}"), BarColumn(), MofNCompleteColumn(), TextColumn(noun), TimeElapsedColumn())
    with Progress(*columns, transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task(verb, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def _export_summary(report: ExportReport) -> None:
    where = report.path or "stdout"
    lines = [
        f"Wrote {_count(report.sessions, 'session')} ({_count(report.turns, 'turn')}) as {report.format} "
        f"to {where} (dataset {report.dataset_id})."
    ]
    for title, tally in (("skipped", report.skipped), ("dropped", report.dropped)):
        for reason, entry in sorted(tally.items(), key=lambda item: -item[1].count):
            unit = "session" if title == "skipped" else "pair"
            lines.append(f"  {title} {_count(entry.count, unit)}: {reason} (e.g. {', '.join(entry.examples[:3])})")
    # The data may be on stdout: the summary always goes to stderr when no file was given.
    stream = sys.stdout if report.path else sys.stderr
    stream.write("\n".join(lines) + "\n")


def _import_summary(report: ImportReport) -> None:
    lines = [
        f"Imported {_count(report.sessions, 'session')} ({_count(report.turns, 'turn')}) from {report.path}; "
        f"{_count(report.existing, 'session')} imported before, left as they were."
    ]
    lines += [f"  skipped {count}: {reason}" for reason, count in sorted(report.skipped.items(), key=lambda i: -i[1])]
    sys.stdout.write("\n".join(lines) + "\n")


# The seed's defaults for a card with 8 GB of VRAM (gazette.training.modelfile).
DEFAULT_NUM_CTX = 2048
DEFAULT_NUM_PREDICT = 512
DEFAULT_TEMPERATURE = 0.7
DEFAULT_REPEAT_PENALTY = 1.1


@app.command("modelfile")
def modelfile(
    ctx: typer.Context,
    base: Annotated[str, typer.Option("--from", help="The model to build on, as Ollama names it (llama3.2).")],
    adapter: Annotated[Path | None, typer.Option("--adapter", help="A LoRA adapter file in GGUF (*.gguf).")] = None,
    system_file: Annotated[
        Path | None, typer.Option("--system-file", help="A UTF-8 text file with the system prompt.")
    ] = None,
    num_ctx: Annotated[int, typer.Option("--num-ctx", help="Context window in tokens (256-131072).")] = DEFAULT_NUM_CTX,
    num_predict: Annotated[
        int, typer.Option("--num-predict", help="Longest answer in tokens; -1 no limit.")
    ] = DEFAULT_NUM_PREDICT,
    temperature: Annotated[float, typer.Option("--temperature", help="0-2.")] = DEFAULT_TEMPERATURE,
    repeat_penalty: Annotated[
        float, typer.Option("--repeat-penalty", help="Penalty for repeating tokens; 1.0 disables it.")
    ] = DEFAULT_REPEAT_PENALTY,
    stop: Annotated[list[str] | None, typer.Option("--stop", help="A stop sequence (repeatable).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (else stdout).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the --output file if it exists.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Write an Ollama Modelfile; the defaults suit a card with 8 GB of VRAM."""
    from gazette.errors import ConflictError
    from gazette.training.modelfile import ModelfileSpec, read_text_file

    gz = cli_context(ctx).gazette()
    system = read_text_file(system_file, "system file") if system_file else None
    spec = ModelfileSpec(
        base=base, adapter=adapter, system=system, num_ctx=num_ctx, num_predict=num_predict,
        temperature=temperature, repeat_penalty=repeat_penalty, stop=stop or [],
    )  # fmt: skip
    text = gz.training.modelfile(spec)
    if output is not None:
        try:
            with output.open("w" if force else "x", encoding="utf-8") as file:
                file.write(text)
        except FileExistsError:
            message = f"{output} exists: pass --force to overwrite it"
            raise ConflictError(message, details={"path": str(output)}) from None
    if as_json:
        print_json({"path": str(output) if output else None, "modelfile": text})
    elif output is None:
        sys.stdout.write(text)
    else:
        console.print(f"Wrote {output}. Create the model with: gazette training create NAME -f {output}", markup=False)


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the new model (model[:tag]).")],
    file: Annotated[Path, typer.Option("--file", "-f", help="The Modelfile.")] = Path("Modelfile"),
    as_json: JsonOption = False,
) -> None:
    """Create a model on the Ollama server from a Modelfile (Ollama's /api/create), showing its progress."""
    from gazette.training.modelfile import read_text_file

    gz = cli_context(ctx).gazette()
    text = read_text_file(file, "Modelfile")
    principal, directory = gz.local_owner(), file.expanduser().resolve().parent
    if as_json:
        created = gz.training.create(principal, name, text, base_dir=directory)
    elif sys.stdout.isatty():
        with console.status(f"creating {name}") as status:

            def show(step: CreateProgress) -> None:
                status.update(_describe(step))

            created = gz.training.create(principal, name, text, base_dir=directory, progress=show)
    else:
        shown: list[str] = []

        def say(step: CreateProgress) -> None:
            if step.status and step.status not in shown[-1:]:
                shown.append(step.status)
                console.print(step.status, markup=False, highlight=False)

        created = gz.training.create(principal, name, text, base_dir=directory, progress=say)
    if as_json:
        print_json(created.model_dump(mode="json"))
        return
    console.print(
        f"Created {created.name} from {created.base} on {created.ollama} in {created.seconds:.1f} s. "
        f"Try it: ollama run {created.name}",
        markup=False,
    )


def _describe(step: CreateProgress) -> str:
    if step.total and step.completed is not None:
        return f"{step.status} ({step.completed * 100 // step.total}% of {step.total / 2**20:.1f} MiB)"
    return step.status
