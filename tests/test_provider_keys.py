"""Bring your own key: own vault entry, else the operator's when allowed, else 403; limits and the call log."""

from __future__ import annotations

import json

import pytest

from gazette.app import Gazette
from gazette.auth import Principal
from gazette.auth.provider_keys import NO_KEY_MESSAGE, OPERATOR_USER
from gazette.cli import main
from gazette.errors import PermissionDeniedError, RateLimitedError
from gazette.settings import load_settings

OWN = "sk-own-abcdefghijklmnopqrstuvwx"
OPERATOR = "sk-operator-abcdefghijklmnopqrst"


def caller(gz: Gazette, *, allow_operator_llm: bool, scopes: tuple[str, ...] = ("models:use",)) -> Principal:
    minted = gz.auth.add_token(
        gz.local_owner(), name="caller", user="ada", scopes=scopes, allow_operator_llm=allow_operator_llm
    )
    return gz.auth.authenticate(minted.token)


def store(gz: Gazette, user: str, secret: str, **limits: int) -> None:
    gz.auth.add_credential(gz.local_owner(), provider="openai", name=f"{user}-key", secret=secret, user=user, **limits)


def test_the_callers_own_key_comes_first(gz: Gazette) -> None:
    store(gz, "ada", OWN)
    store(gz, OPERATOR_USER, OPERATOR)
    key = gz.provider_keys.acquire(caller(gz, allow_operator_llm=True), "openai")
    assert (key.source, key.secret.get_secret_value()) == ("own", OWN)


def test_the_operator_key_is_used_only_with_operator_access(gz: Gazette) -> None:
    store(gz, OPERATOR_USER, OPERATOR)
    key = gz.provider_keys.acquire(caller(gz, allow_operator_llm=True), "openai")
    assert (key.source, key.secret.get_secret_value()) == ("operator", OPERATOR)


def test_without_own_key_or_operator_access_the_answer_is_the_seeds_403(gz: Gazette) -> None:
    store(gz, OPERATOR_USER, OPERATOR)
    with pytest.raises(PermissionDeniedError) as caught:
        gz.provider_keys.acquire(caller(gz, allow_operator_llm=False), "openai")
    assert caught.value.message == NO_KEY_MESSAGE


def test_operator_access_without_any_operator_key_is_also_403(sqlite_gz: Gazette) -> None:
    with pytest.raises(PermissionDeniedError, match="No LLM key configured"):
        sqlite_gz.provider_keys.acquire(caller(sqlite_gz, allow_operator_llm=True), "anthropic")


def test_the_operator_key_may_come_from_settings(home: object) -> None:
    gz = Gazette(load_settings(providers={"openai": {"api_key": OPERATOR}}).settings)
    key = gz.provider_keys.acquire(caller(gz, allow_operator_llm=True), "openai")
    assert (key.source, key.credential_id, key.secret.get_secret_value()) == ("operator", None, OPERATOR)
    gz.close()


def test_model_calls_need_the_models_use_scope(sqlite_gz: Gazette) -> None:
    store(sqlite_gz, "ada", OWN)
    with pytest.raises(PermissionDeniedError, match="'models:use' scope"):
        sqlite_gz.provider_keys.acquire(caller(sqlite_gz, allow_operator_llm=False, scopes=("memory:read",)), "openai")


def test_a_credentials_own_limits_are_enforced_before_the_call(gz: Gazette) -> None:
    store(gz, "ada", OWN, rpm=2)
    principal = caller(gz, allow_operator_llm=False)
    gz.provider_keys.acquire(principal, "openai")
    gz.provider_keys.acquire(principal, "openai")
    with pytest.raises(RateLimitedError, match="2 openai calls per minute"):
        gz.provider_keys.acquire(principal, "openai")


def test_each_call_is_recorded_in_the_rate_limit_log(sqlite_gz: Gazette, capsys: pytest.CaptureFixture[str]) -> None:
    store(sqlite_gz, "ada", OWN)
    key = sqlite_gz.provider_keys.acquire(caller(sqlite_gz, allow_operator_llm=False), "openai")
    sqlite_gz.provider_keys.record_call(key, endpoint="/v1/chat/completions", status_code=200)
    sqlite_gz.provider_keys.record_call(key, endpoint="/v1/chat/completions", status_code=429)
    with pytest.raises(SystemExit):
        main(["auth", "calls", "--json"])
    calls = json.loads(capsys.readouterr().out)
    assert [(c["provider"], c["status_code"], c["user"]) for c in calls] == [
        ("openai", 429, "ada"),
        ("openai", 200, "ada"),
    ]
    assert OWN not in json.dumps(calls)
