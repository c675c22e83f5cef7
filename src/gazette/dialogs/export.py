"""Training export: captured sessions as chat fine-tuning examples (`gz.dialogs.export`).

Each session becomes one example: its system message (or `--system`'s), then its questions and
answers in order. A session is written only when it makes a valid example; otherwise it is
skipped, and every skip is reported by reason, never silent:

- `system prompt changes within the session`: its system turns differ (without `--system`);
- `roles do not alternate user/assistant`: after the system message, user and assistant must alternate;
- `empty content`: a question or an answer is blank;
- `no complete question and answer`: nothing left once the pairs below are dropped.

Within a written session two kinds of pair are dropped (reported apart, as `dropped`): an
`interrupted answer` (broken off or stopped: a half answer teaches the model to stop mid-way) with
its question, and an `unanswered question` at the end. Content is redacted again on the way out
(it was redacted at capture; the rules may have grown since), and `anonymize` masks more.

The output is streamed, example by example, into a temporary file beside the target that is
renamed over it at the end: a failure leaves no half-written file.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import IO, Any, Protocol

from gazette.dialogs.models import ExportFormat, ExportOptions, Skipped
from gazette.errors import ConflictError, InvalidInputError
from gazette.redaction import anonymize_text, redact_text

Message = dict[str, str]
Progress = Callable[[int, int], None]
"""Called with (sessions done, sessions in all) as the export goes."""

SHAREGPT_ROLES = {"system": "system", "user": "human", "assistant": "gpt"}
PARQUET_HINT = "the parquet format needs pyarrow: pip install 'gazette[parquet]' (or uv sync --extra parquet)"
_EXAMPLES_KEPT = 5
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

SYSTEM_CHANGES = "system prompt changes within the session"
NOT_ALTERNATING = "roles do not alternate user/assistant"
EMPTY_CONTENT = "empty content"
NO_PAIR = "no complete question and answer"
INTERRUPTED = "interrupted answer"
UNANSWERED = "unanswered question"


def parse_range(date_from: str | None, date_to: str | None) -> tuple[datetime | None, datetime | None]:
    """[start, end) in UTC for inclusive YYYY-MM-DD dates.

    Raises:
        InvalidInputError: a date that is not YYYY-MM-DD, or `date_from` after `date_to`.
    """
    start = _day(date_from, "--from")
    last = _day(date_to, "--to")
    if start and last and start > last:
        raise InvalidInputError(f"--from {date_from} is after --to {date_to}")
    return (
        datetime.combine(start, datetime.min.time(), UTC) if start else None,
        datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC) if last else None,
    )


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        if not _DATE.fullmatch(value.strip()):
            raise ValueError(value)
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInputError(f"{option} {value!r} is not a date: write YYYY-MM-DD, e.g. 2026-11-21") from None


class _Verdict:
    """One session judged: its messages, or why it is skipped; the pairs dropped from it."""

    __slots__ = ("dropped", "messages", "skip", "turns")

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.skip: str | None = None
        self.dropped: list[str] = []
        self.turns = 0


def build_example(rows: Iterable[Any], *, system: str | None, anonymize: bool) -> _Verdict:
    """Judge one session's turns (rows with role, content, interrupted; in order): the rules are in
    the module docstring. `system` None keeps the session's own; "" writes none."""
    clean = anonymize_text if anonymize else redact_text
    verdict = _Verdict()
    turns = list(rows)
    own = {row.content for row in turns if row.role == "system"}
    if system is None and len(own) > 1:
        verdict.skip = SYSTEM_CHANGES
        return verdict
    system_text = system if system is not None else (own.pop() if own else "")
    body = [row for row in turns if row.role != "system"]
    pairs: list[tuple[str, str]] = []
    for i in range(0, len(body), 2):
        question = body[i]
        if question.role != "user":
            verdict.skip = NOT_ALTERNATING
            return verdict
        if i + 1 == len(body):
            verdict.dropped.append(UNANSWERED)
            break
        answer = body[i + 1]
        if answer.role != "assistant":
            verdict.skip = NOT_ALTERNATING
            return verdict
        if answer.interrupted:
            verdict.dropped.append(INTERRUPTED)
            continue
        if not question.content.strip() or not answer.content.strip():
            verdict.skip = EMPTY_CONTENT
            return verdict
        pairs.append((question.content, answer.content))
    if not pairs:
        verdict.skip = NO_PAIR
        return verdict
    if system_text.strip():
        verdict.messages.append({"role": "system", "content": clean(system_text)})
    for question_text, answer_text in pairs:
        verdict.messages.append({"role": "user", "content": clean(question_text)})
        verdict.messages.append({"role": "assistant", "content": clean(answer_text)})
    verdict.turns = 2 * len(pairs)
    return verdict


