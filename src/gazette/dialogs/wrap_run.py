"""One run of `gazette training wrap`: what it saw, as it happened, and what it records from that:
the turns' rows (found by `gazette.dialogs.wrap`), the transcript and the command, secrets redacted;
and the model a command talks to."""

from __future__ import annotations

import difflib
import os
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from gazette.dialogs.context import estimate_tokens
from gazette.dialogs.wrap import Chunk, WrappedTurn, segment
from gazette.redaction import MASK, is_secret_key, redact_text
from gazette.store.types import utcnow

_SHORTEST_SECRET = 4


class Recording:
    """What one run showed and was typed, as it happened (a `gazette.terminal.Observer`), and the
    rows to store from it."""

    def __init__(self, argv: Sequence[str], *, model: str | None = None) -> None:
        self.command = redact_command(argv)
        self.model = model or model_of(argv)
        self.chunks: list[Chunk] = []
        self.exit_code: int | None = None
        self.started_at = utcnow()
        self.ended_at: datetime | None = None
        self._started = time.monotonic()

    def typed(self, data: bytes) -> None:
        self.chunks.append(Chunk(typed=True, at=time.monotonic(), data=data))

    def shown(self, data: bytes) -> None:
        self.chunks.append(Chunk(typed=False, at=time.monotonic(), data=data))

    def end(self, exit_code: int | None) -> None:
        self.exit_code, self.ended_at = exit_code, utcnow()

    @property
    def size(self) -> int:
        """Bytes the program showed."""
        return sum(len(chunk.data) for chunk in self.chunks if not chunk.typed)

    def turns(self) -> list[WrappedTurn]:
        return segment(self.chunks, ended_ok=self.exit_code == 0)

    def rows(self, turns: list[WrappedTurn]) -> list[dict[str, Any]]:
        """terminal_dialogs rows (not yet redacted) for `turns`."""
        rows: list[dict[str, Any]] = []
        for turn in turns:
            rows.append(
                {
                    "role": "user",
                    "content": turn.question,
                    "model": self.model,
                    "tokens_used": estimate_tokens(turn.question),
                    "timestamp": self._when(turn.asked_at),
                }
            )
            answered = turn.answered_at if turn.answered_at is not None else turn.asked_at
            rows.append(
                {
                    "role": "assistant",
                    "content": turn.answer,
                    "model": self.model,
                    "tokens_used": estimate_tokens(turn.answer),
                    "latency_ms": round((answered - turn.asked_at) * 1000),
                    "interrupted": turn.interrupted,
                    "timestamp": self._when(answered),
                }
            )
        return rows

    def transcript(self, turns: list[WrappedTurn]) -> str:
        """The output decoded as UTF-8 (invalid bytes replaced), secrets redacted."""
        shown = b"".join(chunk.data for chunk in self.chunks if not chunk.typed)
        typed = b"".join(chunk.data for chunk in self.chunks if chunk.typed)
        sources = [typed.decode("utf-8", "replace")] + [text for turn in turns for text in (turn.question, turn.answer)]
        return redact_transcript(shown.decode("utf-8", "replace"), sources)

    def _when(self, at: float) -> datetime:
        return self.started_at + timedelta(seconds=at - self._started)


# ---------------------------------------------------------------- the command


def model_of(argv: Sequence[str]) -> str:
    """The model a command talks to where its arguments say: `ollama run X` → `ollama:X`,
    `llm … -m X` → `X`; else the program's name."""
    program = os.path.basename(argv[0]) if argv else ""
    args = list(argv[1:])
    if program == "ollama" and args[:1] == ["run"]:
        names = [arg for arg in args[1:] if not arg.startswith("-")]
        if names:
            return f"ollama:{names[0]}"
    if program == "llm":
        for i, arg in enumerate(args):
            if arg in ("-m", "--model") and i + 1 < len(args):
                return args[i + 1]
            if arg.startswith("--model="):
                return arg.removeprefix("--model=")
    return program


def redact_command(argv: Sequence[str]) -> list[str]:
    """`argv` with secrets masked: known formats anywhere, and the value after an option whose name
    says it is a secret (`--api-key KEY`, `--password PW`)."""
    redacted: list[str] = []
    for i, arg in enumerate(argv):
        previous = argv[i - 1] if i else ""
        secret_option = previous.startswith("-") and "=" not in previous and is_secret_key(previous.lstrip("-"))
        redacted.append(MASK if secret_option else redact_text(arg))
    return redacted


def redact_transcript(transcript: str, sources: Iterable[str]) -> str:
    """`transcript` redacted, and every secret that redaction finds in `sources` (the typed input,
    the turns) masked wherever it stands verbatim, in case the transcript's escape sequences hid it
    from the patterns."""
    text = redact_text(transcript)
    secrets = {secret for source in sources for secret in _secrets_in(source)}
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def _secrets_in(text: str) -> set[str]:
    found = set()
    for line in text.splitlines():
        redacted = redact_text(line)
        if redacted == line:
            continue
        matcher = difflib.SequenceMatcher(None, line, redacted, autojunk=False)
        for tag, i1, i2, _, _ in matcher.get_opcodes():
            if tag in ("replace", "delete"):
                secret = line[i1:i2].strip()
                if len(secret) >= _SHORTEST_SECRET:
                    found.add(secret)
    return found
