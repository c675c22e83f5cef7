"""Engines for the two backends: SQLite through sqlean (extensions load), PostgreSQL through psycopg."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from gazette.errors import ConfigError
from gazette.settings import Settings, mask_url

SQLITE_FILE_NAME = "gazette.db"


def store_url(settings: Settings) -> str:
    """The configured URL, or the embedded SQLite file in the data directory."""
    if settings.store.url:
        return settings.store.url
    return f"sqlite:///{settings.data_dir / SQLITE_FILE_NAME}"


def backend_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def build_engine(settings: Settings) -> Engine:
    """Create the engine for the configured store.

    Raises:
        ConfigError: invalid URL, missing driver, or a data directory that cannot be written.
    """
    url = store_url(settings)
    if backend_of(url) == "sqlite":
        return _sqlite_engine(url, settings)
    return _postgres_engine(url, settings)


def _sqlite_engine(url: str, settings: Settings) -> Engine:
    import sqlean

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"invalid store URL {url!r}") from None
    database = parsed.database or ""
    if database and database != ":memory:":
        _ensure_writable_dir(Path(database).expanduser().parent)
    engine = create_engine(
        parsed.set(drivername="sqlite+pysqlite"),
        module=sqlean,
        connect_args={"check_same_thread": False, "timeout": settings.store.busy_timeout_ms / 1000},
    )
    busy_timeout = settings.store.busy_timeout_ms

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        load_sqlite_vec(dbapi_connection)

    return engine


def load_sqlite_vec(dbapi_connection: Any) -> None:
    """Load the sqlite-vec extension into a raw sqlean connection."""
    import sqlite_vec

    dbapi_connection.enable_load_extension(True)
    try:
        sqlite_vec.load(dbapi_connection)
    finally:
        dbapi_connection.enable_load_extension(False)


def _postgres_engine(url: str, settings: Settings) -> Engine:
    if importlib.util.find_spec("psycopg") is None:
        raise ConfigError("PostgreSQL support is not installed: pip install 'gazette[postgres]' (or 'gazette[all]')")
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"invalid store URL {mask_url(url)!r}") from None
    return create_engine(
        parsed.set(drivername="postgresql+psycopg"),
        pool_size=settings.store.pool_size,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 5},
    )


def _ensure_writable_dir(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / ".gazette-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"data directory {directory} is not writable ({exc.strerror or exc}); "
            "set GAZETTE_HOME to a writable directory"
        ) from None
