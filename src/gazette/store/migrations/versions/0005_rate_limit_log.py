"""rate_limit_log: every call Gazette makes to a provider, with its status

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gazette.store.types import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(50), nullable=False),
        sa.Column("endpoint", sa.String(500), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit_log")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_rate_limit_log_workspace_id_workspaces")
        ),
        sa.ForeignKeyConstraint(
            ["token_id"], ["personal_access_tokens.id"], name=op.f("fk_rate_limit_log_token_id_personal_access_tokens")
        ),
    )
    op.create_index("ix_rate_limit_log_provider_created", "rate_limit_log", ["provider", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_rate_limit_log_provider_created", table_name="rate_limit_log")
    op.drop_table("rate_limit_log")