# --------------------------------------------------------------------------- writers


class _Writer(Protocol):
    def write(self, messages: list[Message]) -> None: ...

    def close(self) -> None: ...


class _JsonLines:
    """One JSON object per line: `{"messages": [...]}` (OpenAI) or `{"conversations": [...]}` (ShareGPT)."""

    def __init__(self, out: IO[str], sharegpt: bool) -> None:
        self._out = out
        self._sharegpt = sharegpt

    def write(self, messages: list[Message]) -> None:
        if self._sharegpt:
            record: dict[str, Any] = {
                "conversations": [{"from": SHAREGPT_ROLES[m["role"]], "value": m["content"]} for m in messages]
            }
        else:
            record = {"messages": messages}
        self._out.write(json.dumps(record, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self._out.flush()


class _Parquet:
    """A `messages` column (list of {role, content}), written in row groups of `batch` examples."""

    def __init__(self, path: str, batch: int = 2000) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._pa = pa
        message = pa.struct([("role", pa.string()), ("content", pa.string())])
        self._schema = pa.schema([("messages", pa.list_(message))])
        self._writer = pq.ParquetWriter(path, self._schema)
        self._rows: list[list[Message]] = []
        self._batch = batch

    def write(self, messages: list[Message]) -> None:
        self._rows.append(messages)
        if len(self._rows) >= self._batch:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            table = self._pa.Table.from_pydict({"messages": self._rows}, schema=self._schema)
            self._writer.write_table(table)
            self._rows = []

    def close(self) -> None:
        self._flush()
        self._writer.close()


def check_format(format: ExportFormat, to_file: bool) -> None:
    """Raises InvalidInputError for parquet without pyarrow or without a file."""
    if format != "parquet":
        return
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise InvalidInputError(PARQUET_HINT) from None
    if not to_file:
        raise InvalidInputError("parquet is binary: give a file with -o FILE")


@contextmanager
def open_target(format: ExportFormat, path: Path | None, out: IO[str] | None, *, force: bool) -> Iterator[_Writer]:
    """A writer into a temporary file renamed to `path` on success (removed on failure), or into `out`.

    Raises:
        ConflictError: `path` exists and not `force`.
        InvalidInputError: `path`'s directory does not exist; parquet to a stream.
    """
    writer: _Writer
    if path is None:
        if out is None:
            raise InvalidInputError("give a file to write to, or a stream")
        writer = _JsonLines(out, sharegpt=format == "sharegpt")
        yield writer
        writer.close()
        return
    _refuse_overwrite(path, force)
    if not path.parent.is_dir():
        raise InvalidInputError(f"{path.parent} is not a directory: create it first")
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        if format == "parquet":
            os.close(fd)
            writer = _Parquet(temporary)
            yield writer
            writer.close()
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                writer = _JsonLines(handle, sharegpt=format == "sharegpt")
                yield writer
                writer.close()
        _refuse_overwrite(path, force)  # it may have appeared while we wrote
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _refuse_overwrite(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise ConflictError(f"{path} exists: pass --force to overwrite it", details={"path": str(path)})


# --------------------------------------------------------------------------- the run


class Tally:
    """Counts by reason with a few example sessions each."""

    def __init__(self) -> None:
        self.reasons: dict[str, Skipped] = {}

    def add(self, reason: str, session: str) -> None:
        entry = self.reasons.setdefault(reason, Skipped())
        entry.count += 1
        if len(entry.examples) < _EXAMPLES_KEPT and session not in entry.examples:
            entry.examples.append(session)


class Written:
    """What `write_sessions` wrote."""

    def __init__(self) -> None:
        self.sessions: list[str] = []
        self.turns = 0
        self.skipped = Tally()
        self.dropped = Tally()


def write_sessions(
    rows: Iterable[Any], writer: _Writer, options: ExportOptions, *, total: int, progress: Progress | None
) -> Written:
    """Judge and write the sessions of `rows` (ordered by session, then turn) one at a time."""
    written = Written()
    done = 0
    for session_id, turns in groupby(rows, key=lambda row: str(row.session_id)):
        verdict = build_example(turns, system=options.system, anonymize=options.anonymize)
        if verdict.skip is not None:
            written.skipped.add(verdict.skip, session_id)
        else:
            writer.write(verdict.messages)
            written.sessions.append(session_id)
            written.turns += verdict.turns
            for reason in verdict.dropped:
                written.dropped.add(reason, session_id)
        done += 1
        if progress is not None and done % 500 == 0:
            progress(done, total)
    if progress is not None:
        progress(done, total)
    return written
