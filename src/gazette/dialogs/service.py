"""`Dialogs`: the dialog memory. Asks a model, records every turn (secrets redacted), lists, shows and
deletes sessions; its other parts fit earlier turns into a context block and distil them
(`history.py`), record wrapped terminal programs (`wrapping.py`) and export and import training
data (`training_data.py`).

Dialogs are personal: every method works on the principal's own turns, admins included. Recording
follows the user's choice (`set_capture`), else the `training.capture` setting; `ask(capture=False)`
records nothing. Deleting a session hides it (`deleted_at`) from every read."""

from __future__ import annotations

import time
import uuid
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from gazette.auth.models import Principal
from gazette.auth.service import require_scope
from gazette.dialogs import code_context
from gazette.dialogs.base import _session, _summary, _turn, log
from gazette.dialogs.code_context import CodeContext
from gazette.dialogs.context import estimate_tokens, fit
from gazette.dialogs.history import History
from gazette.dialogs.models import (
    Answer,
    AskEvent,
    AskStarted,
    CaptureState,
    Dialog,
    Session,
    Turn,
)
from gazette.dialogs.training_data import TrainingData
from gazette.dialogs.wrapping import Wrapping
from gazette.errors import InvalidInputError
from gazette.providers.models import ChatDone, ChatEvent, ChatMessage, ChatRequest, Route, TextDelta
from gazette.redaction import redact_text
from gazette.store import dialogs as dialog_rows
from gazette.store import summaries as summary_rows
from gazette.store import transcripts as transcript_rows
from gazette.store.types import utcnow
from gazette.store.workspaces import require_workspace_id

ROLES = ("system", "user", "assistant")
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


class Dialogs(Wrapping, History, TrainingData):
    """The dialog memory of one `Gazette` (`gz.dialogs`): asking, recording and reading here; context
    blocks and summaries in `history.py`, wrapped programs in `wrapping.py`, export and import in
    `training_data.py`, over `base.py`."""

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
