"""SQLite keeps the search text only in a contentless FTS5 index; `chunks.search_text` goes (PostgreSQL: no change)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-21

Before, each chunk's text was stored three times on SQLite: `chunks.text`, `chunks.search_text`
(the text plus split identifiers, heading and path terms) and FTS5's own copy of the latter.
Citations and snippets read `chunks.text`; nothing read the other two copies back, so the index
becomes contentless (`content=''`) and rows are deleted by rowid (`contentless_delete=1`, SQLite
3.43+). On PostgreSQL the generated `tsv` column still reads `search_text`, which stays.
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_TOKENIZE = "tokenize='porter unicode61'"
_DOWNGRADE_BATCH = 2000


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        return
    op.execute(
        "CREATE VIRTUAL TABLE chunks_fts_new USING fts5(search_text, heading, content='', contentless_delete=1, "
        f"{_TOKENIZE})"
    )
    # In rowid order: FTS5 appends to its pending segment instead of sorting.
    op.execute(
        "INSERT INTO chunks_fts_new(rowid, search_text, heading) "
        "SELECT id, search_text, coalesce(heading, '') FROM chunks ORDER BY id"
    )
    op.execute("DROP TABLE chunks_fts")
    op.execute("ALTER TABLE chunks_fts_new RENAME TO chunks_fts")
    op.execute("ALTER TABLE chunks DROP COLUMN search_text")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        return
    # The contentless index cannot give its text back: it is computed again from each chunk's
    # text, heading and file path, as indexing computes it.
    from gazette.index.terms import search_text

    bind = op.get_bind()
    op.execute("ALTER TABLE chunks ADD COLUMN search_text TEXT NOT NULL DEFAULT ''")
    last = 0
    while True:
        batch = bind.exec_driver_sql(
            "SELECT c.id, c.text, c.heading, f.path FROM chunks c JOIN files f ON f.id = c.file_id "
            "WHERE c.id > ? ORDER BY c.id LIMIT ?",
            (last, _DOWNGRADE_BATCH),
        ).all()
        if not batch:
            break
        bind.exec_driver_sql(
            "UPDATE chunks SET search_text = ? WHERE id = ?",
            [(search_text(text, heading=heading, path=path), chunk_id) for chunk_id, text, heading, path in batch],
        )
        last = batch[-1][0]
    op.execute(f"CREATE VIRTUAL TABLE chunks_fts_old USING fts5(search_text, heading, {_TOKENIZE})")
    op.execute(
        "INSERT INTO chunks_fts_old(rowid, search_text, heading) "
        "SELECT id, search_text, coalesce(heading, '') FROM chunks ORDER BY id"
    )
    op.execute("DROP TABLE chunks_fts")
    op.execute("ALTER TABLE chunks_fts_old RENAME TO chunks_fts")
