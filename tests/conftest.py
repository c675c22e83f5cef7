"""Shared fixtures: isolated settings, real SQLite files, throw-away PostgreSQL databases, a running server.

PostgreSQL and Redis tests run against the servers at GAZETTE_TEST_POSTGRES / GAZETTE_TEST_REDIS
(defaults 127.0.0.1). Where they are absent the tests are skipped with the reason printed
(`-ra`); under CI (CI=true) absence is a failure, never a skip.
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from gazette.app import Gazette
from gazette.settings import ALIASES, load_settings
from tests.servers import RunningServer, start_server

PG_ADMIN_URL = os.environ.get("GAZETTE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("GAZETTE_TEST_REDIS", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(what: str, reason: str) -> None:
    message = f"{what} unavailable ({reason})"
    if IN_CI:
        pytest.fail(f"{message}: CI must run these tests")
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's GAZETTE_* variables (nor OLLAMA_HOST & co.), .env or data directory."""
    for name in list(os.environ):
        if name.startswith("GAZETTE_") or name in ALIASES:
            monkeypatch.delenv(name)
    monkeypatch.setenv("GAZETTE_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture(scope="session")
def postgres_admin() -> str:
    try:
        import psycopg
    except ImportError:
        _unavailable("PostgreSQL", "psycopg is not installed: pip install 'gazette[postgres]'")
    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=3, autocommit=True).close()
    except psycopg.Error as exc:
        _unavailable("PostgreSQL", f"{PG_ADMIN_URL}: {str(exc).strip().splitlines()[0]}")
    return PG_ADMIN_URL


@pytest.fixture
def postgres_url(postgres_admin: str) -> Iterator[str]:
    """A fresh, empty database for this test, dropped afterwards."""
    import psycopg

    name = f"gazette_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = postgres_admin.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(postgres_admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pgvector_admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL 16 with pgvector from the `pgserver` wheel, for this test session (STACK.md)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR is not set
        try:
            import pgserver
        except ImportError:
            _unavailable("pgvector", "pgserver is not installed: uv sync --group dev")
        server = pgserver.get_server(tmp_path_factory.mktemp("pgvector"), cleanup_mode="stop")
    yield server.get_uri()
    server.cleanup()


@pytest.fixture
def pgvector_url(pgvector_admin: str) -> Iterator[str]:
    """A fresh database with pgvector for this test, dropped afterwards."""
    import psycopg

    name = f"gazette_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pgvector_admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pgvector_admin.replace("/postgres?", f"/{name}?", 1)
    with psycopg.connect(pgvector_admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("pgvector", marks=pytest.mark.postgres)])
def vector_store_url(request: pytest.FixtureRequest, home: Path) -> str:
    """Vector tests run on sqlite-vec and on PostgreSQL with pgvector."""
    if request.param == "sqlite":
        return f"sqlite:///{home / 'gazette.db'}"
    return str(request.getfixturevalue("pgvector_url"))


@pytest.fixture
def redis_url() -> str:
    try:
        import redis
    except ImportError:
        _unavailable("Redis", "redis is not installed: pip install 'gazette[redis]'")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        _unavailable("Redis", f"{REDIS_URL}: {exc}")
    return REDIS_URL


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, home: Path) -> str:
    """Each store test runs on a SQLite file and on a throw-away PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{home / 'gazette.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def gz(store_url: str) -> Iterator[Gazette]:
    loaded = load_settings(store={"url": store_url})
    gazette = Gazette(loaded.settings, loaded=loaded)
    yield gazette
    gazette.close()


@pytest.fixture
def sqlite_gz(home: Path) -> Iterator[Gazette]:
    gazette = Gazette.from_settings()
    yield gazette
    gazette.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    running = start_server(tmp_path)
    yield running
    running.stop()
