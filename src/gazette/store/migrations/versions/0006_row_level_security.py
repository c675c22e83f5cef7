"""Row-Level Security on PostgreSQL for per-user and per-workspace tables (no-op on SQLite)

A row is visible when the transaction runs as the system (`gazette.system = on`), or when it
belongs to the viewer's workspace and to the viewer (or the viewer is an admin). The store sets
these per transaction with set_config(..., true); a connection that sets nothing sees nothing.
Policies are FORCEd so they bind the table owner too; superusers still bypass them, so deploy
Gazette with a role that is not a superuser.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SYSTEM = "current_setting('gazette.system', true) = 'on'"
ADMIN = "current_setting('gazette.admin', true) = 'on'"
USER = "current_setting('gazette.user_id', true)"
WORKSPACE_ID = "(SELECT id FROM workspaces WHERE slug = current_setting('gazette.workspace', true))"

POLICIES = {
    "personal_access_tokens": f"{SYSTEM} OR (workspace_id = {WORKSPACE_ID} AND ({ADMIN} OR user_id = {USER}))",
    "rate_limit_log": f"{SYSTEM} OR (workspace_id = {WORKSPACE_ID} AND ({ADMIN} OR user_id = {USER}))",
    # Visible through the credential it belongs to (that table's policy applies inside).
    "vault_secrets": f"{SYSTEM} OR EXISTS (SELECT 1 FROM personal_access_tokens p WHERE p.id = token_id)",
    "audit_log": f"{SYSTEM} OR (workspace = current_setting('gazette.workspace', true) AND {ADMIN})",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, rule in POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY gazette_visibility ON {table} USING ({rule}) WITH CHECK ({rule})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in POLICIES:
        op.execute(f"DROP POLICY IF EXISTS gazette_visibility ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
