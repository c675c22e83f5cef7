"""Full text weights headings above body text: a second FTS5 column (SQLite), setweight A (PostgreSQL)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-21
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_chunks_tsv")
        op.execute("ALTER TABLE chunks DROP COLUMN tsv")
        op.execute(
            "ALTER TABLE chunks ADD COLUMN tsv tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('english', coalesce(heading, '')), 'A') || "
            "setweight(to_tsvector('english', search_text), 'D')) STORED"
        )
        op.execute("CREATE INDEX ix_chunks_tsv ON chunks USING GIN (tsv)")
        return
    op.execute("CREATE VIRTUAL TABLE chunks_fts_new USING fts5(search_text, heading, tokenize='porter unicode61')")
    op.execute(
        "INSERT INTO chunks_fts_new(rowid, search_text, heading) "
        "SELECT id, search_text, coalesce(heading, '') FROM chunks"
    )
    op.execute("DROP TABLE chunks_fts")
    op.execute("ALTER TABLE chunks_fts_new RENAME TO chunks_fts")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_chunks_tsv")
        op.execute("ALTER TABLE chunks DROP COLUMN tsv")
        op.execute(
            "ALTER TABLE chunks ADD COLUMN tsv tsvector "
            "GENERATED ALWAYS AS (to_tsvector('english', search_text)) STORED"
        )
        op.execute("CREATE INDEX ix_chunks_tsv ON chunks USING GIN (tsv)")
        return
    op.execute("CREATE VIRTUAL TABLE chunks_fts_old USING fts5(search_text, tokenize='porter unicode61')")
    op.execute("INSERT INTO chunks_fts_old(rowid, search_text) SELECT id, search_text FROM chunks")
    op.execute("DROP TABLE chunks_fts")
    op.execute("ALTER TABLE chunks_fts_old RENAME TO chunks_fts")
