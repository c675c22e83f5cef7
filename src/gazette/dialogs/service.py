"""`Dialogs`: the dialog memory. Asks a model, records every turn (secrets redacted), lists, shows and
deletes sessions, and fits earlier turns into a context block for the next question.

Dialogs are personal: every method works on the principal's own turns, admins included. Recording
follows the user's choice (`set_capture`), else the `training.capture` setting; `ask(capture=False)`
records nothing. Deleting a session hides it (`deleted_at`) from every read.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, TypeVar

from sqlalchemy import Connection, Row

from gazette import terminal
from gazette.auth.models import Principal
from gazette.auth.service import require_scope
from gazette.dialogs import code_context, distill, importers
from gazette.dialogs import export as export_rules
from gazette.dialogs.code_context import CodeContext
from gazette.dialogs.context import estimate_tokens, fit
from gazette.dialogs.export import Progress
from gazette.dialogs.models import (
    Answer,
    AskEvent,
    AskStarted,
    CaptureState,
    ContextBlock,
    Dialog,
    Distillation,
    ExportOptions,
    ExportReport,
    ImportReport,
    ImportSource,
    Session,
    Summary,
    Transcript,
    Turn,
    WrapReport,
)
from gazette.dialogs.wrap_run import Recording
from gazette.errors import ConflictError, GazetteError, InvalidInputError, NotFoundError, ProviderError
from gazette.logs import get_logger
from gazette.providers.models import ChatDone, ChatEvent, ChatMessage, ChatRequest, Route, TextDelta
from gazette.redaction import redact_text
from gazette.store import datasets as dataset_rows
from gazette.store import dialogs as dialog_rows
from gazette.store import summaries as summary_rows
from gazette.store import transcripts as transcript_rows
from gazette.store.types import utcnow
from gazette.store.workspaces import require_workspace_id

if TYPE_CHECKING:
    from gazette.app import Gazette

log = get_logger("gazette.dialogs")
_Rows = TypeVar("_Rows")

ROLES = ("system", "user", "assistant")
CAPTURE_COMMAND = "chosen with gazette training capture"
_INSERT_ATTEMPTS = 3
CODE_INSTRUCTION = (
    "You are a careful senior software engineer. Answer the request with working code and a short "
    "explanation. Base the answer on the context below when it is relevant, and cite the sources you "
    "used by their headers (a file path, git diff, or repo/path:lines)."
)


@dataclass(frozen=True)
class _Question:
    """Everything `ask` settled before the model was called, for recording afterwards."""

    principal: Principal
    session: str
    new_session: bool
    route: Route
    prompt: str
    system: str | None  # the caller's own system prompt (recorded as a turn)
    sent_system: str | None  # what went to the model: the system prompt and the history block
    history_turns: int
    capture: bool
    asked_at: datetime


class Dialogs:
    """The dialog memory of one `Gazette` (`gz.dialogs`)."""

    def __init__(self, gz: Gazette) -> None:
        self._gz = gz
        self._settings = gz.settings.training

    # ---------------------------------------------------------------- asking

    def ask(
        self,
        principal: Principal,
        prompt: str,
        *,
        model: str | None = None,
        session: str | None = None,
        new: bool = False,
        system: str | None = None,
        with_history: int = 0,
        capture: bool = True,
    ) -> Generator[AskEvent, None, None]:
        """Ask `model` and iterate for the answer: `AskStarted`, `TextDelta`s as they arrive, `Answer`;
        `close()` the generator to stop early.

        Continues `session` (an id or a unique prefix), or with `new` starts one; by default the
        latest session continues when its last turn is younger than `training.session_idle_minutes`.
        `with_history` puts up to that many earlier turns (of the session continued; of all your
        sessions when a new one starts) ahead of the question, fitted to `training.inject_budget`.

        The system, user and assistant turns are recorded when the answer is complete, unless
        capture is off. An answer that breaks off after text arrived, or that the consumer stops
        (Ctrl-C, closing the iterator), is recorded as far as it came with `interrupted` set.

        Raises:
            InvalidInputError: an empty prompt, `session` with `new`, a negative `with_history`,
                no model and no default.
            NotFoundError: an unknown session or model.
            PermissionDeniedError: no `models:use` scope (or `dialogs:read` with `with_history`),
                or no key for the provider.
            ConfigError, RateLimitedError: as `Providers.stream`; all of these before the first event.
            ProviderError: the call failed (while iterating).
        """
        if not prompt.strip():
            raise InvalidInputError('the prompt is empty: write a question, e.g. gazette ask "explain git rebase"')
        if session and new:
            raise InvalidInputError("--session and --new exclude each other: continue a session or start a new one")
        if with_history < 0:
            raise InvalidInputError(f"with_history must be 0 or more, not {with_history}")
        require_scope(principal, "models:use")
        if with_history:
            require_scope(principal, "dialogs:read")
        route = self._gz.providers.resolve(model)
        now = utcnow()
        with self._gz.store.begin(principal.viewer()) as conn:
            workspace_id = require_workspace_id(conn, principal.workspace)
            session_id, new_session = self._pick_session(conn, workspace_id, principal.user, session, new, now)
            history = None
            if with_history:
                rows = dialog_rows.recent_turns(
                    conn,
                    workspace_id,
                    principal.user,
                    last=with_history,
                    session_id=None if new_session else session_id,
                )
                history = [_turn(row) for row in rows]
            recording = capture and self._capture(conn, workspace_id, principal.user)[0]
        block = None
        if history is not None:
            budget = self._settings.inject_budget
            block = fit(history, budget) if new_session else self._session_block(principal, session_id, history, budget)
        sent_system = "\n\n".join(part for part in (system, block.text if block else "") if part) or None
        request = ChatRequest(messages=[ChatMessage(role="user", content=prompt)], system=sent_system)
        # Refusals (scope, key, limits) are raised here, before anything is recorded or sent.
        events = self._gz.providers.stream(principal, route.target, request)
        question = _Question(
            principal=principal,
            session=session_id,
            new_session=new_session,
            route=route,
            prompt=prompt,
            system=system or None,
            sent_system=sent_system,
            history_turns=block.included if block else 0,
            capture=recording,
            asked_at=now,
        )
        return self._converse(question, events)

    def code(
        self,
        principal: Principal,
        prompt: str,
        *,
        files: Sequence[Path] = (),
        diff: str | None = None,
        search: str | None = None,
        repo: str | None = None,
        budget: int = code_context.DEFAULT_BUDGET,
        cwd: Path | None = None,
        model: str | None = None,
        session: str | None = None,
        new: bool = False,
        capture: bool = True,
    ) -> tuple[CodeContext, Generator[AskEvent, None, None]]:
        """Ask for code with a context of `files`, `git diff [diff]` and cited `search` hits fitted to
        `budget` tokens (the rules are in `gazette.dialogs.code_context`); returns the context, to say
        what went in, and the events of `ask`, whose rules (sessions, capture, errors) apply as they are.
        The instruction and the context are sent, and recorded, as the system turn.

        Raises:
            InvalidInputError: an empty prompt; as `code_context.assemble` and `ask`.
            NotFoundError, PermissionDeniedError: as `code_context.assemble` and `ask`.
        """
        if not prompt.strip():
            raise InvalidInputError('the prompt is empty: say what to write, e.g. gazette code "add a --dry-run flag"')
        context = code_context.assemble(
            self._gz, principal, files=files, diff=diff, search=search, repo=repo, budget=budget, cwd=cwd
        )
        system = CODE_INSTRUCTION
        if context.text:
            system += "\n\nContext, each part under a header citing its source:\n\n" + context.text
        events = self.ask(principal, prompt, model=model, session=session, new=new, system=system, capture=capture)
        return context, events

    def _converse(self, question: _Question, events: Iterator[ChatEvent]) -> Generator[AskEvent, None, None]:
        parts: list[str] = []
        done: ChatDone | None = None
        started = time.monotonic()
        try:
            yield AskStarted(
                session=question.session,
                new_session=question.new_session,
                route=question.route.name,
                provider=question.route.provider,
                model=question.route.target,
                capture=question.capture,
                history_turns=question.history_turns,
            )
            for event in events:
                if isinstance(event, TextDelta):
                    parts.append(event.text)
                    yield event
                else:
                    done = event
        except Exception:  # the call failed (a ProviderError, or a plugin's own GazetteError)
            _close(events)
            if parts:  # the answer began: keep what arrived
                self._record_quietly(question, "".join(parts), None, started)
            raise
        except BaseException:  # Ctrl-C (KeyboardInterrupt) or the consumer stopped iterating (GeneratorExit)
            _close(events)
            self._record_quietly(question, "".join(parts), None, started)
            raise
        finally:
            _close(events)
        answer = "".join(parts)
        captured = self._record(question, answer, done, started)
        yield Answer(
            session=question.session,
            route=question.route.name,
            provider=question.route.provider,
            model=question.route.target,
            answer=answer,
            prompt_tokens=done.prompt_tokens if done else None,
            completion_tokens=done.completion_tokens if done else None,
            latency_ms=done.latency_ms if done else None,
            first_token_ms=done.first_token_ms if done else None,
            captured=captured,
            interrupted=done is None,
        )

    def _record(self, question: _Question, answer: str, done: ChatDone | None, started: float) -> bool:
        """Store the question's turns and the answer (as far as it came when `done` is None)."""
        if not question.capture:
            return False
        context = estimate_tokens(question.sent_system or "")
        prompt_tokens = done.prompt_tokens if done and done.prompt_tokens is not None else None
        if prompt_tokens is None:
            prompt_tokens = context + estimate_tokens(question.prompt)
        shared = {"model": question.route.target, "route": question.route.name, "context_window": context}
        rows: list[dict[str, Any]] = []
        if question.system:
            rows.append({**shared, "role": "system", "content": question.system, "timestamp": question.asked_at})
        rows.append(
            {
                **shared,
                "role": "user",
                "content": question.prompt,
                "tokens_used": prompt_tokens,
                "timestamp": question.asked_at,
            }
        )
        completion = done.completion_tokens if done and done.completion_tokens is not None else None
        rows.append(
            {
                **shared,
                "role": "assistant",
                "content": answer,
                "tokens_used": completion if completion is not None else estimate_tokens(answer),
                "latency_ms": done.latency_ms if done and done.latency_ms is not None else _ms_since(started),
                "interrupted": done is None,
                "timestamp": utcnow(),
            }
        )
        self._append(question.principal, question.session, rows)
        return True

    def _record_quietly(self, question: _Question, answer: str, done: ChatDone | None, started: float) -> None:
        # Recording on the way out of a failure must not hide the failure itself.
        try:
            self._record(question, answer, done, started)
        except Exception:
            log.exception("dialogs.record_failed", session=question.session)

    # ---------------------------------------------------------------- recording

    def record_turn(
        self,
        principal: Principal,
        *,
        role: Literal["system", "user", "assistant"],
        content: str,
        session: str | None = None,
        model: str | None = None,
        route: str | None = None,
        tokens_used: int | None = None,
        latency_ms: int | None = None,
        context_window: int | None = None,
        interrupted: bool = False,
    ) -> Turn | None:
        """Append one turn to `session` (an id or unique prefix; None starts a new session), secrets
        redacted; None when capture is off for the principal.

        Raises:
            PermissionDeniedError: no `models:use` scope.
            InvalidInputError: an unknown role.
            NotFoundError: an unknown session.
        """
        require_scope(principal, "models:use")
        if role not in ROLES:
            raise InvalidInputError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
        with self._gz.store.begin(principal.viewer()) as conn:
            workspace_id = require_workspace_id(conn, principal.workspace)
            if not self._capture(conn, workspace_id, principal.user)[0]:
                return None
            session_id = self._resolve(conn, workspace_id, principal.user, session) if session else uuid.uuid4().hex
        row = {
            "role": role,
            "content": content,
            "model": model,
            "route": route,
            "tokens_used": tokens_used,
            "latency_ms": latency_ms,
            "context_window": context_window,
            "interrupted": interrupted,
            "timestamp": utcnow(),
        }
        number = self._append(principal, session_id, [row])
        return Turn(session=session_id, turn_number=number, **{**row, "content": redact_text(content)})

    def _append(
        self,
        principal: Principal,
        session_id: str,
        rows: list[dict[str, Any]],
        *,
        also: Callable[[Connection, int], None] | None = None,
    ) -> int:
        """Insert `rows` (redacted here), and whatever `also` writes, in one transaction."""
        redacted = [{**row, "content": redact_text(row["content"])} for row in rows]
        for attempt in range(1, _INSERT_ATTEMPTS + 1):
            try:
                with self._gz.store.begin(principal.viewer()) as conn:
                    workspace_id = require_workspace_id(conn, principal.workspace)
                    first = dialog_rows.insert_turns(conn, workspace_id, principal.user, session_id, redacted)
                    if also is not None:
                        also(conn, workspace_id)
                    return first
            except ConflictError:
                # Two answers in the same session finished together: number after the other one.
                if attempt == _INSERT_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    # ---------------------------------------------------------------- wrapping a terminal program

    def wrap(
        self,
        principal: Principal,
        argv: Sequence[str],
        *,
        model: str | None = None,
        session: str | None = None,
        new: bool = False,
        capture: bool = True,
        stdin_fd: int = 0,
        stdout_fd: int = 1,
    ) -> WrapReport:
        """Run `argv`, an interactive terminal program, on a pseudo-terminal between `stdin_fd` and
        `stdout_fd` (passed through as they are: `gazette.terminal`) and record its questions and
        answers as turns (`gazette.dialogs.wrap`) with the raw transcript, secrets redacted.

        Every run is a new session unless `session` continues one (`new` is the default, accepted for
        symmetry with `ask`). `model` names the model on the turns, else the command tells it. Nothing
        is recorded when capture is off or no turn was found; however the program ends (its exit, a
        crash, a signal, a failure of Gazette's own), what was seen is recorded.

        Raises:
            InvalidInputError: no command, `session` with `new`, a program that cannot be executed
                (`details["exit_code"]` 126).
            NotFoundError: an unknown session, or no such program (`details["exit_code"]` 127).
            PermissionDeniedError: no `models:use` scope.
            UnavailableError: not a POSIX system.
        """
        if not argv or not argv[0].strip():
            raise InvalidInputError(
                "no command to wrap: give one after --, e.g. gazette training wrap -- ollama run llama3.2"
            )
        if session and new:
            raise InvalidInputError("--session and --new exclude each other: continue a session or start a new one")
        require_scope(principal, "models:use")
        terminal.find_program(argv[0])
        with self._gz.store.begin(principal.viewer()) as conn:
            workspace_id = require_workspace_id(conn, principal.workspace)
            session_id = self._resolve(conn, workspace_id, principal.user, session) if session else uuid.uuid4().hex
            recording, source, _ = self._capture(conn, workspace_id, principal.user)
        if not capture:
            recording, source = False, "--no-capture"
        run = Recording(argv, model=model)
        try:
            exit_code = terminal.run(argv, run, stdin_fd=stdin_fd, stdout_fd=stdout_fd)
        except BaseException:
            run.end(None)
            if recording and run.chunks:
                try:
                    self._record_run(principal, session_id, run)
                except Exception:  # recording on the way out must not hide the failure itself
                    log.exception("dialogs.wrap_record_failed", session=session_id)
            raise
        run.end(exit_code)
        rows = self._record_run(principal, session_id, run) if recording else []
        return WrapReport(
            session=session_id if rows else None,
            new_session=session is None,
            command=run.command,
            model=run.model,
            exit_code=exit_code,
            turns=len(rows),
            transcript_bytes=run.size,
            captured=recording,
            capture_source=source,
            interrupted=any(row.get("interrupted") for row in rows),
        )

    def _record_run(self, principal: Principal, session_id: str, run: Recording) -> list[dict[str, Any]]:
        """Store a run's turns and its transcript together; nothing when it made no turn."""
        turns = run.turns()
        rows = run.rows(turns)
        if not rows:
            return rows
        transcript = run.transcript(turns)

        def store_transcript(conn: Connection, workspace_id: int) -> None:
            transcript_rows.insert_transcript(
                conn,
                workspace_id,
                principal.user,
                session_id,
                command=run.command,
                transcript=transcript,
                size=run.size,
                exit_code=run.exit_code,
                started_at=run.started_at,
                ended_at=run.ended_at,
            )

        self._append(principal, session_id, rows, also=store_transcript)
        return rows

    def list_transcripts(self, principal: Principal, session: str) -> list[Transcript]:
        """The transcripts of a session's `gazette training wrap` runs, oldest first (none for a
        session of `ask`).

        Raises:
            PermissionDeniedError: no `dialogs:read` scope.
            NotFoundError: no such session (or it was deleted).
            InvalidInputError: the prefix matches several sessions.
        """
        _, rows = self._read_session(principal, session, transcript_rows.session_transcripts)
        return [
            Transcript(
                session=row.session_id,
                command=list(row.command),
                transcript=row.transcript,
                bytes=row.bytes,
                exit_code=row.exit_code,
                started_at=row.started_at,
                ended_at=row.ended_at,
            )
            for row in rows
        ]

    # ---------------------------------------------------------------- reading

    def list_sessions(self, principal: Principal, *, limit: int = 50) -> list[Session]:
        """The principal's sessions, most recently active first.

        Raises:
            PermissionDeniedError: no `dialogs:read` scope.
            InvalidInputError: `limit` below 1.
        """
        require_scope(principal, "dialogs:read")
        if limit < 1:
            raise InvalidInputError(f"limit must be 1 or more, not {limit}")
        with self._gz.store.begin(principal.viewer()) as conn:
            workspace_id = require_workspace_id(conn, principal.workspace)
            rows = dialog_rows.list_sessions(conn, workspace_id, principal.user, limit=limit)
        return [_session(row) for row in rows]

    def get_session(self, principal: Principal, session: str) -> Dialog:
        """One session (an id or a unique prefix) with its turns.

        Raises:
            PermissionDeniedError: no `dialogs:read` scope.
            NotFoundError: no such session (or it was deleted).
            InvalidInputError: the prefix matches several sessions.
        """
        session_id, rows = self._read_session(principal, session, dialog_rows.session_turns)
        turns = [_turn(row) for row in rows]
        return Dialog(session=_summary(session_id, turns), turns=turns)

    def _read_session(
        self, principal: Principal, session: str, read: Callable[[Connection, int, str, str], _Rows]
    ) -> tuple[str, _Rows]:
        """(the session's id, what `read` returns for it) after the checks every read of a session makes.

        Raises:
            PermissionDeniedError: no `dialogs:read` scope.
            NotFoundError, InvalidInputError: as `_resolve`.
        """
        require_scope(principal, "dialogs:read")
        with self._gz.store.begin(principal.viewer()) as conn:
            workspace_id = require_workspace_id(conn, principal.workspace)
            session_id = self._resolve(conn, workspace_id, principal.user, session)
            return session_id, read(conn, workspace_id, principal.user, session_id)

    def delete_session(self, principal: Principal, session: str) -> Session:
        """Hide a session from every read (its turns stay, marked deleted; its transcripts are removed);
        returns what was deleted.

        Raises:
            PermissionDeniedError: no `dialogs:write` scope.
            NotFoundError: no such session (or it was deleted already).
            InvalidInputError: the prefix matches several sessions.
        """
        require_scope(principal, "dialogs:write")
        with self._gz.store.begin(principal.viewer()) as conn:
            workspace_id = require_workspace_id(conn, principal.workspace)
            session_id = self._resolve(conn, workspace_id, principal.user, session)
            turns = [_turn(row) for row in dialog_rows.session_turns(conn, workspace_id, principal.user, session_id)]
            dialog_rows.delete_session(conn, workspace_id, principal.user, session_id, utcnow())
            summary_rows.delete_session(conn, workspace_id, principal.user, session_id)
            removed = transcript_rows.delete_transcripts(conn, workspace_id, principal.user, session_id)
        self._gz.audit.record(
            "dialogs.deleted",
            principal=principal,
            target=session_id,
            payload={"turns": len(turns), "transcripts": removed},
            durable=True,
        )
        return _summary(session_id, turns)

    def context_block(
        self, principal: Principal, *, last: int = 50, session: str | None = None, budget: int | None = None
    ) -> ContextBlock:
        """The principal's `last` turns (of `session`, or of all sessions) fitted to `budget` tokens
        (default `training.inject_budget`); the rules are in `gazette.dialogs.context`.

        Raises:
            PermissionDeniedError: no `dialogs:read` scope.
            InvalidInputError: `last` below 1 or `budget` below 50; an ambiguous session prefix.
            NotFoundError: no such session.
        """
        require_scope(principal, "dialogs:read")
        if last < 1:
            raise InvalidInputError(f"--last must be 1 or more, not {last}")
        budget = self._settings.inject_budget if budget is None else budget
        if budget < 50:
            raise InvalidInputError(f"--budget must be at least 50 tokens, not {budget}")
        with self._gz.store.begin(principal.viewer()) as conn:
            workspace_id = require_workspace_id(conn, principal.workspace)
            session_id = self._resolve(conn, workspace_id, principal.user, session) if session else None
            rows = dialog_rows.recent_turns(conn, workspace_id, principal.user, last=last, session_id=session_id)
        turns = [_turn(row) for row in rows]
        if session_id is None:
            return fit(turns, budget)
        return self._session_block(principal, session_id, turns, budget)

    # ---------------------------------------------------------------- distilling

    def distill(
        self, principal: Principal, session: str, *, model: str | None = None, budget: int | None = None
    ) -> Distillation:
        """Fold the session's turns that do not fit in half of `budget` (default
        `training.inject_budget`) into its summary, by `model` (default `training.distill_model`);
        the rules are in `gazette.dialogs.distill`. Nothing is sent when every turn after the
        summary already fits.

        Raises:
            PermissionDeniedError: no `dialogs:write` or `models:use` scope, or no key for the provider.
            InvalidInputError: no model given and no `training.distill_model`; `budget` below 50.
            NotFoundError: no such session, or an unknown model.
            ProviderError: the call failed, or the model answered nothing.
        """
        require_scope(principal, "dialogs:write")
        model = model or self._settings.distill_model
        if not model:
            raise InvalidInputError(
                "no distill model: give --model, or set training.distill_model to a cheaper model "
                "(e.g. GAZETTE_TRAINING__DISTILL_MODEL=ollama:llama3.2:1b)"
            )
        budget = self._settings.inject_budget if budget is None else budget
        if budget < 50:
            raise InvalidInputError(f"--budget must be at least 50 tokens, not {budget}")
        with self._gz.store.begin(principal.viewer()) as conn:
            workspace_id = require_workspace_id(conn, principal.workspace)
            session_id = self._resolve(conn, workspace_id, principal.user, session)
        return self._distill(principal, session_id, budget, model)

    def _session_block(self, principal: Principal, session_id: str, turns: list[Turn], budget: int) -> ContextBlock:
        """The block of one session's `turns`, led by its summary, distilled anew when they outgrow `budget`."""
        with self._gz.store.begin(principal.viewer()) as conn:
            workspace_id = require_workspace_id(conn, principal.workspace)
            summary = _summary_of(summary_rows.latest(conn, workspace_id, principal.user, session_id))
        block = distill.block(summary, turns, budget)
        model = self._settings.distill_model
        if distill.fits_whole(block) or not model:
            return block
        try:
            done = self._distill(principal, session_id, budget, model)
        except GazetteError as exc:  # the block still comes, trimmed; the reason goes with it
            log.warning("dialogs.distill_failed", session=session_id, model=model, error=exc.message)
            return block.model_copy(update={"distill_error": exc.message})
        return distill.block(done.summary, turns, budget)

    def _distill(self, principal: Principal, session_id: str, budget: int, model: str) -> Distillation:
        with self._gz.store.begin(principal.viewer()) as conn:
            workspace_id = require_workspace_id(conn, principal.workspace)
            previous = _summary_of(summary_rows.latest(conn, workspace_id, principal.user, session_id))
            rows = dialog_rows.session_turns(conn, workspace_id, principal.user, session_id)
        after = previous.through_turn if previous else 0
        turns = [turn for turn in map(_turn, rows) if turn.turn_number > after and turn.role != "system"]
        fold, keep = distill.split(turns, budget)
        if not fold:
            return Distillation(summary=previous, created=False, folded=0, kept=len(keep))
        request = distill.request(previous, fold, budget)
        route = self._gz.providers.resolve(model)
        answer = "".join(
            event.text
            for event in self._gz.providers.stream(principal, route.target, request)
            if isinstance(event, TextDelta)
        )
        content = redact_text(distill.summary_text(answer, budget))
        if not content:
            raise ProviderError(
                f"{route.target} returned an empty summary of session {session_id}: try another distill model",
                reason="failed",
                details={"model": route.target, "session": session_id},
            )
        source = estimate_tokens(request.messages[0].content)
        summary = Summary(
            session=session_id,
            through_turn=fold[-1].turn_number,
            content=content,
            model=route.target,
            source_tokens=source,
            tokens=estimate_tokens(content),
            created_at=utcnow(),
        )
        with self._gz.store.begin(principal.viewer()) as conn:
            workspace_id = require_workspace_id(conn, principal.workspace)
            fields = summary.model_dump(exclude={"session", "created_at", "through_turn"})
            stored = summary_rows.insert_summary(
                conn,
                workspace_id,
                principal.user,
                session_id,
                through_turn=summary.through_turn,
                at=summary.created_at,
                **fields,
            )
            if not stored:  # a concurrent call distilled the same turns first: use theirs
                summary = _summary_of(summary_rows.latest(conn, workspace_id, principal.user, session_id)) or summary
        return Distillation(summary=summary, created=stored, folded=len(fold), kept=len(keep))

    # ---------------------------------------------------------------- training data

    def export(
        self,
        principal: Principal,
        options: ExportOptions,
        *,
        path: Path | None = None,
        out: IO[str] | None = None,
        force: bool = False,
        progress: Progress | None = None,
    ) -> ExportReport:
        """Write the principal's sessions as fine-tuning examples to `path` (atomically) or to `out`,
        and record the export in training_datasets; the rules are in `gazette.dialogs.export`.

        Raises:
            PermissionDeniedError: no `dialogs:read` scope.
            InvalidInputError: a bad date or range, an ambiguous session prefix, parquet without
                pyarrow or without a file, a missing directory.
            NotFoundError: no such session.
            ConflictError: `path` exists and not `force`.
        """
        require_scope(principal, "dialogs:read")
        start, end = export_rules.parse_range(options.date_from, options.date_to)
        export_rules.check_format(options.format, path is not None)
        target = path.absolute() if path is not None else None
        with (
            export_rules.open_target(options.format, target, out, force=force) as writer,
            self._gz.store.begin(principal.viewer()) as conn,
        ):
            workspace_id = require_workspace_id(conn, principal.workspace)
            session_id = self._resolve(conn, workspace_id, principal.user, options.session) if options.session else None
            scope = dialog_rows.ExportScope(start=start, end=end, model=options.model, session_id=session_id)
            total = dialog_rows.count_export_sessions(conn, workspace_id, principal.user, scope)
            rows = dialog_rows.export_turns(conn, workspace_id, principal.user, scope)
            written = export_rules.write_sessions(rows, writer, options, total=total, progress=progress)
        skipped = {reason: entry.model_dump() for reason, entry in written.skipped.reasons.items()}
        with self._gz.store.begin(principal.viewer()) as conn:
            dataset_id = dataset_rows.insert_dataset(
                conn,
                require_workspace_id(conn, principal.workspace),
                principal.user,
                format=options.format,
                path=str(target) if target else None,
                filters=options.model_dump(exclude={"format"}),
                session_ids=written.sessions,
                turns=written.turns,
                skipped={"sessions": skipped, "pairs": {r: e.model_dump() for r, e in written.dropped.reasons.items()}},
                at=utcnow(),
            )
        return ExportReport(
            dataset_id=dataset_id,
            format=options.format,
            path=str(target) if target else None,
            sessions=len(written.sessions),
            turns=written.turns,
            skipped=written.skipped.reasons,
            dropped=written.dropped.reasons,
        )

    def import_dialogs(self, principal: Principal, source: ImportSource, path: Path) -> ImportReport:
        """Add the conversations of another tool's log to the principal's sessions, in one transaction,
        secrets redacted; a conversation imported before is left as it is. The sources are in
        `gazette.dialogs.importers`.

        Raises:
            PermissionDeniedError: no `dialogs:write` scope.
            InvalidInputError: an unknown source; a file that is missing or not what the source says.
        """
        require_scope(principal, "dialogs:write")
        read = importers.READERS.get(source)
        if read is None:
            raise InvalidInputError(f"unknown source {source!r}: one of {', '.join(importers.READERS)}")
        conversations, skipped = read(path)
        added = turns = 0
        with self._gz.store.begin(principal.viewer()) as conn:
            workspace_id = require_workspace_id(conn, principal.workspace)
            ids = [conversation.session_id for conversation in conversations]
            existing = dialog_rows.existing_sessions(conn, workspace_id, principal.user, ids)
            for conversation in conversations:
                if conversation.session_id in existing or not conversation.turns:
                    continue
                rows = [{**turn, "content": redact_text(turn["content"])} for turn in conversation.turns]
                dialog_rows.insert_turns(conn, workspace_id, principal.user, conversation.session_id, rows)
                existing.add(conversation.session_id)
                added += 1
                turns += len(rows)
        self._gz.audit.record(
            "dialogs.imported",
            principal=principal,
            target=source,
            payload={"path": str(path), "sessions": added, "turns": turns},
            durable=True,
        )
        return ImportReport(
            source=source,
            path=str(path),
            sessions=added,
            turns=turns,
            existing=sum(1 for c in conversations if c.turns) - added,
            skipped=skipped,
        )

    # ---------------------------------------------------------------- capture

    def capture_state(self, principal: Principal) -> CaptureState:
        """Whether turns are recorded for the principal, where that comes from, and how many there are.

        Raises:
            PermissionDeniedError: no `dialogs:read` scope.
        """
        require_scope(principal, "dialogs:read")
        with self._gz.store.begin(principal.viewer()) as conn:
            workspace_id = require_workspace_id(conn, principal.workspace)
            enabled, source, changed_at = self._capture(conn, workspace_id, principal.user)
            sessions, turns = dialog_rows.count_dialogs(conn, workspace_id, principal.user)
        return CaptureState(enabled=enabled, source=source, changed_at=changed_at, sessions=sessions, turns=turns)

    def set_capture(self, principal: Principal, *, enabled: bool) -> CaptureState:
        """Record (or stop recording) the principal's turns from now on, whatever the setting says.

        Raises:
            PermissionDeniedError: no `dialogs:write` scope.
        """
        require_scope(principal, "dialogs:write")
        with self._gz.store.begin(principal.viewer()) as conn:
            workspace_id = require_workspace_id(conn, principal.workspace)
            dialog_rows.set_capture(conn, workspace_id, principal.user, enabled=enabled, at=utcnow())
        self._gz.audit.record(
            "dialogs.capture", principal=principal, target=principal.user, payload={"enabled": enabled}, durable=True
        )
        return self.capture_state(principal)

    def _capture(self, conn: Connection, workspace_id: int, user: str) -> tuple[bool, str, datetime | None]:
        choice = dialog_rows.find_capture(conn, workspace_id, user)
        if choice is not None:
            return bool(choice.enabled), CAPTURE_COMMAND, choice.updated_at
        source = self._gz.loaded.source_of("training.capture")
        return self._settings.capture, f"setting training.capture ({source})", None

    # ---------------------------------------------------------------- sessions

    def _pick_session(
        self, conn: Connection, workspace_id: int, user: str, ref: str | None, new: bool, now: datetime
    ) -> tuple[str, bool]:
        """(session id, whether it is new) for a question."""
        if ref:
            return self._resolve(conn, workspace_id, user, ref), False
        idle = self._settings.session_idle_minutes
        if not new and idle:
            latest = dialog_rows.latest_turn(conn, workspace_id, user)
            if latest is not None and now - latest.timestamp < timedelta(minutes=idle):
                return str(latest.session_id), False
        return uuid.uuid4().hex, True

    def _resolve(self, conn: Connection, workspace_id: int, user: str, ref: str) -> str:
        """The session an id or a unique prefix names.

        Raises:
            NotFoundError: none does.
            InvalidInputError: empty, or several do.
        """
        ref = ref.strip()
        if not ref:
            raise InvalidInputError("the session id is empty: `gazette dialogs list` shows your sessions")
        found = dialog_rows.sessions_matching(conn, workspace_id, user, ref)
        if ref in found:
            return ref
        if not found:
            raise NotFoundError(
                f"no dialog session {ref!r}: `gazette dialogs list` shows your sessions; "
                "`gazette ask --new` starts one",
                details={"session": ref},
            )
        if len(found) > 1:
            raise InvalidInputError(
                f"session prefix {ref!r} matches {', '.join(found)}{' …' if len(found) >= 5 else ''}: give more of it",
                details={"session": ref},
            )
        return found[0]


