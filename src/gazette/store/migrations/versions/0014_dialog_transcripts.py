"""dialog_transcripts: the raw terminal transcript of every `gazette training wrap` run, with RLS

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gazette.store.types import UtcDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

SYSTEM = "current_setting('gazette.system', true) = 'on'"
ADMIN = "current_setting('gazette.admin', true) = 'on'"
USER = "current_setting('gazette.user_id', true)"
WORKSPACE_ID = "(SELECT id FROM workspaces WHERE slug = current_setting('gazette.workspace', true))"
# As 0012 does for terminal_dialogs.
RULE = f"{SYSTEM} OR (workspace_id = {WORKSPACE_ID} AND ({ADMIN} OR user_id = {USER}))"


def upgrade() -> None:
    op.create_table(
        "dialog_transcripts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("command", sa.JSON(), nullable=False),
        sa.Column("transcript", sa.Text(), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dialog_transcripts")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_dialog_transcripts_workspace_id_workspaces")
        ),
    )
    op.create_index("ix_dialog_transcripts_session", "dialog_transcripts", ["workspace_id", "user_id", "session_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE dialog_transcripts ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE dialog_transcripts FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY gazette_visibility ON dialog_transcripts USING ({RULE}) WITH CHECK ({RULE})")


def downgrade() -> None:
    op.drop_index("ix_dialog_transcripts_session", table_name="dialog_transcripts")
    op.drop_table("dialog_transcripts")
