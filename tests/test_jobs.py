"""Durable index jobs: the seed's flow and events, failures, and recovery after a crash."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from gazette.api import create_app
from gazette.app import Gazette
from gazette.events import Event
from gazette.store import jobs as job_rows
from gazette.store.types import utcnow
from tests.servers import start_server
from tests.test_index import make_repo


def collect(gz: Gazette) -> list[Event]:
    seen: list[Event] = []
    gz.events.subscribe(seen.append)
    return seen


def test_a_queued_index_job_runs_and_publishes_the_seeds_events(gz: Gazette, tmp_path: Path) -> None:
    events = collect(gz)
    job = gz.index.submit(gz.local_owner(), make_repo(tmp_path / "project"), "project")
    assert job.status == "queued"
    assert gz.index.status(gz.local_owner(), "project").status == "indexing"
    assert gz.jobs.run_pending() == 1
    done = gz.jobs.get(gz.local_owner(), job.id)
    assert (done.status, done.result["files"], done.attempts) == ("completed", 5, 1)
    assert [event.name for event in events] == ["repo.created", "index.completed"]
    assert gz.index.status(gz.local_owner(), "project").status == "indexed"


def test_a_failing_index_job_fails_the_repository_with_its_message(gz: Gazette, tmp_path: Path) -> None:
    events = collect(gz)
    job = gz.index.submit(gz.local_owner(), tmp_path / "missing", "ghost")
    gz.jobs.run_pending()
    failed = gz.jobs.get(gz.local_owner(), job.id)
    assert failed.status == "failed"
    assert "does not exist" in (failed.error or "")
    assert gz.index.status(gz.local_owner(), "ghost").status == "failed"
    assert events[-1].name == "index.failed"


def _orphan_running_job(gz: Gazette, job_id: str, *, attempts: int) -> None:
    """Make a job look claimed by a process of this host that has died."""
    from sqlalchemy import update

    from gazette.store.tables import jobs

    with gz.store.begin() as conn:
        conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id)
            .values(
                status="running", worker=f"{socket.gethostname()}:999999:dead", heartbeat_at=utcnow(), attempts=attempts
            )
        )


def test_a_job_whose_worker_died_is_resumed(gz: Gazette, tmp_path: Path) -> None:
    job = gz.index.submit(gz.local_owner(), make_repo(tmp_path / "project"), "project")
    _orphan_running_job(gz, job.id, attempts=1)
    assert gz.jobs.recover() == 1
    gz.jobs.run_pending()
    assert gz.jobs.get(gz.local_owner(), job.id).status == "completed"
    assert gz.index.status(gz.local_owner(), "project").status == "indexed"


def test_a_job_interrupted_too_often_fails_and_never_leaves_the_repo_indexing(gz: Gazette, tmp_path: Path) -> None:
    job = gz.index.submit(gz.local_owner(), make_repo(tmp_path / "project"), "project")
    _orphan_running_job(gz, job.id, attempts=3)
    gz.jobs.recover()
    assert gz.jobs.get(gz.local_owner(), job.id).status == "failed"
    status = gz.index.status(gz.local_owner(), "project")
    assert status.status == "failed"
    assert "interrupted" in (status.message or "")


def test_a_repo_left_indexing_without_any_job_is_failed_on_recovery(gz: Gazette, tmp_path: Path) -> None:
    from sqlalchemy import update

    from gazette.store.tables import repos

    gz.index.index_repo(gz.local_owner(), make_repo(tmp_path / "project"), "project")
    with gz.store.begin() as conn:
        conn.execute(update(repos).values(status="indexing"))
        assert job_rows.clear_stale_indexing(conn) == 1
    assert gz.index.status(gz.local_owner(), "project").status == "failed"


def test_http_post_index_repo_answers_202_with_a_job(sqlite_gz: Gazette, tmp_path: Path) -> None:
    root = make_repo(tmp_path / "project")
    token = sqlite_gz.auth.add_token(
        sqlite_gz.local_owner(), name="writer", scopes=["memory:write", "memory:read"]
    ).token
    with TestClient(create_app(sqlite_gz), headers={"X-API-Key": token}) as client:
        accepted = client.post("/v1/index/repo", json={"repo_id": "project", "path": str(root)})
        assert accepted.status_code == 202
        body = accepted.json()
        assert client.get("/v1/status/project").json()["status"] == "indexing"
        sqlite_gz.jobs.run_pending()
        assert client.get(body["job_url"]).json()["status"] == "completed"
        assert client.get(body["status_url"]).json()["status"] == "indexed"
        assert client.get("/v1/jobs/nope").status_code == 404


def test_kill_9_mid_index_then_restart_leaves_no_repo_indexing(tmp_path: Path) -> None:
    root = tmp_path / "big"
    for number in range(3000):
        folder = root / f"pkg{number // 100}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"module_{number}.py").write_text(
            f"def function_{number}(value):\n    return value * {number}\n" * 30
        )
    first = start_server(tmp_path)
    headers = first.headers
    job = httpx.post(f"{first.http_url}/v1/index/repo", json={"name": "big", "path": str(root)}, headers=headers).json()
    deadline = time.monotonic() + 30
    while httpx.get(f"{first.http_url}{job['job_url']}", headers=headers).json()["status"] != "running":
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    os.kill(first.process.pid, signal.SIGKILL)
    first.process.wait()
    second = start_server(tmp_path)
    try:
        deadline = time.monotonic() + 90
        while True:
            status = httpx.get(f"{second.http_url}/v1/status/big", headers=headers).json()["status"]
            if status != "indexing":
                break
            assert time.monotonic() < deadline, "the repository stayed indexing after the restart"
            time.sleep(0.2)
        assert status == "indexed"
        final = httpx.get(f"{second.http_url}{job['job_url']}", headers=headers).json()
        assert (final["status"], final["attempts"]) == ("completed", 2)
    finally:
        second.stop()
