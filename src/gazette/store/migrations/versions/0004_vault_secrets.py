"""vault_secrets: AES-256-GCM ciphertexts of provider credentials, with their key id

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gazette.store.types import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vault_secrets",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("nonce", sa.LargeBinary(12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vault_secrets")),
        sa.ForeignKeyConstraint(
            ["token_id"], ["personal_access_tokens.id"], name=op.f("fk_vault_secrets_token_id_personal_access_tokens")
        ),
        sa.UniqueConstraint("token_id", name=op.f("uq_vault_secrets_token_id")),
    )


def downgrade() -> None:
    op.drop_table("vault_secrets")
