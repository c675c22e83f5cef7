"""repos, files, chunks; full text by FTS5 (SQLite) or a generated tsvector (PostgreSQL)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gazette.store.types import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "repos",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("root_path", sa.String(4096), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("last_indexed_at", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.String(2000), nullable=True),
        sa.Column("file_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("chunk_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("skipped_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repos")),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], name=op.f("fk_repos_workspace_id_workspaces")),
    )
    op.create_index("uq_repos_workspace_name", "repos", ["workspace_id", "name"], unique=True)
    op.create_table(
        "files",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(4096), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("mtime", sa.Float(), nullable=False),
        sa.Column("language", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error", sa.String(2000), nullable=True),
        sa.Column("chunk_count", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files")),
        sa.ForeignKeyConstraint(["repo_id"], ["repos.id"], name=op.f("fk_files_repo_id_repos"), ondelete="CASCADE"),
    )
    op.create_index("uq_files_repo_path", "files", ["repo_id", "path"], unique=True)
    op.create_table(
        "chunks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("start_line", sa.Integer(), nullable=False),
        sa.Column("end_line", sa.Integer(), nullable=False),
        sa.Column("heading", sa.String(1000), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("token_estimate", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chunks")),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"], name=op.f("fk_chunks_file_id_files"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["repo_id"], ["repos.id"], name=op.f("fk_chunks_repo_id_repos"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], name=op.f("fk_chunks_workspace_id_workspaces")),
    )
    op.create_index("ix_chunks_file", "chunks", ["file_id"])
    op.create_index("ix_chunks_repo", "chunks", ["repo_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE chunks ADD COLUMN tsv tsvector "
            "GENERATED ALWAYS AS (to_tsvector('english', search_text)) STORED"
        )
        op.execute("CREATE INDEX ix_chunks_tsv ON chunks USING GIN (tsv)")
    else:
        # rowid = chunks.id; the store writes both in the same transaction.
        op.execute("CREATE VIRTUAL TABLE chunks_fts USING fts5(search_text, tokenize='porter unicode61')")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE chunks_fts")
    op.drop_table("chunks")
    op.drop_table("files")
    op.drop_table("repos")
