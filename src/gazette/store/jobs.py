"""Queries on `jobs`: insert, claim one atomically, heartbeat, finish, recover."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, text, update

from gazette.store.tables import jobs


def insert_job(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(jobs).values(**values))


def get_job(conn: Connection, job_id: str) -> Any:
    return conn.execute(select(jobs).where(jobs.c.id == job_id)).first()


def claim_next(conn: Connection, *, worker: str, now: datetime, kinds: list[str]) -> Any:
    """Mark the oldest queued job of `kinds` running for `worker` and return it (None when idle)."""
    if conn.dialect.name == "postgresql":
        candidate = conn.execute(
            select(jobs.c.id)
            .where(jobs.c.status == "queued", jobs.c.kind.in_(kinds))
            .order_by(jobs.c.created_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).scalar_one_or_none()
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock up front: two workers never take the same job
        candidate = conn.execute(
            select(jobs.c.id)
            .where(jobs.c.status == "queued", jobs.c.kind.in_(kinds))
            .order_by(jobs.c.created_at)
            .limit(1)
        ).scalar_one_or_none()
    if candidate is None:
        return None
    conn.execute(
        update(jobs)
        .where(jobs.c.id == candidate)
        .values(status="running", worker=worker, started_at=now, heartbeat_at=now, attempts=jobs.c.attempts + 1)
    )
    return get_job(conn, candidate)


def heartbeat(conn: Connection, job_id: str, now: datetime) -> None:
    conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.status == "running").values(heartbeat_at=now))


def finish(
    conn: Connection, job_id: str, *, status: str, now: datetime, result: Any = None, error: str | None = None
) -> None:
    conn.execute(
        update(jobs).where(jobs.c.id == job_id).values(status=status, finished_at=now, result=result, error=error)
    )


def running_jobs(conn: Connection) -> list[Any]:
    return list(conn.execute(select(jobs).where(jobs.c.status == "running")))


def requeue(conn: Connection, job_id: str) -> None:
    conn.execute(update(jobs).where(jobs.c.id == job_id).values(status="queued", worker=None, heartbeat_at=None))


def clear_stale_indexing(conn: Connection) -> int:
    """Repositories left `indexing` with no queued or running index job: marked failed."""
    result = conn.execute(
        text(
            "UPDATE repos SET status = 'failed', last_error = 'indexing was interrupted; run it again' "
            "WHERE status = 'indexing' AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.kind = 'index' "
            "AND jobs.status IN ('queued', 'running') AND jobs.workspace_id = repos.workspace_id "
            "AND jobs.subject = repos.name)"
        )
    )
    return int(result.rowcount or 0)
