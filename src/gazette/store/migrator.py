"""Schema migrations (Alembic), run programmatically on a live connection."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Several replicas may start at once on PostgreSQL: one migrates, the others wait.
_PG_LOCK_KEY = 0x6A2E77E7


@dataclass(frozen=True)
class Revision:
    id: str
    message: str
    down: str | None
    applied: bool


class Migrator:
    """Applies and reports migrations for one engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._script = ScriptDirectory(str(MIGRATIONS_DIR))

    def head(self) -> str:
        head = self._script.get_current_head()
        assert head is not None, "no migrations are packaged"
        return head

    def current(self) -> str | None:
        with self._engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def is_current(self) -> bool:
        return self.current() == self.head()

    def known(self, revision: str | None) -> bool:
        if revision is None:
            return True
        return any(script.revision == revision for script in self._script.walk_revisions())

    def upgrade(self, target: str = "head") -> None:
        with self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            else:
                # Python's sqlite3 runs DDL outside any transaction unless one is begun explicitly:
                # without this, an interrupted upgrade would leave tables but no version row.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            command.upgrade(self._config(conn), target)

    def downgrade(self, target: str) -> None:
        """Undo migrations down to `target` (a revision id, or "base"): data in dropped tables is lost."""
        with self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            command.downgrade(self._config(conn), target)

    def history(self) -> list[Revision]:
        current = self.current()
        applied = {s.revision for s in self._script.iterate_revisions(current, "base")} if current else set()
        return [
            Revision(
                id=script.revision,
                message=(script.doc or "").strip(),
                down=script.down_revision if isinstance(script.down_revision, str) else None,
                applied=script.revision in applied,
            )
            for script in reversed(list(self._script.walk_revisions()))
        ]

    def _config(self, conn: Connection) -> Config:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = conn
        return config