def final_answer(events: Generator[AskEvent, None, None]) -> Answer:
    """Iterate `Dialogs.ask` to its end and return the `Answer` (closing the generator whatever happens).

    Raises:
        ProviderError: the call failed.
    """
    try:
        for event in events:
            if isinstance(event, Answer):
                return event
    finally:
        events.close()
    raise AssertionError("the answer stream ended without its Answer")  # pragma: no cover - ask always ends so


def _close(events: Iterator[ChatEvent]) -> None:
    close = getattr(events, "close", None)
    if close is not None:
        close()


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _turn(row: Row[Any]) -> Turn:
    return Turn(
        session=row.session_id,
        turn_number=row.turn_number,
        role=row.role,
        content=row.content,
        model=row.model,
        route=row.route,
        tokens_used=row.tokens_used,
        latency_ms=row.latency_ms,
        context_window=row.context_window,
        interrupted=bool(row.interrupted),
        timestamp=row.timestamp,
    )


def _summary_of(row: Row[Any] | None) -> Summary | None:
    if row is None:
        return None
    return Summary(
        session=row.session_id,
        through_turn=row.through_turn,
        content=row.content,
        model=row.model,
        source_tokens=row.source_tokens,
        tokens=row.tokens,
        created_at=row.created_at,
    )


def _session(row: Row[Any]) -> Session:
    return Session(
        id=row.session_id,
        turns=row.turns,
        started_at=row.started_at,
        last_at=row.last_at,
        title=row.title or "",
        model=row.model,
    )


def _summary(session_id: str, turns: list[Turn]) -> Session:
    questions = [turn.content for turn in turns if turn.role == "user"]
    models = [turn.model for turn in turns if turn.model]
    return Session(
        id=session_id,
        turns=len(turns),
        started_at=turns[0].timestamp,
        last_at=turns[-1].timestamp,
        title=questions[0] if questions else "",
        model=models[-1] if models else None,
    )
