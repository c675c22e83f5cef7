"""Staying fresh: watching files, and git hooks that re-index."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gazette.app import Gazette
from gazette.errors import InvalidInputError
from gazette.index import IndexReport
from gazette.index.freshness import MARKER, install_hooks, watch
from tests.test_index import make_repo


def test_watch_reindexes_after_a_change_and_stops_on_request(sqlite_gz: Gazette, tmp_path: Path) -> None:
    root = make_repo(tmp_path / "project")
    owner = sqlite_gz.local_owner()
    sqlite_gz.index.index_repo(owner, root, "project")
    stop, reindexed = threading.Event(), threading.Event()
    reports: list[IndexReport] = []

    def record(report: IndexReport) -> None:
        reports.append(report)
        reindexed.set()

    thread = threading.Thread(
        target=watch, args=(sqlite_gz, owner, ["project"]), kwargs={"stop": stop, "on_reindex": record}, daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 20
    while not reindexed.wait(1.0):  # (re)write until the watcher, once it is listening, sees the change
        assert time.monotonic() < deadline, "no re-index after the change"
        (root / "notes.txt").write_text("Notes about chargebacks now.\n")
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert reports[0].indexed == 1
    assert sqlite_gz.index.search(owner, "chargebacks")[0].path == "notes.txt"


def test_watch_refuses_unknown_repositories(sqlite_gz: Gazette) -> None:
    with pytest.raises(InvalidInputError, match="no repositories to watch"):
        watch(sqlite_gz, sqlite_gz.local_owner())
    with pytest.raises(InvalidInputError, match="no repository named ghost"):
        watch(sqlite_gz, sqlite_gz.local_owner(), ["ghost"])


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_hooks_are_installed_once_keep_existing_ones_and_reindex_on_commit(
    sqlite_gz: Gazette, tmp_path: Path, home: Path
) -> None:
    root = make_repo(tmp_path / "project")
    git = ["git", "-C", str(root), "-c", "user.email=t@example.invalid", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (root / ".git" / "hooks" / "post-commit").write_text("#!/bin/sh\necho existing hook\n")
    owner = sqlite_gz.local_owner()
    sqlite_gz.index.index_repo(owner, root, "project")
    touched = install_hooks(sqlite_gz, owner, "project", command=f"{sys.executable} -m gazette")
    assert {path.name for path in touched} == {"post-merge", "post-checkout", "post-commit"}
    assert install_hooks(sqlite_gz, owner, "project") == []  # idempotent
    post_commit = (root / ".git" / "hooks" / "post-commit").read_text()
    assert "echo existing hook" in post_commit
    assert post_commit.count(MARKER) == 1
    assert os.access(root / ".git" / "hooks" / "post-commit", os.X_OK)

    (root / "notes.txt").write_text("Notes about escrow.\n")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "change"], check=True, env={**os.environ, "GAZETTE_HOME": str(home)})
    deadline = time.monotonic() + 30
    while not sqlite_gz.index.search(owner, "escrow"):
        assert time.monotonic() < deadline, "the post-commit hook did not re-index"
        time.sleep(0.2)


def test_hooks_need_a_git_work_tree(sqlite_gz: Gazette, tmp_path: Path) -> None:
    sqlite_gz.index.index_repo(sqlite_gz.local_owner(), make_repo(tmp_path / "project"), "project")
    with pytest.raises(InvalidInputError, match="not a git work tree"):
        install_hooks(sqlite_gz, sqlite_gz.local_owner(), "project")


def test_serve_watch_keeps_registered_repositories_fresh(tmp_path: Path, home: Path) -> None:
    import httpx

    from tests.servers import gazette_command, start_server

    root = make_repo(tmp_path / "project")
    subprocess.run(gazette_command("index", "repo", str(root), "--name", "project"), check=True, capture_output=True)
    running = start_server(tmp_path, "--watch")
    try:
        deadline = time.monotonic() + 30
        while True:
            (root / "notes.txt").write_text("Notes about escrow accounts.\n")
            hits = httpx.get(
                f"{running.http_url}/v1/repos/project/search", params={"q": "escrow"}, headers=running.headers
            ).json()
            if hits:
                break
            assert time.monotonic() < deadline, "serve --watch did not re-index"
            time.sleep(0.5)
        assert hits[0]["path"] == "notes.txt"
    finally:
        running.stop()
