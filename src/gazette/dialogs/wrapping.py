"""Recording an interactive terminal program run under `gazette training wrap` (part of `Dialogs`;
the pseudo-terminal is `gazette.terminal`, the segmentation `gazette.dialogs.wrap`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from gazette import terminal
from gazette.auth.models import Principal
from gazette.auth.service import require_scope
from gazette.dialogs.base import DialogsBase, log
from gazette.dialogs.models import (
    Transcript,
    WrapReport,
)
from gazette.dialogs.wrap_run import Recording
from gazette.errors import InvalidInputError
from gazette.store import transcripts as transcript_rows
from gazette.store.workspaces import require_workspace_id


class Wrapping(DialogsBase):
    """`Dialogs.wrap` and `Dialogs.list_transcripts`."""

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
