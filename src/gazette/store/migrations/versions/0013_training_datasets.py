"""training_datasets: every `gazette training export` (format, path, filters, sessions, skips), with RLS

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gazette.store.types import UtcDateTime

revision = "0013"
down_revision = "0012"
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
        "training_datasets",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("format", sa.String(20), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("session_ids", sa.JSON(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_datasets")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_training_datasets_workspace_id_workspaces")
        ),
    )
    op.create_index("ix_training_datasets_user", "training_datasets", ["workspace_id", "user_id", "created_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE training_datasets ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE training_datasets FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY gazette_visibility ON training_datasets USING ({RULE}) WITH CHECK ({RULE})")


def downgrade() -> None:
    op.drop_index("ix_training_datasets_user", table_name="training_datasets")
    op.drop_table("training_datasets")
