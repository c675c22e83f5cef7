"""The store on a real SQLite file and on a throw-away PostgreSQL database."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Connection, inspect, text

from gazette.app import Gazette
from gazette.errors import ConfigError, StoreUnavailableError
from gazette.settings import load_settings
from gazette.store import Store
from gazette.store.workspaces import find_workspace, list_workspaces


def test_first_use_applies_migrations_and_creates_the_default_workspace(gz: Gazette) -> None:
    assert gz.store.migrator.current() is None
    with gz.store.begin() as conn:
        workspaces = list_workspaces(conn)
    assert [w.slug for w in workspaces] == ["default"]
    assert gz.store.migrator.is_current()
    assert {"workspaces", "alembic_version"} <= set(inspect(gz.store.engine).get_table_names())


def test_migrations_are_idempotent_and_history_marks_them_applied(gz: Gazette) -> None:
    gz.store.migrator.upgrade()
    gz.store.migrator.upgrade()
    history = gz.store.migrator.history()
    assert history[0].id == "0001"
    assert all(revision.applied for revision in history)
    with gz.store.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM workspaces")).scalar() == 1


def test_concurrent_first_use_migrates_once(gz: Gazette) -> None:
    errors: list[BaseException] = []

    def use() -> None:
        try:
            with gz.store.begin() as conn:
                find_workspace(conn, "default")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with gz.store.begin() as conn:
        assert len(list_workspaces(conn)) == 1


def test_deleted_workspaces_are_not_found(gz: Gazette) -> None:
    with gz.store.begin() as conn:
        conn.execute(text("UPDATE workspaces SET deleted_at = CURRENT_TIMESTAMP WHERE slug = 'default'"))
        assert find_workspace(conn, "default") is None


def test_sqlite_store_uses_wal_foreign_keys_busy_timeout_and_sqlite_vec(sqlite_gz: Gazette, home: Path) -> None:
    with sqlite_gz.store.begin() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert str(conn.exec_driver_sql("SELECT vec_version()").scalar()).startswith("v")
        conn.exec_driver_sql("CREATE VIRTUAL TABLE probe USING fts5(body)")
    assert (home / "gazette.db").exists()


def test_processes_starting_together_on_a_new_store_migrate_once(store_url: str) -> None:
    stores = [Store(load_settings(store={"url": store_url}).settings) for _ in range(4)]
    errors: list[BaseException] = []

    def start(store: Store) -> None:
        try:
            store.ensure_migrated()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with stores[0].begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM workspaces")).scalar() == 1
    for store in stores:
        store.dispose()


def test_unreachable_postgres_is_store_unavailable() -> None:
    store = Store(load_settings(store={"url": "postgresql://nobody@127.0.0.1:1/none"}).settings)
    with pytest.raises(StoreUnavailableError, match=r"cannot reach the store at postgresql://nobody@127\.0\.0\.1:1"):
        store.ping()


def test_data_dir_that_is_not_a_directory_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="is not writable"):
        Store(load_settings(home=str(blocker / "sub")).settings)


def _insert_old_repo(gz: Gazette, conn: Connection, root: Path) -> None:
    """Repository 1, `old`, written with SQL alone (the tables as an older revision has them)."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    conn.execute(
        text(
            "INSERT INTO repos (workspace_id, name, root_path, status, file_count, chunk_count, skipped_count, "
            "error_count, created_at) VALUES (1, 'old', :root, 'indexed', 1, 1, 0, 0, :now)"
        ),
        {"root": str(root), "now": now if gz.store.backend == "postgresql" else now.replace(tzinfo=None)},
    )


def test_upgrading_a_store_with_indexed_chunks_keeps_them_searchable(gz: Gazette, tmp_path: Path) -> None:
    """0011 rebuilds the full-text index with a heading column: what was indexed before stays found."""
    gz.store.migrator.upgrade("0010")
    with gz.store.engine.begin() as conn:
        _insert_old_repo(gz, conn, tmp_path)
        conn.execute(
            text(
                "INSERT INTO files (repo_id, path, sha256, size, mtime, language, status, chunk_count) "
                "VALUES (1, 'guide.md', 'x', 10, 0, 'markdown', 'indexed', 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO chunks (file_id, repo_id, workspace_id, ordinal, start_line, end_line, heading, "
                "text, search_text, token_estimate) VALUES (1, 1, 1, 0, 1, 3, 'Refund policy', "
                "'Money back within thirty days.', 'Money back within thirty days. Refund policy', 8)"
            )
        )
        if gz.store.backend == "sqlite":
            conn.execute(
                text(
                    "INSERT INTO chunks_fts (rowid, search_text) VALUES "
                    "(1, 'Money back within thirty days. Refund policy')"
                )
            )
    gz.store.migrator.upgrade()
    [hit] = gz.index.search(gz.local_owner(), "refund")
    assert (hit.repo, hit.path, hit.heading) == ("old", "guide.md", "Refund policy")


