"""What the dialog memory returns: turns, sessions, the capture state, context blocks, `ask` events."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from gazette.providers.models import TextDelta


class Turn(BaseModel):
    """One captured turn of a dialog; `content` as stored, secrets already redacted."""

    session: str
    turn_number: int
    role: Literal["system", "user", "assistant"]
    content: str
    model: str | None = Field(default=None, description="provider:model that answered.")
    route: str | None = Field(default=None, description="The model name asked for.")
    tokens_used: int | None = Field(
        default=None, description="user: the call's input tokens; assistant: the answer's tokens."
    )
    latency_ms: int | None = None
    context_window: int | None = Field(
        default=None, description="Tokens (estimated) sent ahead of the question: system prompt and history block."
    )
    interrupted: bool = False
    timestamp: datetime


class Session(BaseModel):
    """One dialog session as `gazette dialogs list` shows it."""

    id: str
    turns: int
    started_at: datetime
    last_at: datetime
    title: str = Field(description="The first question, redacted.")
    model: str | None = Field(default=None, description="The model that answered last.")


class Dialog(BaseModel):
    """A session with all of its visible turns, in order."""

    session: Session
    turns: list[Turn]


class Transcript(BaseModel):
    """What the program showed during one `gazette training wrap` run, raw (escape sequences kept)
    but with secrets redacted."""

    session: str
    command: list[str] = Field(description="The program and its arguments, secrets redacted.")
    transcript: str
    bytes: int = Field(description="Size of the raw output before decoding.")
    exit_code: int | None = Field(default=None, description="None when Gazette itself failed during the run.")
    started_at: datetime
    ended_at: datetime | None = None


class WrapReport(BaseModel):
    """What a `gazette training wrap` run recorded."""

    session: str | None = Field(description="The session recorded in; None when nothing was recorded.")
    new_session: bool
    command: list[str] = Field(description="The program and its arguments, secrets redacted.")
    model: str = Field(description="The model recorded on the turns.")
    exit_code: int = Field(description="The program's exit code (128 + N when signal N ended it).")
    turns: int = Field(description="Turns recorded: a question and its answer are two.")
    transcript_bytes: int = Field(description="Size of the raw output (recorded when turns were).")
    captured: bool = Field(description="Whether capture was on for this run.")
    capture_source: str = Field(description="Why capture was on or off.")
    interrupted: bool = Field(description="Whether an answer was recorded as interrupted.")


class CaptureState(BaseModel):
    """Whether `ask` records turns for this user, why, and what is recorded so far."""

    enabled: bool
    source: str = Field(
        description="The user's own choice (`gazette training capture`), else the training.capture setting "
        "and where it came from."
    )
    changed_at: datetime | None = Field(default=None, description="When the user last chose.")
    sessions: int
    turns: int


class ContextBlock(BaseModel):
    """Earlier turns fitted to a token budget, ready to put ahead of a question."""

    text: str = Field(description="Empty when there is nothing to inject.")
    considered: int = Field(description="Turns read from the store.")
    included: int = Field(description="Turns in the block, whole or trimmed.")
    trimmed: int = Field(description="Included turns cut short (each marked in the text).")
    left_out: int = Field(description="Older turns that did not fit.")
    tokens: int = Field(description="Estimated size of `text` (4 characters per token).")
    budget: int
    summary_through: int | None = Field(
        default=None, description="The block leads with a distilled summary of the session's turns 1..this."
    )
    summary_model: str | None = Field(default=None, description="The model that distilled the summary.")
    distill_error: str | None = Field(
        default=None, description="Why the older turns were trimmed instead of distilled this time."
    )


class Summary(BaseModel):
    """A session's turns 1..through_turn distilled into a summary by a cheaper model."""

    session: str
    through_turn: int
    content: str = Field(description="The summary, secrets redacted.")
    model: str = Field(description="provider:model that distilled it.")
    source_tokens: int = Field(description="Estimated tokens of the turns folded into it (and the summary before).")
    tokens: int = Field(description="Estimated tokens of the summary.")
    created_at: datetime


class Distillation(BaseModel):
    """What `gazette training distill` did: the session's summary, new or already up to date."""

    summary: Summary | None = Field(description="The latest summary; None when the session has none.")
    created: bool = Field(description="A new summary was distilled now.")
    folded: int = Field(description="Turns folded into the new summary (0 when none was made).")
    kept: int = Field(description="Newest turns left whole, within half the budget.")


class AskStarted(BaseModel):
    """First event of `Dialogs.ask`: where the answer will be recorded."""

    type: Literal["started"] = "started"
    session: str
    new_session: bool
    route: str
    provider: str
    model: str = Field(description="provider:model the question goes to.")
    capture: bool = Field(description="Whether the turns will be recorded.")
    history_turns: int = Field(default=0, description="Earlier turns sent in the context block.")


class Usage(BaseModel):
    """Tokens of one call, as the provider counted them (None: it did not say)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class Answer(BaseModel):
    """Last event of `Dialogs.ask`: the whole answer with its usage and timings."""

    type: Literal["answer"] = "answer"
    session: str
    route: str
    provider: str
    model: str
    answer: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: int | None = None
    first_token_ms: int | None = None
    captured: bool
    interrupted: bool = False

    @property
    def usage(self) -> Usage:
        return Usage(prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens)


AskEvent = AskStarted | TextDelta | Answer


ExportFormat = Literal["jsonl", "sharegpt", "parquet"]
ImportSource = Literal["llm-logs", "openai-export"]


class ExportOptions(BaseModel):
    """Which sessions a training export takes and how it writes them."""

    format: ExportFormat = "jsonl"
    date_from: str | None = Field(default=None, description="YYYY-MM-DD (UTC): sessions that started on or after.")
    date_to: str | None = Field(default=None, description="YYYY-MM-DD (UTC): sessions that started on or before.")
    model: str | None = Field(default=None, description="Sessions with a turn of this provider:model or route.")
    session: str | None = Field(default=None, description="Only this session (an id or a unique prefix).")
    system: str | None = Field(default=None, description="The system message of every example, replacing theirs.")
    anonymize: bool = Field(default=False, description="Also mask e-mail and IPv4 addresses and home-directory users.")


class Skipped(BaseModel):
    """How often one reason applied, with up to five of the sessions it applied to."""

    count: int = 0
    examples: list[str] = Field(default_factory=list)


class ExportReport(BaseModel):
    """What a training export wrote, and what it left out and why."""

    dataset_id: int
    format: ExportFormat
    path: str | None = Field(description="The file written; None for standard output.")
    sessions: int = Field(description="Examples written: one per session.")
    turns: int = Field(description="User and assistant messages written (system messages not counted).")
    skipped: dict[str, Skipped] = Field(description="Sessions left out, by reason.")
    dropped: dict[str, Skipped] = Field(
        description="Question-and-answer pairs left out of written sessions, by reason."
    )


class ImportReport(BaseModel):
    """What an import added to the dialog memory."""

    source: ImportSource
    path: str
    sessions: int = Field(description="Sessions added.")
    turns: int = Field(description="Turns added.")
    existing: int = Field(description="Sessions already imported before (left as they are).")
    skipped: dict[str, int] = Field(description="Messages or conversations not imported, by reason.")
