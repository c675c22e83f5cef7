"""`Jobs`: durable background work in the store, run by worker threads of the serving process.

A job is a row: queued -> running (heartbeat every few seconds) -> completed | failed. After a
crash, a job whose worker is gone (same host, dead PID) or whose heartbeat is stale goes back
to the queue, at most `MAX_ATTEMPTS` times; then it fails, and its kind's `abandon` hook runs
(an index job marks its repository failed). Nothing stays "running" or "indexing" forever.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from gazette.auth.models import Principal
from gazette.errors import GazetteError, NotFoundError
from gazette.logs import get_logger
from gazette.store import jobs as job_rows
from gazette.store.types import utcnow
from gazette.store.workspaces import find_workspace

if TYPE_CHECKING:
    from gazette.app import Gazette

log = get_logger("gazette.jobs")

MAX_ATTEMPTS = 3
HEARTBEAT_SECONDS = 2.0
STALE_AFTER = timedelta(seconds=30)
POLL_SECONDS = 0.5


class Job(BaseModel):
    id: str
    kind: str
    subject: str | None
    status: str
    attempts: int
    error: str | None
    result: Any
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


RunJob = Callable[[Principal, dict[str, Any]], dict[str, Any]]
AbandonJob = Callable[[Principal, dict[str, Any], str], None]


@dataclass(frozen=True)
class Kind:
    run: RunJob
    abandon: AbandonJob


class Jobs:
    def __init__(self, gz: Gazette) -> None:
        self._gz = gz
        self._kinds: dict[str, Kind] = {}
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    def register(self, kind: str, run: RunJob, abandon: AbandonJob) -> None:
        """`run(principal, payload)` does the work; `abandon(principal, payload, message)` cleans up
        after a job that crashed too often."""
        self._kinds[kind] = Kind(run=run, abandon=abandon)

    def submit(self, principal: Principal, kind: str, payload: dict[str, Any], *, subject: str | None = None) -> Job:
        """Queue a job that will run as `principal`."""
        job_id = uuid.uuid4().hex
        with self._gz.store.begin() as conn:
            workspace = find_workspace(conn, principal.workspace)
            if workspace is None:
                raise NotFoundError(f"workspace {principal.workspace!r} does not exist")
            job_rows.insert_job(
                conn,
                {
                    "id": job_id,
                    "workspace_id": workspace.id,
                    "kind": kind,
                    "subject": subject,
                    "status": "queued",
                    "payload": {"principal": principal.model_dump(mode="json"), **payload},
                    "created_by": principal.user,
                    "created_at": utcnow(),
                },
            )
        return self.get(principal, job_id)

    def get(self, principal: Principal, job_id: str) -> Job:
        """Raises NotFoundError unless the job exists in the principal's workspace."""
        with self._gz.store.begin() as conn:
            row = job_rows.get_job(conn, job_id)
            workspace = find_workspace(conn, principal.workspace)
        if row is None or workspace is None or row.workspace_id != workspace.id:
            raise NotFoundError(f"no job {job_id!r}")
        return _job(row)

    # ---------------------------------------------------------------- workers

    def start(self, workers: int = 1) -> None:
        """Recover what a previous process left behind, then run `workers` threads."""
        self.recover()
        self._stop.clear()
        for number in range(workers):
            thread = threading.Thread(target=self._work, name=f"gazette-job-{number}", daemon=True)
            thread.start()
            self._workers.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for thread in self._workers:
            thread.join(timeout)
        self._workers = []

    def run_pending(self) -> int:
        """Run queued jobs in this thread until none is left (for tests and one-shot commands)."""
        count = 0
        while self._run_one():
            count += 1
        return count

    def recover(self) -> int:
        """Re-queue or fail jobs whose worker died; return how many were touched."""
        now = utcnow()
        abandoned = []
        with self._gz.store.begin() as conn:
            stale = [row for row in job_rows.running_jobs(conn) if _worker_gone(row.worker, row.heartbeat_at, now)]
            for row in stale:
                if row.attempts < MAX_ATTEMPTS:
                    log.warning("re-queueing an interrupted job", job=row.id, kind=row.kind, attempts=row.attempts)
                    job_rows.requeue(conn, row.id)
                else:
                    job_rows.finish(conn, row.id, status="failed", now=now, error="interrupted too many times")
                    abandoned.append(row)
        # Clean-up hooks open transactions of their own: run them after this one has committed.
        for row in abandoned:
            self._abandon(row, "indexing was interrupted too many times; run it again")
        with self._gz.store.begin() as conn:
            job_rows.clear_stale_indexing(conn)
        return len(stale)

    def _work(self) -> None:
        since_recovery = 0.0
        while not self._stop.is_set():
            try:
                if not self._run_one():
                    self._stop.wait(POLL_SECONDS)
                    since_recovery += POLL_SECONDS
                if since_recovery >= STALE_AFTER.total_seconds() / 3:
                    self.recover()
                    since_recovery = 0.0
            except Exception:
                log.exception("job worker error")
                self._stop.wait(POLL_SECONDS)

    def _run_one(self) -> bool:
        with self._gz.store.begin() as conn:
            row = job_rows.claim_next(conn, worker=self.worker_id, now=utcnow(), kinds=list(self._kinds))
        if row is None:
            return False
        kind = self._kinds[row.kind]
        principal = Principal.model_validate(row.payload["principal"])
        beating = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(row.id, beating), daemon=True)
        beat.start()
        try:
            result = kind.run(principal, row.payload)
        except GazetteError as exc:
            self._finish(row.id, "failed", error=exc.message)
        except Exception as exc:
            log.exception("job failed", job=row.id, kind=row.kind)
            self._finish(row.id, "failed", error=f"internal error: {type(exc).__name__}")
        else:
            self._finish(row.id, "completed", result=result)
        finally:
            beating.set()
            beat.join()
        return True

    def _heartbeat(self, job_id: str, done: threading.Event) -> None:
        while not done.wait(HEARTBEAT_SECONDS):
            try:
                with self._gz.store.begin() as conn:
                    job_rows.heartbeat(conn, job_id, utcnow())
            except Exception:
                log.exception("job heartbeat failed", job=job_id)

    def _finish(self, job_id: str, status: str, *, result: Any = None, error: str | None = None) -> None:
        with self._gz.store.begin() as conn:
            job_rows.finish(conn, job_id, status=status, now=utcnow(), result=result, error=error)

    def _abandon(self, row: Any, message: str) -> None:
        kind = self._kinds.get(row.kind)
        if kind is not None:
            kind.abandon(Principal.model_validate(row.payload["principal"]), row.payload, message)


def _worker_gone(worker: str | None, heartbeat: datetime | None, now: datetime) -> bool:
    if heartbeat is None or now - heartbeat > STALE_AFTER:
        return True
    host, _, rest = (worker or "").partition(":")
    pid = rest.split(":", 1)[0]
    if host == socket.gethostname() and pid.isdigit() and int(pid) != os.getpid():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True  # a process of this machine that no longer exists
        except PermissionError:
            return False
    return False


def _job(row: Any) -> Job:
    return Job.model_validate(row._asdict())  # columns map 1:1 (extra ones ignored)