def test_the_dialog_tables_migrate_up_and_down(gz: Gazette) -> None:
    gz.store.migrator.upgrade("0011")
    assert not {"terminal_dialogs", "dialog_capture"} & set(inspect(gz.store.engine).get_table_names())
    gz.store.migrator.upgrade()
    assert {"terminal_dialogs", "dialog_capture"} <= set(inspect(gz.store.engine).get_table_names())
    columns = {column["name"] for column in inspect(gz.store.engine).get_columns("terminal_dialogs")}
    seed = {"session_id", "turn_number", "role", "content", "model", "tokens_used", "latency_ms", "context_window"}
    assert seed | {"timestamp", "workspace_id", "user_id", "interrupted", "deleted_at"} <= columns
    gz.dialogs.record_turn(gz.local_owner(), role="user", content="kept until the downgrade")
    gz.store.migrator.downgrade("0011")
    assert gz.store.migrator.current() == "0011"
    assert not {"terminal_dialogs", "dialog_capture"} & set(inspect(gz.store.engine).get_table_names())
    gz.store.migrator.upgrade()
    assert gz.store.migrator.is_current()
    assert gz.dialogs.list_sessions(gz.local_owner()) == []


def _old_schema_chunks(gz: Gazette, root: Path) -> list[tuple[int, str, str | None, str]]:
    """Two indexed chunks written the way revision 0015 stored them (search text in `chunks`)."""
    from gazette.index.terms import search_text

    chunks: list[tuple[int, str, str | None, str]] = [
        (1, "def parseHTTPResponse(raw):\n    return raw", "def parseHTTPResponse(raw):", "src/net_client.py"),
        (2, "Refunds are paid within thirty days.", "Billing > Refunds", "docs/billing.md"),
    ]
    with gz.store.engine.begin() as conn:
        _insert_old_repo(gz, conn, root)
        for chunk_id, body, heading, path in chunks:
            conn.execute(
                text(
                    "INSERT INTO files (id, repo_id, path, sha256, size, mtime, language, status, chunk_count) "
                    "VALUES (:id, 1, :path, 'x', 10, 0, 'text', 'indexed', 1)"
                ),
                {"id": chunk_id, "path": path},
            )
            searched = search_text(body, heading=heading, path=path)
            conn.execute(
                text(
                    "INSERT INTO chunks (id, file_id, repo_id, workspace_id, ordinal, start_line, end_line, heading, "
                    "text, search_text, token_estimate) VALUES (:id, :id, 1, 1, 0, 1, 2, :heading, :text, :search, 9)"
                ),
                {"id": chunk_id, "heading": heading, "text": body, "search": searched},
            )
            if gz.store.backend == "sqlite":
                conn.execute(
                    text("INSERT INTO chunks_fts (rowid, search_text, heading) VALUES (:id, :search, :heading)"),
                    {"id": chunk_id, "search": searched, "heading": heading or ""},
                )
    return chunks


def test_the_contentless_full_text_index_migrates_up_and_down_with_data(gz: Gazette, tmp_path: Path) -> None:
    """0016 (SQLite): the search text moves out of `chunks` into a contentless FTS5 index, and back."""
    from gazette.index.terms import search_text

    gz.store.migrator.upgrade("0015")
    chunks = _old_schema_chunks(gz, tmp_path)
    gz.store.migrator.upgrade()
    columns = {column["name"] for column in inspect(gz.store.engine).get_columns("chunks")}
    assert ("search_text" in columns) == (gz.store.backend == "postgresql")
    owner = gz.local_owner()
    assert [hit.path for hit in gz.index.search(owner, "http response")] == ["src/net_client.py"]
    assert [hit.path for hit in gz.index.search(owner, "refunds")] == ["docs/billing.md"]
    if gz.store.backend == "sqlite":
        with gz.store.engine.begin() as conn:
            definition = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'chunks_fts'").scalar()
        assert "content=''" in definition
        assert "contentless_delete=1" in definition

    gz.store.migrator.downgrade("0015")
    with gz.store.engine.begin() as conn:
        restored = dict(conn.exec_driver_sql("SELECT id, search_text FROM chunks").all())
        assert restored == {
            chunk_id: search_text(body, heading=heading, path=path) for chunk_id, body, heading, path in chunks
        }
        if gz.store.backend == "sqlite":
            found = conn.exec_driver_sql("SELECT rowid, search_text FROM chunks_fts WHERE chunks_fts MATCH 'parse'")
            assert [(row[0], row[1]) for row in found] == [(1, restored[1])]

    gz.store.migrator.upgrade()
    assert [hit.path for hit in gz.index.search(owner, "parse http")] == ["src/net_client.py"]
