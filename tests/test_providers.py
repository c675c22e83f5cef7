"""Model providers through `gz.providers`, against real local servers speaking each wire format.

The servers (tests/model_servers.py) replay recorded answers and fail the ways real servers fail;
the providers reach them through their real HTTP clients.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gazette.app import Gazette
from gazette.auth import Principal
from gazette.auth.provider_keys import NO_KEY_MESSAGE
from gazette.cli import main
from gazette.errors import (
    ConfigError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    RateLimitedError,
)
from gazette.providers import ChatDone, ChatEvent, ChatMessage, ChatRequest, Providers, TextDelta
from gazette.providers.ollama import OllamaProvider
from gazette.providers.sse import ServerEvent, server_events
from gazette.settings import load_settings
from tests.model_servers import ANSWER, ModelServer

OPENAI_KEY = "sk-test-operator-abcdefghijklmnopqrst"
ANTHROPIC_KEY = "sk-ant-operator-abcdefghijklmnopqrst"
DEEPSEEK_KEY = "sk-deepseek-operator-abcdefghijklmn"
OWN_KEY = "ada-own-key-0123456789abcdef"  # no well-known format: only the registry can mask it
ROUTES = {
    "llama": "ollama:llama3.2",
    "mini": "openai:gpt-4o-mini",
    "claude": "anthropic:claude-sonnet-4-5",
    "deepseek": "deepseek:deepseek-chat",
}
QUESTION = ChatRequest(
    messages=[ChatMessage(role="user", content="Why is the sky blue?")], system="Answer in one sentence."
)


@pytest.fixture
def servers() -> Iterator[dict[str, ModelServer]]:
    running = {wire: ModelServer(wire).listen() for wire in ("ollama", "openai", "anthropic")}
    yield running
    for server in running.values():
        server.stop()


def provider_settings(servers: dict[str, ModelServer], **extra: Any) -> dict[str, Any]:
    return {
        "ollama": {"url": servers["ollama"].url},
        "openai": {"base_url": servers["openai"].url, "api_key": OPENAI_KEY},
        "anthropic": {"base_url": servers["anthropic"].url, "api_key": ANTHROPIC_KEY},
        # DeepSeek is OpenAI-compatible: the OpenAI server stands in for it.
        "deepseek": {"base_url": servers["openai"].url, "api_key": DEEPSEEK_KEY},
        "retry_backoff_seconds": [],
        **extra,
    }


def make_gazette(
    servers: dict[str, ModelServer],
    *,
    routes: dict[str, str] | None = None,
    default: str | None = None,
    store_url: str | None = None,
    **extra: Any,
) -> Gazette:
    overrides: dict[str, Any] = {
        "providers": provider_settings(servers, **extra),
        "models": {"routes": ROUTES if routes is None else routes, "default": default},
    }
    if store_url:
        overrides["store"] = {"url": store_url}
    loaded = load_settings(**overrides)
    return Gazette(loaded.settings, loaded=loaded)


@pytest.fixture
def gz(servers: dict[str, ModelServer], home: Path) -> Iterator[Gazette]:
    gazette = make_gazette(servers)
    yield gazette
    gazette.close()


def ask(
    gz: Gazette, model: str | None, request: ChatRequest = QUESTION, principal: Principal | None = None
) -> list[ChatEvent]:
    return list(gz.providers.stream(principal or gz.local_owner(), model, request))


def answer_of(events: list[ChatEvent]) -> tuple[str, ChatDone]:
    *deltas, done = events
    assert all(isinstance(event, TextDelta) for event in deltas)
    assert isinstance(done, ChatDone)
    return "".join(event.text for event in deltas if isinstance(event, TextDelta)), done


# --------------------------------------------------------------------------- streaming


@pytest.mark.parametrize(
    ("route", "wire", "provider", "model", "usage"),
    [
        ("llama", "ollama", "ollama", "llama3.2", (31, 10, "stop")),
        ("mini", "openai", "openai", "gpt-4o-mini", (24, 9, "stop")),
        ("deepseek", "openai", "deepseek", "deepseek-chat", (24, 9, "stop")),
        ("claude", "anthropic", "anthropic", "claude-sonnet-4-5", (27, 12, "end_turn")),
    ],
)
def test_each_provider_streams_the_recorded_answer_with_usage_and_timings(
    gz: Gazette,
    servers: dict[str, ModelServer],
    route: str,
    wire: str,
    provider: str,
    model: str,
    usage: tuple[int, int, str],
) -> None:
    events = ask(gz, route)
    text, done = answer_of(events)
    assert text == ANSWER
    assert len(events) > 3  # streamed in pieces, not in one block
    assert (done.provider, done.model) == (provider, model)
    assert (done.prompt_tokens, done.completion_tokens, done.finish_reason) == usage
    assert done.latency_ms is not None
    assert done.first_token_ms is not None
    assert 0 <= done.first_token_ms <= done.latency_ms
    [sent] = servers[wire].chats()
    assert sent.body["model"] == model
    assert sent.body["stream"] is True


def test_each_wire_format_gets_the_request_it_expects(gz: Gazette, servers: dict[str, ModelServer]) -> None:
    request = QUESTION.model_copy(update={"temperature": 0.2, "max_tokens": 64, "num_ctx": 8192})
    for route in ("llama", "mini", "deepseek", "claude"):
        ask(gz, route, request)
    [ollama] = servers["ollama"].chats()
    assert ollama.body["messages"][0] == {"role": "system", "content": "Answer in one sentence."}
    assert ollama.body["options"] == {"temperature": 0.2, "num_predict": 64, "num_ctx": 8192}
    assert "authorization" not in ollama.headers  # a local Ollama needs no key
    openai, deepseek = servers["openai"].chats()
    assert openai.body["stream_options"] == {"include_usage": True}
    assert (openai.body["max_tokens"], openai.body["temperature"]) == (64, 0.2)
    assert openai.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert deepseek.headers["authorization"] == f"Bearer {DEEPSEEK_KEY}"
    [anthropic] = servers["anthropic"].chats()
    assert anthropic.headers["x-api-key"] == ANTHROPIC_KEY
    assert anthropic.headers["anthropic-version"] == "2023-06-01"
    assert anthropic.body["system"] == "Answer in one sentence."
    assert anthropic.body["messages"] == [{"role": "user", "content": "Why is the sky blue?"}]
    assert anthropic.body["max_tokens"] == 64


def test_anthropic_gets_a_max_tokens_even_when_the_caller_names_none(
    gz: Gazette, servers: dict[str, ModelServer]
) -> None:
    ask(gz, "claude")
    assert servers["anthropic"].chats()[0].body["max_tokens"] == 4096


def test_slow_tokens_show_in_first_token_time_and_latency(gz: Gazette, servers: dict[str, ModelServer]) -> None:
    servers["ollama"].delay = 0.02  # before each of the 10 recorded lines
    _, done = answer_of(ask(gz, "llama"))
    assert done.first_token_ms is not None
    assert done.latency_ms is not None
    assert done.first_token_ms >= 20
    assert done.latency_ms >= 200
    assert done.latency_ms > done.first_token_ms


# --------------------------------------------------------------------------- routes


@pytest.mark.parametrize(
    ("name", "provider", "model", "source"),
    [
        ("llama", "ollama", "llama3.2", "route"),
        ("claude", "anthropic", "claude-sonnet-4-5", "route"),
        ("openai:gpt-4o", "openai", "gpt-4o", "direct"),
        ("ollama:qwen2.5:7b", "ollama", "qwen2.5:7b", "direct"),
        ("llama3.2", "ollama", "llama3.2:latest", "ollama"),  # a bare name on the Ollama server
        ("qwen2.5:7b", "ollama", "qwen2.5:7b", "ollama"),  # a tag is not a provider
        ("", "ollama", "llama3.2", "route"),  # the default
    ],
)
def test_a_model_name_resolves_to_a_route(
    servers: dict[str, ModelServer], home: Path, name: str, provider: str, model: str, source: str
) -> None:
    gz = make_gazette(servers, default="llama")
    route = gz.providers.resolve(name)
    assert (route.provider, route.model, route.source) == (provider, model, source)
    gz.close()


def test_a_bare_name_found_on_ollama_is_answered_by_ollama(gz: Gazette, servers: dict[str, ModelServer]) -> None:
    text, done = answer_of(ask(gz, "llama3.2"))
    assert (text, done.provider, done.model) == (ANSWER, "ollama", "llama3.2:latest")


def test_an_unknown_model_names_the_known_routes(gz: Gazette, servers: dict[str, ModelServer]) -> None:
    with pytest.raises(NotFoundError) as caught:
        ask(gz, "gpt-9")
    message = caught.value.message
    assert "unknown model 'gpt-9'" in message
    assert "not on the Ollama server" in message
    assert "known routes: claude, deepseek, llama, mini" in message
    assert "`gazette models list`" in message
    assert servers["openai"].chats() == []
    assert servers["ollama"].chats() == []


def test_without_ollama_a_bare_name_is_unknown_at_once(servers: dict[str, ModelServer], home: Path) -> None:
    gz = make_gazette(servers, ollama={"url": None}, routes={})
    with pytest.raises(
        NotFoundError, match=r"unknown model 'llama3.2': not a route nor provider:model; known routes: none"
    ):
        gz.providers.resolve("llama3.2")
    gz.close()


def test_no_model_and_no_default_asks_for_one(gz: Gazette) -> None:
    with pytest.raises(InvalidInputError, match="no model named and no default"):
        ask(gz, None)


def test_a_route_to_a_provider_that_is_not_installed_is_a_config_error(
    servers: dict[str, ModelServer], home: Path
) -> None:
    gz = make_gazette(servers, routes={"local": "nowhere:model"})
    with pytest.raises(ConfigError, match=r"route 'local' -> 'nowhere:model' must be provider:model") as caught:
        ask(gz, "local")
    assert "anthropic, deepseek, lmstudio, ollama, openai" in caught.value.message
    gz.close()


def test_a_provider_that_is_not_configured_says_how_to_configure_it(gz: Gazette) -> None:
    with pytest.raises(ConfigError, match=r"lmstudio is not configured .*LMSTUDIO_ENDPOINT"):
        ask(gz, "lmstudio:qwen2.5-7b-instruct")


def test_the_seed_variables_configure_providers_when_gazette_sets_nothing(
    servers: dict[str, ModelServer], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{servers['ollama'].port}")  # no scheme, as Ollama allows
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("GAZETTE_PROVIDERS__ANTHROPIC__BASE_URL", servers["anthropic"].url)
    gz = Gazette.from_settings()
    assert gz.loaded.source_of("providers.ollama.url") == "env:OLLAMA_HOST"
    assert answer_of(ask(gz, "llama3.2"))[0] == ANSWER
    assert answer_of(ask(gz, "anthropic:claude-sonnet-4-5"))[0] == ANSWER
    assert servers["anthropic"].chats()[0].headers["x-api-key"] == ANTHROPIC_KEY
    gz.close()


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("route", "wire", "failure", "reason", "fragments"),
    [
        ("llama", "ollama", "unauthorized", "unauthorized", ["refused the API key (401", "gazette auth add ollama"]),
        ("mini", "openai", "unauthorized", "unauthorized", ["(401 invalid_api_key", "OPENAI_API_KEY"]),
        ("claude", "anthropic", "unauthorized", "unauthorized", ["(401 authentication_error", "ANTHROPIC_API_KEY"]),
        ("llama", "ollama", "server_error", "server_error", ["server failed (500", "retry in a moment"]),
        ("claude", "anthropic", "server_error", "server_error", ["(529 overloaded_error: Overloaded", "retry"]),
        ("mini", "openai", "rate_limited", "rate_limited", ["(429 rate_limit_exceeded", "provider's own rate limit"]),
        ("claude", "anthropic", "rate_limited", "rate_limited", ["(429 rate_limit_error", "provider's own rate limit"]),
        (
            "mini",
            "openai",
            "context_too_long",
            "context_too_long",
            ["maximum context length", "shorten the conversation"],
        ),
        ("claude", "anthropic", "context_too_long", "context_too_long", ["prompt is too long", "shorten"]),
        ("llama", "ollama", "context_too_long", "context_too_long", ["exceeds the context length", "shorten"]),
        ("llama", "ollama", "malformed", "malformed_stream", ["not Ollama NDJSON", "<html>502"]),
        ("mini", "openai", "malformed", "malformed_stream", ["not OpenAI server-sent events", "{not json"]),
        ("claude", "anthropic", "malformed", "malformed_stream", ["not Anthropic server-sent events", "then retry"]),
        ("llama", "ollama", "cut", "interrupted", ["answer broke off", "not retried", "ask again"]),
        ("mini", "openai", "cut", "interrupted", ["answer broke off", "not retried"]),
        ("claude", "anthropic", "cut", "interrupted", ["answer broke off", "not retried"]),
        ("llama", "ollama", "stream_error", "server_error", ["error mid-answer", "unexpected EOF"]),
        ("mini", "openai", "stream_error", "server_error", ["error mid-answer"]),
        ("claude", "anthropic", "stream_error", "server_error", ["error mid-answer (Overloaded)"]),
    ],
)
def test_each_failure_is_one_message_naming_provider_model_server_and_what_to_do(
    gz: Gazette,
    servers: dict[str, ModelServer],
    route: str,
    wire: str,
    failure: Any,
    reason: str,
    fragments: list[str],
) -> None:
    server = servers[wire]
    server.fail = failure
    target = gz.providers.resolve(route)
    with pytest.raises(ProviderError) as caught:
        ask(gz, route)
    error = caught.value
    assert error.reason == reason
    assert error.message.startswith(f"{target.provider} model {target.model!r} at http://127.0.0.1:{server.port}")
    for fragment in fragments:
        assert fragment in error.message
    assert error.details["reason"] == reason
    assert len(server.chats()) == 1  # none of these is retried
    for secret in (OPENAI_KEY, ANTHROPIC_KEY, DEEPSEEK_KEY):
        assert secret not in error.message


@pytest.mark.parametrize(
    ("name", "wire", "advice"),
    [
        ("ollama:mistral", "ollama", "pull it with `ollama pull mistral`"),
        ("openai:gpt-9", "openai", "`gazette models list` shows what the server offers"),
        ("anthropic:claude-9", "anthropic", "`gazette models list` shows what your key can use"),
    ],
)
def test_a_model_the_server_does_not_have_says_how_to_get_one(
    gz: Gazette, servers: dict[str, ModelServer], name: str, wire: str, advice: str
) -> None:
    with pytest.raises(ProviderError) as caught:
        ask(gz, name)
    assert caught.value.reason == "model_not_found"
    assert f"model {name.split(':', 1)[1]!r}" in caught.value.message
    assert "no such model (404" in caught.value.message
    assert advice in caught.value.message


def test_what_arrived_before_a_break_is_kept_and_the_call_is_not_repeated(
    servers: dict[str, ModelServer], home: Path
) -> None:
    gz = make_gazette(servers, retry_backoff_seconds=[0.0, 0.0])
    servers["ollama"].fail = "cut"
    received: list[ChatEvent] = []

    def drain() -> None:
        received.extend(gz.providers.stream(gz.local_owner(), "llama", QUESTION))

    with pytest.raises(ProviderError, match="broke off"):
        drain()
    assert [event.text for event in received if isinstance(event, TextDelta)] == ["The", " sky"]
    assert len(servers["ollama"].chats()) == 1
    gz.close()


def test_an_openai_compatible_url_without_v1_is_explained(servers: dict[str, ModelServer], home: Path) -> None:
    gz = make_gazette(servers, openai={"base_url": servers["openai"].url.removesuffix("/v1")})
    with pytest.raises(ProviderError) as caught:
        ask(gz, "mini")
    assert caught.value.reason == "bad_request"
    assert "the server has no such endpoint (404: 404 page not found)" in caught.value.message
    assert "OpenAI-compatible servers usually end in /v1" in caught.value.message
    gz.close()


def test_a_server_that_never_answers_times_out_once(servers: dict[str, ModelServer], home: Path) -> None:
    gz = make_gazette(servers, timeout_seconds=0.3, retry_backoff_seconds=[0.0])
    servers["openai"].fail = "hang"
    with pytest.raises(ProviderError) as caught:
        ask(gz, "mini")
    assert caught.value.reason == "timeout"
    assert "openai model 'gpt-4o-mini'" in caught.value.message
    assert "no answer within 0.3 s" in caught.value.message
    assert "GAZETTE_PROVIDERS__TIMEOUT_SECONDS" in caught.value.message
    assert len(servers["openai"].chats()) == 1
    gz.close()


def test_a_stall_mid_answer_is_a_timeout_that_says_the_answer_had_begun(
    servers: dict[str, ModelServer], home: Path
) -> None:
    gz = make_gazette(servers, timeout_seconds=0.3)
    servers["anthropic"].delay = 0.6  # headers at once, then nothing for longer than the timeout
    with pytest.raises(ProviderError) as caught:
        ask(gz, "claude")
    assert caught.value.reason == "timeout"
    assert "the answer stopped: no data for 0.3 s" in caught.value.message
    gz.close()


def test_an_empty_prompt_is_refused_before_any_call(gz: Gazette, servers: dict[str, ModelServer]) -> None:
    for request in (
        ChatRequest(messages=[ChatMessage(role="user", content="  \n")]),
        ChatRequest(messages=[], system="You are helpful."),
    ):
        with pytest.raises(InvalidInputError) as caught:
            ask(gz, "llama", request)
        assert caught.value.message == (
            "ollama model 'llama3.2': the prompt is empty; write something for the model to answer"
        )
    assert servers["ollama"].chats() == []


def test_the_cli_shows_a_provider_failure_as_one_line(
    servers: dict[str, ModelServer], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GAZETTE_PROVIDERS__OLLAMA__URL", servers["ollama"].url)
    with pytest.raises(SystemExit) as exited:
        main(["models", "show", "ollama:mistral"])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: ollama model 'mistral' at http://127.0.0.1:")
    assert "ollama pull mistral" in err
    assert "Traceback" not in err


# --------------------------------------------------------------------------- retries


def test_a_connection_refused_before_anything_was_sent_is_retried_with_backoff(
    servers: dict[str, ModelServer], home: Path
) -> None:
    down = ModelServer("ollama")  # the port is taken but nothing listens yet: connections are refused
    waits: list[float] = []

    def come_up_while_waiting(seconds: float) -> None:
        waits.append(seconds)
        down.listen()

    gz = make_gazette(servers, ollama={"url": down.url}, retry_backoff_seconds=[0.5, 2.0])
    providers = Providers(gz, sleep=come_up_while_waiting)
    text, _ = answer_of(list(providers.stream(gz.local_owner(), "llama", QUESTION)))
    assert text == ANSWER
    assert waits == [0.5]
    assert len(down.chats()) == 1
    down.stop()
    gz.close()


def test_a_server_that_stays_down_is_reported_after_the_retries(servers: dict[str, ModelServer], home: Path) -> None:
    down = ModelServer("ollama")
    waits: list[float] = []
    gz = make_gazette(servers, ollama={"url": down.url}, retry_backoff_seconds=[0.5, 2.0])
    providers = Providers(gz, sleep=waits.append)
    with pytest.raises(ProviderError) as caught:
        list(providers.stream(gz.local_owner(), "llama", QUESTION))
    assert waits == [0.5, 2.0]
    assert caught.value.reason == "unreachable"
    assert caught.value.message == (
        f"ollama model 'llama3.2' at {down.url}: cannot connect (connection refused); is the server running? "
        "start it with `ollama serve`, or point OLLAMA_HOST / GAZETTE_PROVIDERS__OLLAMA__URL at it"
    )
    down.stop()
    gz.close()


def test_a_server_down_while_looking_up_a_bare_name_says_so(servers: dict[str, ModelServer], home: Path) -> None:
    down = ModelServer("ollama")
    gz = make_gazette(servers, ollama={"url": down.url})
    with pytest.raises(ProviderError, match=r"cannot look up model 'llama3.2': ollama at .*cannot connect"):
        ask(gz, "llama3.2")
    down.stop()
    gz.close()


# --------------------------------------------------------------------------- keys and limits


def caller(gz: Gazette, *, allow_operator_llm: bool, scopes: tuple[str, ...] = ("models:use",)) -> Principal:
    minted = gz.auth.add_token(
        gz.local_owner(), name="ada-token", user="ada", scopes=scopes, allow_operator_llm=allow_operator_llm
    )
    return gz.auth.authenticate(minted.token)


def test_the_callers_own_key_is_sent_and_its_rpm_is_enforced_before_the_call(
    servers: dict[str, ModelServer], store_url: str
) -> None:
    gz = make_gazette(servers, store_url=store_url)
    gz.auth.add_credential(gz.local_owner(), provider="openai", name="ada-openai", secret=OWN_KEY, user="ada", rpm=2)
    ada = caller(gz, allow_operator_llm=True)
    assert answer_of(ask(gz, "mini", principal=ada))[0] == ANSWER
    servers["openai"].fail = "unauthorized"  # the server echoes the key it refused
    with pytest.raises(ProviderError, match="refused the API key") as refused:
        ask(gz, "mini", principal=ada)
    assert OWN_KEY not in refused.value.message
    assert "Incorrect API key provided: ***." in refused.value.message
    with pytest.raises(RateLimitedError, match="2 openai calls per minute"):
        ask(gz, "mini", principal=ada)
    chats = servers["openai"].chats()
    assert len(chats) == 2  # the third was refused before it left
    assert {chat.headers["authorization"] for chat in chats} == {f"Bearer {OWN_KEY}"}
    calls = gz.provider_keys.list_calls(gz.local_owner(), provider="openai")
    assert [(call.user, call.endpoint, call.status_code) for call in calls] == [
        ("ada", "/chat/completions", 401),
        ("ada", "/chat/completions", 200),
    ]
    gz.close()


def test_a_caller_without_a_key_or_operator_access_gets_the_seeds_403(
    gz: Gazette, servers: dict[str, ModelServer]
) -> None:
    stranger = caller(gz, allow_operator_llm=False)
    with pytest.raises(PermissionDeniedError) as caught:
        ask(gz, "deepseek", principal=stranger)
    assert caught.value.message.startswith(NO_KEY_MESSAGE)
    assert "deepseek model 'deepseek-chat'" in caught.value.message
    assert "`gazette auth add deepseek`" in caught.value.message
    with pytest.raises(PermissionDeniedError, match="No LLM key configured"):
        gz.providers.show(stranger, "deepseek")
    assert servers["openai"].seen == []


def test_a_local_server_needs_no_key_but_still_the_models_use_scope(
    gz: Gazette, servers: dict[str, ModelServer]
) -> None:
    keyless = caller(gz, allow_operator_llm=False)
    assert answer_of(ask(gz, "llama", principal=keyless))[0] == ANSWER
    reader = gz.auth.authenticate(
        gz.auth.add_token(gz.local_owner(), name="reader", user="bob", scopes=("memory:read",)).token
    )
    with pytest.raises(PermissionDeniedError, match="'models:use' scope"):
        ask(gz, "llama", principal=reader)
    assert len(servers["ollama"].chats()) == 1


# --------------------------------------------------------------------------- listing, show, create


def test_the_catalog_shows_providers_routes_and_what_is_reachable_now(
    servers: dict[str, ModelServer], home: Path
) -> None:
    routes = {**ROUTES, "ghost": "openai:gpt-9", "nowhere": "acme:model"}
    gz = make_gazette(servers, routes=routes, default="llama", deepseek={"api_key": None})
    catalog = gz.providers.catalog(gz.local_owner())
    providers = {status.name: status for status in catalog.providers}
    assert sorted(providers) == ["anthropic", "deepseek", "lmstudio", "ollama", "openai"]
    assert (providers["ollama"].reachable, providers["ollama"].key) == (True, "none")
    assert "qwen2.5:7b" in providers["ollama"].models
    assert (providers["openai"].reachable, providers["openai"].key) == (True, "operator")
    assert providers["deepseek"].key == "missing"
    assert providers["deepseek"].detail.startswith("no key: set DEEPSEEK_API_KEY")
    assert providers["lmstudio"].detail.startswith("not configured: set LMSTUDIO_ENDPOINT")
    rows = {row.name: row for row in catalog.routes}
    assert (rows["llama"].reachable, rows["llama"].default, rows["llama"].detail) == (True, True, "ok")
    assert rows["claude"].reachable  # an alias of the listed claude-sonnet-4-5-20250929
    assert not rows["ghost"].reachable
    assert rows["ghost"].detail == "openai is reachable but does not list 'gpt-9'"
    assert not rows["deepseek"].reachable
    assert rows["nowhere"].detail == "not provider:model with an installed provider"
    assert (rows["qwen2.5:7b"].source, rows["qwen2.5:7b"].target) == ("ollama", "ollama:qwen2.5:7b")
    assert "llama3.2:latest" not in rows  # the llama route already leads there
    servers["anthropic"].stop()
    again = {row.name: row for row in gz.providers.catalog(gz.local_owner()).routes}
    assert not again["claude"].reachable
    assert "cannot connect" in again["claude"].detail
    gz.close()


def test_models_list_json_through_the_cli(
    servers: dict[str, ModelServer], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GAZETTE_PROVIDERS__OLLAMA__URL", servers["ollama"].url)
    monkeypatch.setenv("GAZETTE_MODELS__ROUTES", json.dumps({"llama": "ollama:llama3.2", "claude": ROUTES["claude"]}))
    with pytest.raises(SystemExit) as exited:
        main(["models", "list", "--json"])
    assert exited.value.code in (0, None)
    listing = json.loads(capsys.readouterr().out)
    routes = {row["name"]: row for row in listing["routes"]}
    assert routes["llama"] == {
        "name": "llama",
        "target": "ollama:llama3.2",
        "source": "route",
        "default": False,
        "reachable": True,
        "detail": "ok",
    }
    assert routes["claude"]["reachable"] is False
    assert "no key" in routes["claude"]["detail"]
    assert routes["qwen2.5:7b"]["source"] == "ollama"
    assert [p["name"] for p in listing["providers"] if p["reachable"]] == ["ollama"]


def test_models_list_as_text(
    servers: dict[str, ModelServer], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GAZETTE_PROVIDERS__OLLAMA__URL", servers["ollama"].url)
    monkeypatch.setenv("GAZETTE_MODELS__ROUTES", json.dumps({"llama": "ollama:llama3.2"}))
    monkeypatch.setenv("GAZETTE_MODELS__DEFAULT", "llama")
    with pytest.raises(SystemExit):
        main(["models", "list"])
    out = capsys.readouterr().out
    assert "ok  llama (default) -> ollama:llama3.2  ok" in out
    assert f"ollama     {servers['ollama'].url}  key: none; ok, 3 models" in out
    assert "deepseek   https://api.deepseek.com  key: missing; no key: set DEEPSEEK_API_KEY" in out


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("llama3.2", {"provider": "ollama", "family": "llama", "context_length": 131072, "quantization": "Q4_K_M"}),
        ("llama3.2", {"parameter_count": 3212749888, "layers": 28, "kv_heads": 8, "head_dim": 128}),
        ("openai:gpt-4o-mini", {"provider": "openai", "name": "gpt-4o-mini"}),
        ("claude", {"provider": "anthropic", "name": "claude-sonnet-4-5-20250929"}),
    ],
)
def test_show_tells_what_the_provider_knows_about_a_model(gz: Gazette, name: str, expected: dict[str, Any]) -> None:
    info = gz.providers.show(gz.local_owner(), name).model_dump()
    assert {key: info[key] for key in expected} == expected


def test_models_show_json_through_the_cli(
    servers: dict[str, ModelServer], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GAZETTE_PROVIDERS__OLLAMA__URL", servers["ollama"].url)
    with pytest.raises(SystemExit):
        main(["models", "show", "llama3.2", "--json"])
    shown = json.loads(capsys.readouterr().out)
    assert (shown["name"], shown["context_length"], shown["parameter_size"]) == ("llama3.2:latest", 131072, "3.2B")


def test_ollama_creates_a_model_from_a_base_with_its_own_system_prompt(
    gz: Gazette, servers: dict[str, ModelServer]
) -> None:
    ollama = gz.providers.get("ollama")
    assert isinstance(ollama, OllamaProvider)
    steps: list[str] = []
    ollama.create(
        "sky-teacher",
        base="llama3.2",
        system="Explain simply.",
        parameters={"temperature": 0.2},
        progress=lambda step: steps.append(step.status),
    )
    sent = servers["ollama"].seen[-1]
    assert (sent.path, sent.body) == (
        "/api/create",
        {
            "model": "sky-teacher",
            "from": "llama3.2",
            "stream": True,
            "system": "Explain simply.",
            "parameters": {"temperature": 0.2},
        },
    )
    assert steps[-2:] == ["writing manifest", "success"]
    assert gz.providers.resolve("sky-teacher").model == "sky-teacher:latest"
    with pytest.raises(ProviderError, match=r"ollama model 'mistral' .* could not create .*ollama pull mistral"):
        ollama.create("other", base="mistral")


# --------------------------------------------------------------------------- plugins


def install_plugin(root: Path, name: str, body: str) -> None:
    """A distribution on sys.path with an entry point in `gazette.providers`, as `pip install` leaves it."""
    module = f"{name}_gazette"
    (root / f"{module}.py").write_text(textwrap.dedent(body))
    info = root / f"{name}_gazette-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}-gazette\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[gazette.providers]\n{name} = {module}:make\n")


def test_a_plugin_provider_registered_by_entry_point_is_routable(
    servers: dict[str, ModelServer], home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugins = tmp_path / "site"
    plugins.mkdir()
    install_plugin(
        plugins,
        "acme",
        f"""
        from gazette.providers.openai_compat import OpenAICompatProvider
        from gazette.providers.transport import Hints

        def make(settings):
            hints = Hints(address="ask ACME", key="ask ACME for a key")
            return OpenAICompatProvider(
                settings, name="acme", endpoint="{servers["openai"].url}", needs_key=False, hints=hints, setup="-"
            )
        """,
    )
    install_plugin(plugins, "broken", "def make(settings):\n    raise RuntimeError('misconfigured')\n")
    monkeypatch.syspath_prepend(str(plugins))
    gz = make_gazette(servers, routes={"acme-mini": "acme:gpt-4o-mini"})
    assert gz.providers.names() == ["acme", "anthropic", "deepseek", "lmstudio", "ollama", "openai"]
    text, done = answer_of(ask(gz, "acme-mini"))
    assert (text, done.provider) == (ANSWER, "acme")
    gz.close()


# --------------------------------------------------------------------------- wire details


@pytest.mark.parametrize(
    ("lines", "events"),
    [
        (["data: a", "", "data: b", ""], [ServerEvent("message", "a"), ServerEvent("message", "b")]),
        (["event: ping", "data: {}", ""], [ServerEvent("ping", "{}")]),
        ([": keep-alive", "", "data: x"], [ServerEvent("message", "x")]),  # a comment; no final blank line
        (["data: one", "data: two", ""], [ServerEvent("message", "one\ntwo")]),
        (["data:tight", "id: 7", "retry: 10", ""], [ServerEvent("message", "tight")]),
        (["event: orphan", ""], []),
    ],
)
def test_server_sent_events_are_assembled_as_the_spec_says(lines: list[str], events: list[ServerEvent]) -> None:
    assert list(server_events(lines)) == events
