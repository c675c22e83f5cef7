"""The vault: provider secrets sealed with AES-256-GCM, rotated, and never readable with the wrong key."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from gazette.app import Gazette
from gazette.cli import main
from gazette.errors import ConfigError, ConflictError, InvalidInputError
from gazette.settings import load_settings
from gazette.store.tables import vault_secrets

SECRET = "ghp_SeCrEt0123456789abcdefghijklmnopqrs"


def store_github(gz: Gazette, secret: str = SECRET, name: str = "cli-token") -> None:
    gz.auth.add_credential(gz.local_owner(), provider="github", name=name, secret=secret, scopes=["repo", "read:user"])


def key_ids(gz: Gazette) -> list[str]:
    with gz.store.begin() as conn:
        return [row.key_id for row in conn.execute(select(vault_secrets.c.key_id))]


def test_a_stored_credential_round_trips(gz: Gazette) -> None:
    store_github(gz)
    assert gz.auth.provider_secret(gz.local_owner(), "github") == SECRET
    assert gz.auth.provider_secret(gz.local_owner(), "openai") is None
    [info] = gz.auth.list_tokens(gz.local_owner())
    assert (info.provider, info.name, info.prefix, info.scopes) == (
        "github",
        "cli-token",
        SECRET[:8],
        ["read:user", "repo"],
    )


def test_the_key_file_is_created_on_first_use_with_mode_0600(sqlite_gz: Gazette, home: Path) -> None:
    store_github(sqlite_gz)
    mode = stat.S_IMODE((home / "vault.keys").stat().st_mode)
    assert mode == 0o600


def test_the_secret_never_appears_in_the_database_files_or_the_listing(
    sqlite_gz: Gazette, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_github(sqlite_gz)
    with pytest.raises(SystemExit):
        main(["auth", "list", "--json"])
    assert SECRET not in capsys.readouterr().out
    sqlite_gz.close()
    for path in home.glob("gazette.db*"):
        assert SECRET.encode() not in path.read_bytes()
        assert SECRET[8:].encode() not in path.read_bytes()


def test_rotation_reencrypts_lazily_on_read(gz: Gazette) -> None:
    store_github(gz)
    before = key_ids(gz)
    rotation = gz.auth.rotate_vault_key(gz.local_owner())
    assert rotation.reencrypted == 0
    assert key_ids(gz) == before
    assert gz.auth.provider_secret(gz.local_owner(), "github") == SECRET
    assert key_ids(gz) == [rotation.key_id]


def test_rotation_with_reencrypt_reseals_everything_now(gz: Gazette) -> None:
    store_github(gz, name="one")
    store_github(gz, secret=SECRET + "x", name="two")
    rotation = gz.auth.rotate_vault_key(gz.local_owner(), reencrypt=True)
    assert rotation.reencrypted == 2
    assert set(key_ids(gz)) == {rotation.key_id}


def test_a_missing_key_is_a_clear_error_never_garbage(sqlite_gz: Gazette, home: Path) -> None:
    store_github(sqlite_gz)
    (home / "vault.keys").unlink()
    other = base64.b64encode(os.urandom(32)).decode()
    stranger = Gazette(load_settings(vault_key=other).settings)
    with pytest.raises(ConfigError, match="not in the keyring"):
        stranger.auth.provider_secret(stranger.local_owner(), "github")
    stranger.close()


def test_a_tampered_or_moved_ciphertext_does_not_open(sqlite_gz: Gazette) -> None:
    store_github(sqlite_gz, name="one")
    store_github(sqlite_gz, secret=SECRET + "x", name="two")
    with sqlite_gz.store.begin() as conn:
        first = conn.execute(select(vault_secrets).order_by(vault_secrets.c.id)).first()
        assert first is not None
        # Copy one credential's ciphertext onto the other: bound to its row, it must not open there.
        conn.execute(
            update(vault_secrets)
            .where(vault_secrets.c.id != first.id)
            .values(nonce=first.nonce, ciphertext=first.ciphertext, key_id=first.key_id)
        )
    owner = sqlite_gz.local_owner()
    with pytest.raises(ConfigError, match="does not authenticate"):
        sqlite_gz.auth.provider_secret(owner, "github")  # the newest ("two") now holds one's ciphertext


@pytest.mark.parametrize("value", ["short", "not base64 at all!", base64.b64encode(b"x" * 16).decode()])
def test_an_invalid_vault_key_is_rejected_with_how_to_make_one(sqlite_gz: Gazette, value: str) -> None:
    broken = Gazette(load_settings(vault_key=value).settings)
    with pytest.raises(ConfigError, match="32 random bytes in base64"):
        store_github(broken)


def test_a_key_from_the_environment_is_rotated_there_not_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAZETTE_VAULT_KEY", base64.b64encode(os.urandom(32)).decode())
    gz = Gazette.from_settings()
    store_github(gz)
    assert gz.auth.provider_secret(gz.local_owner(), "github") == SECRET
    with pytest.raises(ConfigError, match="comes from GAZETTE_VAULT_KEY"):
        gz.auth.rotate_vault_key(gz.local_owner())
    gz.close()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"secret": "   "}, InvalidInputError, "the secret is empty"),
        ({"provider": "gazette"}, InvalidInputError, "invalid provider"),
        ({"scopes": ["repo", "bad scope"]}, InvalidInputError, "invalid scope"),
    ],
)
def test_bad_credentials_are_refused(
    sqlite_gz: Gazette, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    arguments: dict[str, object] = {"provider": "github", "name": "x", "secret": SECRET, **kwargs}
    with pytest.raises(error, match=message):
        sqlite_gz.auth.add_credential(sqlite_gz.local_owner(), **arguments)  # type: ignore[arg-type]


def test_the_same_secret_is_not_stored_twice(sqlite_gz: Gazette) -> None:
    store_github(sqlite_gz)
    with pytest.raises(ConflictError, match="stored already, as github/cli-token"):
        store_github(sqlite_gz, name="again")


def test_cli_reads_the_secret_from_stdin_and_prints_it_nowhere(
    sqlite_gz: Gazette, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
    with pytest.raises(SystemExit) as done:
        main(["auth", "add", "github", "--name", "cli-token", "--scopes", "repo,read:user", "--json"])
    assert done.value.code in (None, 0)
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    assert json.loads(out)["prefix"] == SECRET[:8]
    assert sqlite_gz.auth.provider_secret(sqlite_gz.local_owner(), "github") == SECRET
    with sqlite_gz.store.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM vault_secrets")).scalar() == 1


def test_minted_tokens_and_provider_secrets_never_reach_the_log_file(home: Path, tmp_path: Path) -> None:
    import io
    import logging

    import structlog
    from fastapi.testclient import TestClient

    from gazette.api import create_app
    from gazette.logs import configure_logging
    from gazette.settings import LogSettings

    log_file = tmp_path / "gazette.log"
    configure_logging(LogSettings(level="debug", file=log_file), stream=io.StringIO())
    try:
        gz = Gazette.from_settings()
        minted = gz.auth.add_token(gz.local_owner(), name="logged", scopes=["admin"])
        store_github(gz)
        with TestClient(create_app(gz)) as client:
            client.get("/v1/auth/whoami", headers={"Authorization": f"Bearer {minted.token}"})
            client.get("/v1/auth/tokens", headers={"X-API-Key": minted.token})
            client.get("/v1/auth/whoami", headers={"Authorization": f"Bearer {minted.token[:-1]}0"})
        gz.auth.provider_secret(gz.local_owner(), "github")
        gz.close()
    finally:
        logging.getLogger().handlers.clear()
        structlog.reset_defaults()
    written = log_file.read_bytes()
    assert b"http request" in written  # the log did record the requests
    assert minted.token.encode() not in written
    assert minted.token[4:-6].encode() not in written
    assert SECRET.encode() not in written
