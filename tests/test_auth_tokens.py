"""Gazette tokens: minted once, stored as hashes, checked offline, expired and revoked properly."""

from __future__ import annotations

import string
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text, update

from gazette.app import Gazette
from gazette.auth import Principal, Role
from gazette.auth import tokens as token_format
from gazette.errors import AuthenticationError, ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from gazette.store.tables import personal_access_tokens
from gazette.store.types import utcnow


def test_minted_tokens_have_prefix_body_and_checksum() -> None:
    token = token_format.mint()
    assert token.startswith("gzt_")
    assert len(token) == 4 + 30 + 6
    assert token_format.well_formed(token)


@given(
    position=st.integers(min_value=4, max_value=39), replacement=st.sampled_from(string.ascii_letters + string.digits)
)
def test_any_single_character_typo_is_rejected_offline(position: int, replacement: str) -> None:
    token = token_format.mint()
    typo = token[:position] + replacement + token[position + 1 :]
    assert token_format.well_formed(typo) == (typo == token)


def test_add_token_returns_the_secret_once_and_stores_only_its_hash(gz: Gazette) -> None:
    owner = gz.local_owner()
    minted = gz.auth.add_token(owner, name="ci", scopes=["memory:read", "models:use"], rpm=60, rpd=1000)
    assert minted.info.prefix == minted.token[:12]
    assert minted.info.scopes == ["memory:read", "models:use"]
    assert minted.info.expires_at is not None
    assert timedelta(days=89) < minted.info.expires_at - utcnow() <= timedelta(days=90)
    with gz.store.begin() as conn:
        stored = conn.execute(text("SELECT token_hash, token_prefix FROM personal_access_tokens")).one()
    assert stored.token_hash == token_format.digest(minted.token)
    assert minted.token not in repr(gz.auth.list_tokens(owner))


def test_a_minted_token_authenticates_as_its_principal(gz: Gazette) -> None:
    minted = gz.auth.add_token(gz.local_owner(), name="agent", scopes=["memory:read"], user="ada")
    principal = gz.auth.authenticate(minted.token)
    assert principal.user == "ada"
    assert principal.workspace == "default"
    assert principal.role is Role.personal
    assert principal.scopes == frozenset({"memory:read"})
    assert principal.kind == "token"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), "malformed"),
        (lambda t: "gzt_short", "malformed"),
        (lambda t: "Bearer " + t, "malformed"),
        (lambda t: token_format.mint(), "unknown"),
    ],
    ids=["typo", "truncated", "with-scheme", "unknown"],
)
def test_bad_tokens_are_refused_with_a_reason(gz: Gazette, mutate: object, reason: str) -> None:
    minted = gz.auth.add_token(gz.local_owner(), name="real")
    with pytest.raises(AuthenticationError) as caught:
        gz.auth.authenticate(mutate(minted.token))  # type: ignore[operator]
    assert caught.value.details["reason"] == reason


def test_revoked_tokens_are_refused_and_kept_as_history(gz: Gazette) -> None:
    owner = gz.local_owner()
    minted = gz.auth.add_token(owner, name="old")
    revoked = gz.auth.revoke_token(owner, "old")
    assert revoked.revoked_at is not None
    with pytest.raises(AuthenticationError, match="was revoked"):
        gz.auth.authenticate(minted.token)
    assert gz.auth.list_tokens(owner) == []
    assert [t.name for t in gz.auth.list_tokens(owner, include_revoked=True)] == ["old"]
    gz.auth.add_token(owner, name="old")  # the name is free again


def test_revoke_by_prefix(gz: Gazette) -> None:
    owner = gz.local_owner()
    minted = gz.auth.add_token(owner, name="by-prefix")
    assert gz.auth.revoke_token(owner, minted.info.prefix).name == "by-prefix"
    with pytest.raises(NotFoundError):
        gz.auth.revoke_token(owner, minted.info.prefix)


def test_expired_tokens_are_refused(gz: Gazette) -> None:
    minted = gz.auth.add_token(gz.local_owner(), name="short", expires="1m")
    with gz.store.begin() as conn:
        conn.execute(update(personal_access_tokens).values(expires_at=utcnow() - timedelta(seconds=1)))
    with pytest.raises(AuthenticationError, match="expired"):
        gz.auth.authenticate(minted.token)


def test_names_are_unique_among_active_tokens(gz: Gazette) -> None:
    gz.auth.add_token(gz.local_owner(), name="dup")
    with pytest.raises(ConflictError, match="already exists"):
        gz.auth.add_token(gz.local_owner(), name="dup")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scopes": ["memory:raed"]}, "unknown scope memory:raed"),
        ({"role": "root"}, "unknown role"),
        ({"expires": "soon"}, "invalid expiry"),
        ({"expires": "never"}, "only admin tokens may never expire"),
        ({"rpm": 0}, "--rpm must be a positive"),
        ({"name": "has space"}, "invalid name"),
    ],
)
def test_bad_token_requests_are_invalid_input(sqlite_gz: Gazette, kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"name": "x", **kwargs}
    with pytest.raises(InvalidInputError, match=message):
        sqlite_gz.auth.add_token(sqlite_gz.local_owner(), **arguments)  # type: ignore[arg-type]


def test_admin_tokens_may_never_expire(sqlite_gz: Gazette) -> None:
    minted = sqlite_gz.auth.add_token(sqlite_gz.local_owner(), name="root", role="admin", expires="never")
    assert minted.info.expires_at is None


def test_only_admins_manage_tokens_and_others_see_their_own(sqlite_gz: Gazette) -> None:
    owner = sqlite_gz.local_owner()
    sqlite_gz.auth.add_token(owner, name="ada-token", user="ada")
    sqlite_gz.auth.add_token(owner, name="bob-token", user="bob")
    ada = Principal(
        user="ada", workspace="default", role=Role.personal, scopes=frozenset({"memory:read"}), kind="token"
    )
    with pytest.raises(PermissionDeniedError, match="'admin' scope"):
        sqlite_gz.auth.add_token(ada, name="mine")
    assert [t.name for t in sqlite_gz.auth.list_tokens(ada)] == ["ada-token"]
    with pytest.raises(NotFoundError):
        sqlite_gz.auth.revoke_token(ada, "bob-token")
    assert sqlite_gz.auth.revoke_token(ada, "ada-token").name == "ada-token"


def test_the_secret_never_reaches_the_database_file(sqlite_gz: Gazette, home: Path) -> None:
    minted = sqlite_gz.auth.add_token(sqlite_gz.local_owner(), name="grep-me")
    sqlite_gz.close()
    secret = minted.token.encode()
    for path in home.glob("gazette.db*"):
        assert secret not in path.read_bytes(), path
    assert minted.token[4:].encode() not in b"".join(p.read_bytes() for p in home.glob("gazette.db*"))
