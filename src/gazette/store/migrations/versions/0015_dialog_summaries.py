"""dialog_summaries: older turns of a session distilled by a cheaper model, with RLS

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gazette.store.types import UtcDateTime

revision = "0015"
down_revision = "0014"
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
        "dialog_summaries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("through_turn", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("model", sa.String(300), nullable=False),
        sa.Column("source_tokens", sa.Integer(), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dialog_summaries")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_dialog_summaries_workspace_id_workspaces")
        ),
    )
    op.create_index(
        "uq_dialog_summaries_through",
        "dialog_summaries",
        ["workspace_id", "user_id", "session_id", "through_turn"],
        unique=True,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE dialog_summaries ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE dialog_summaries FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY gazette_visibility ON dialog_summaries USING ({RULE}) WITH CHECK ({RULE})")


def downgrade() -> None:
    op.drop_index("uq_dialog_summaries_through", table_name="dialog_summaries")
    op.drop_table("dialog_summaries")
