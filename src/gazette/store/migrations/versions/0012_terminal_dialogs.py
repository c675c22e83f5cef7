"""terminal_dialogs (every turn of `gazette ask`) and dialog_capture (a user's capture choice), with RLS

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gazette.store.types import UtcDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

SYSTEM = "current_setting('gazette.system', true) = 'on'"
ADMIN = "current_setting('gazette.admin', true) = 'on'"
USER = "current_setting('gazette.user_id', true)"
WORKSPACE_ID = "(SELECT id FROM workspaces WHERE slug = current_setting('gazette.workspace', true))"
# As 0006 does for the other per-user tables.
RULE = f"{SYSTEM} OR (workspace_id = {WORKSPACE_ID} AND ({ADMIN} OR user_id = {USER}))"
TABLES = ("terminal_dialogs", "dialog_capture")


def upgrade() -> None:
    op.create_table(
        "terminal_dialogs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("turn_number", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("model", sa.String(300), nullable=True),
        sa.Column("route", sa.String(200), nullable=True),
        sa.Column("tokens_used", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("context_window", sa.Integer(), nullable=True),
        sa.Column("interrupted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("timestamp", UtcDateTime(), nullable=False),
        sa.Column("deleted_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terminal_dialogs")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_terminal_dialogs_workspace_id_workspaces")
        ),
    )
    op.create_index(
        "uq_terminal_dialogs_turn",
        "terminal_dialogs",
        ["workspace_id", "user_id", "session_id", "turn_number"],
        unique=True,
    )
    op.create_index("ix_terminal_dialogs_recent", "terminal_dialogs", ["workspace_id", "user_id", "timestamp"])
    op.create_table(
        "dialog_capture",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dialog_capture")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_dialog_capture_workspace_id_workspaces")
        ),
    )
    op.create_index("uq_dialog_capture_user", "dialog_capture", ["workspace_id", "user_id"], unique=True)
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY gazette_visibility ON {table} USING ({RULE}) WITH CHECK ({RULE})")


def downgrade() -> None:
    # Dropping a table drops its policies with it.
    op.drop_index("uq_dialog_capture_user", table_name="dialog_capture")
    op.drop_table("dialog_capture")
    op.drop_index("ix_terminal_dialogs_recent", table_name="terminal_dialogs")
    op.drop_index("uq_terminal_dialogs_turn", table_name="terminal_dialogs")
    op.drop_table("terminal_dialogs")
