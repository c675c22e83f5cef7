"""`Store`: the engine, its migrations, and the unit-of-work entry point for services."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from gazette.errors import StoreUnavailableError
from gazette.logs import get_logger
from gazette.settings import Settings, mask_url
from gazette.store.engine import backend_of, build_engine, store_url
from gazette.store.migrator import Migrator

log = get_logger("gazette.store")


@dataclass(frozen=True)
class Viewer:
    """Whose rows a transaction may see under PostgreSQL Row-Level Security."""

    user: str
    workspace: str
    admin: bool = False


# Set per transaction (the SET LOCAL form of set_config): policies read them, nothing else does.
_SET_VIEWER = text(
    "SELECT set_config('gazette.system', :system, true), set_config('gazette.user_id', :user, true), "
    "set_config('gazette.workspace', :workspace, true), set_config('gazette.admin', :admin, true)"
)


class Store:
    """The database behind one `Gazette`. Migrates itself on first use."""

    def __init__(self, settings: Settings) -> None:
        self.url = store_url(settings)
        self.backend = backend_of(self.url)
        self.engine: Engine = build_engine(settings)
        self.migrator = Migrator(self.engine)
        self._migrated = False
        self._lock = threading.Lock()

    @property
    def display_url(self) -> str:
        return mask_url(self.url)

    def ensure_migrated(self) -> None:
        """Apply pending migrations once per process.

        Raises:
            StoreUnavailableError: the database cannot be reached or migrated.
        """
        if self._migrated:
            return
        with self._lock:
            if not self._migrated:
                with self.translate_errors():
                    before = self.migrator.current()
                    self.migrator.upgrade()
                    after = self.migrator.current()
                if before != after:
                    log.info("store migrated", store=self.display_url, from_revision=before, to_revision=after)
                self._migrated = True

    @contextmanager
    def begin(self, viewer: Viewer | None = None) -> Iterator[Connection]:
        """A transaction on a migrated store.

        On PostgreSQL, Row-Level Security limits it to `viewer`'s rows; without a viewer it runs
        as the system (authentication lookups, audit appends, maintenance) and says so.

        Raises:
            StoreUnavailableError: the database cannot be reached.
        """
        self.ensure_migrated()
        with self.translate_errors(), self.engine.begin() as conn:
            if self.backend == "postgresql":
                conn.execute(
                    _SET_VIEWER,
                    {
                        "system": "off" if viewer else "on",
                        "user": viewer.user if viewer else "",
                        "workspace": viewer.workspace if viewer else "",
                        "admin": "on" if viewer and viewer.admin else "off",
                    },
                )
            yield conn

    def ping(self) -> None:
        """Raises StoreUnavailableError unless the database answers."""
        with self.translate_errors(), self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    @contextmanager
    def translate_errors(self) -> Iterator[None]:
        try:
            yield
        except OperationalError as exc:
            raise StoreUnavailableError(
                f"cannot reach the store at {self.display_url}: {_first_line(exc)}",
                details={"backend": self.backend},
            ) from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise StoreUnavailableError(f"lost the connection to {self.display_url}") from exc
            raise

    def dispose(self) -> None:
        self.engine.dispose()


def _first_line(exc: Any) -> str:
    origin = getattr(exc, "orig", None) or exc
    return str(origin).strip().splitlines()[0] if str(origin).strip() else type(origin).__name__
