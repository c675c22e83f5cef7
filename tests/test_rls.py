"""PostgreSQL Row-Level Security, with the application connected as a role that is not a superuser."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from gazette.app import Gazette
from gazette.auth import SCOPES, Principal, Role
from gazette.settings import load_settings
from gazette.store import Viewer

pytestmark = pytest.mark.postgres

RLS_TABLES = (
    "personal_access_tokens",
    "vault_secrets",
    "audit_log",
    "rate_limit_log",
    "terminal_dialogs",
    "dialog_capture",
    "training_datasets",
    "dialog_transcripts",
    "dialog_summaries",
)


def person(user: str) -> Principal:
    return Principal(
        user=user, workspace="default", role=Role.personal, scopes=frozenset(SCOPES) - {"admin"}, kind="token"
    )


@pytest.fixture
def app_role(postgres_url: str, postgres_admin: str) -> Iterator[str]:
    """The store migrated and filled by its owner; yields a URL for a plain LOGIN role."""
    owner = Gazette(load_settings(store={"url": postgres_url}).settings)
    admin = owner.local_owner()
    for user in ("ada", "bob"):
        owner.auth.add_token(admin, name=f"{user}-token", user=user)
        owner.auth.add_credential(
            admin, provider="openai", name=f"{user}-key", secret=f"sk-{user}-{'x' * 24}", user=user
        )
        turn = owner.dialogs.record_turn(person(user), role="user", content=f"{user} asks")
        assert turn is not None
        owner.dialogs.record_turn(person(user), role="assistant", content=f"answer to {user}", session=turn.session)
        owner.dialogs.set_capture(person(user), enabled=True)
    owner.audit.flush()
    owner.close()
    role = f"gazette_app_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {role}")
        conn.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    yield postgres_url.replace("postgres@", f"{role}@", 1)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP OWNED BY {role}")
    with psycopg.connect(postgres_admin, autocommit=True) as conn:
        conn.execute(f"DROP ROLE {role}")


def test_a_connection_that_sets_no_principal_sees_nothing(app_role: str, postgres_url: str) -> None:
    with psycopg.connect(app_role) as conn:
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]  # noqa: S608
            for table in RLS_TABLES
        }
    assert counts == dict.fromkeys(RLS_TABLES, 0)
    with psycopg.connect(postgres_url) as conn:  # the rows are there: the superuser owner sees them
        assert conn.execute("SELECT count(*) FROM personal_access_tokens").fetchone()[0] == 4  # type: ignore[index]


def test_a_viewer_sees_only_their_own_rows_and_an_admin_their_workspace(app_role: str) -> None:
    gz = Gazette(load_settings(store={"url": app_role}).settings)
    query = text("SELECT user_id FROM personal_access_tokens ORDER BY user_id, provider")
    with gz.store.begin(Viewer(user="ada", workspace="default")) as conn:
        assert [row.user_id for row in conn.execute(query)] == ["ada", "ada"]
        assert conn.execute(text("SELECT count(*) FROM vault_secrets")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == 0
    with gz.store.begin(Viewer(user="carol", workspace="elsewhere", admin=True)) as conn:
        assert conn.execute(query).all() == []
    with gz.store.begin(Viewer(user="root", workspace="default", admin=True)) as conn:
        assert {row.user_id for row in conn.execute(query)} == {"ada", "bob"}
    gz.close()


def test_a_viewer_cannot_write_rows_for_someone_else(app_role: str) -> None:
    gz = Gazette(load_settings(store={"url": app_role}).settings)
    forged = text(
        "INSERT INTO personal_access_tokens (workspace_id, user_id, name, provider, token_hash, token_prefix,"
        " scopes, role, created_at) VALUES (1, 'bob', 'forged', 'gazette', 'h', 'p', '[]', 'personal', now())"
    )

    def insert_for_bob_as_ada() -> None:
        with gz.store.begin(Viewer(user="ada", workspace="default")) as conn:
            conn.execute(forged)

    with pytest.raises(DBAPIError, match="row-level security"):
        insert_for_bob_as_ada()
    gz.close()


def test_the_services_work_through_rls_as_a_plain_role(app_role: str) -> None:
    gz = Gazette(load_settings(store={"url": app_role}).settings)
    minted = gz.auth.add_token(gz.local_owner(), name="new", user="ada", scopes=["models:use"])
    ada = gz.auth.authenticate(minted.token)  # the lookup by hash runs as the system
    assert {token.name for token in gz.auth.list_tokens(ada)} == {"ada-token", "ada-key", "new"}
    assert gz.auth.provider_secret(ada, "openai") == f"sk-ada-{'x' * 24}"
    assert gz.audit.verify(gz.local_owner()).ok
    gz.close()


def test_dialogs_are_visible_to_their_user_only(app_role: str) -> None:
    gz = Gazette(load_settings(store={"url": app_role}).settings)
    query = text("SELECT user_id, content FROM terminal_dialogs ORDER BY id")
    with gz.store.begin(Viewer(user="ada", workspace="default")) as conn:
        assert [tuple(row) for row in conn.execute(query)] == [("ada", "ada asks"), ("ada", "answer to ada")]
        assert conn.execute(text("SELECT user_id FROM dialog_capture")).scalars().all() == ["ada"]
    ada = person("ada")
    [session] = gz.dialogs.list_sessions(ada)
    assert session.title == "ada asks"
    assert gz.dialogs.capture_state(ada).turns == 2
    turn = gz.dialogs.record_turn(ada, role="user", content="through RLS", session=session.id)
    assert turn is not None
    assert turn.turn_number == 3
    forged = text(
        "INSERT INTO terminal_dialogs (workspace_id, user_id, session_id, turn_number, role, content, timestamp)"
        " VALUES (1, 'bob', 'forged', 1, 'user', 'not mine to write', now())"
    )
    with pytest.raises(DBAPIError, match="row-level security"), gz.store.begin(ada.viewer()) as conn:
        conn.execute(forged)
    gz.close()
