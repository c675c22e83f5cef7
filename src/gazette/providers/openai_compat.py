"""Any OpenAI-compatible server: OpenAI, DeepSeek, LM Studio, vLLM, the llama.cpp server.

`openai`, `deepseek` and `lmstudio` are the same adapter on three named endpoints, each with its
own settings section and key (`gazette auth add deepseek`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

from pydantic import SecretStr

from gazette.providers.models import ChatDone, ChatEvent, ChatRequest, ModelInfo, TextDelta
from gazette.providers.sse import server_events
from gazette.providers.transport import (
    Hints,
    Server,
    bearer,
    chat_messages,
    lines,
    open_stream,
    parse_json,
    request_json,
)
from gazette.settings import Settings

WIRE = "OpenAI server-sent events"
OPENAI_URL = "https://api.openai.com/v1"


class OpenAICompatProvider:
    chat_path = "/chat/completions"

    def __init__(
        self, settings: Settings, *, name: str, endpoint: str | None, needs_key: bool, hints: Hints, setup: str
    ) -> None:
        self.name = name
        self.needs_key = needs_key
        self.setup = setup
        self._server = Server(settings, provider=name, url=endpoint, hints=hints, setup=setup)
        self.endpoint = self._server.url

    def chat(self, model: str, request: ChatRequest, key: SecretStr | None) -> Iterator[ChatEvent]:
        """Stream `/chat/completions` with usage in the last chunk.

        Raises:
            ProviderError: any failure, with its reason.
            ConfigError: no server configured.
        """
        call = self._server.call.for_model(model)
        payload: dict[str, Any] = {
            "model": model,
            "messages": chat_messages(request),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.temperature is not None:
            payload["temperature"] = request.temperature
        if request.max_tokens is not None:
            payload["max_tokens"] = request.max_tokens
        finish: str | None = None
        usage: dict[str, Any] = {}
        finished = False
        with open_stream(self._server.client(), call, self.chat_path, payload, _headers(key)) as response:
            for event in server_events(lines(response, call)):
                if event.data.strip() == "[DONE]":
                    finished = True
                    break
                item = parse_json(event.data, call, WIRE)
                if "error" in item:
                    raise call.failure(200, item)
                for choice in item.get("choices") or []:
                    content = (choice.get("delta") or {}).get("content")
                    if content:
                        yield TextDelta(text=str(content))
                    finish = choice.get("finish_reason") or finish
                if isinstance(item.get("usage"), dict):
                    usage = item["usage"]
        # A few servers end without `[DONE]`; a finish reason says the answer is complete all the same.
        if not finished and finish is None:
            raise call.interrupted("the stream ended without `data: [DONE]`")
        yield ChatDone(
            provider=self.name,
            model=model,
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
            finish_reason=finish,
        )

    def list_models(self, key: SecretStr | None) -> list[ModelInfo]:
        """`GET /models`.

        Raises:
            ProviderError: unreachable, refused, or not OpenAI-compatible.
            ConfigError: no server configured.
        """
        server = self._server
        body = request_json(
            server.client(), server.call, "GET", "/models", headers=_headers(key), timeout=server.probe_timeout
        )
        data = body.get("data")
        if not isinstance(data, list):
            raise server.call.malformed("an OpenAI model list", "no `data` in /models")
        return [
            ModelInfo(name=str(item["id"]), provider=self.name)
            for item in data
            if isinstance(item, dict) and item.get("id")
        ]

    def show(self, model: str, key: SecretStr | None) -> ModelInfo:
        """`GET /models/{model}`.

        Raises:
            ProviderError: `model_not_found` and the other failures.
            ConfigError: no server configured.
        """
        call = self._server.call.for_model(model)
        body = request_json(
            self._server.client(), call, "GET", f"/models/{quote(model, safe='')}", headers=_headers(key)
        )
        return ModelInfo(name=str(body.get("id") or model), provider=self.name)

    def close(self) -> None:
        self._server.close()


def _headers(key: SecretStr | None) -> dict[str, str]:
    return bearer(key.get_secret_value() if key else None)


def openai(settings: Settings) -> OpenAICompatProvider:
    """OpenAI itself, or any OpenAI-compatible server named by `providers.openai.base_url`."""
    base = settings.providers.openai.base_url
    endpoint = (base or OPENAI_URL).rstrip("/")
    hints = Hints(
        address="check GAZETTE_PROVIDERS__OPENAI__BASE_URL and that the server is running",
        key="set OPENAI_API_KEY (or GAZETTE_PROVIDERS__OPENAI__API_KEY), or store your own with "
        "`gazette auth add openai`",
    )
    # OpenAI itself needs a key; a local server at another URL (vLLM, llama.cpp) usually does not.
    hosted = urlsplit(endpoint).hostname == "api.openai.com"
    setup = "set OPENAI_API_KEY, or GAZETTE_PROVIDERS__OPENAI__BASE_URL for another OpenAI-compatible server"
    return OpenAICompatProvider(settings, name="openai", endpoint=endpoint, needs_key=hosted, hints=hints, setup=setup)


def deepseek(settings: Settings) -> OpenAICompatProvider:
    """DeepSeek's OpenAI-compatible API (`deepseek-chat`, `deepseek-reasoner`)."""
    hints = Hints(
        address="check your network and GAZETTE_PROVIDERS__DEEPSEEK__BASE_URL",
        key="set DEEPSEEK_API_KEY (or GAZETTE_PROVIDERS__DEEPSEEK__API_KEY), or store your own with "
        "`gazette auth add deepseek`",
    )
    setup = "set DEEPSEEK_API_KEY, or store a key with `gazette auth add deepseek`"
    endpoint = settings.providers.deepseek.base_url.rstrip("/")
    return OpenAICompatProvider(settings, name="deepseek", endpoint=endpoint, needs_key=True, hints=hints, setup=setup)


def lmstudio(settings: Settings) -> OpenAICompatProvider:
    """LM Studio's local server (OpenAI-compatible, no key)."""
    hints = Hints(
        address="start LM Studio's server (`lms server start`), or point LMSTUDIO_ENDPOINT / "
        "GAZETTE_PROVIDERS__LMSTUDIO__BASE_URL at it",
        key="LM Studio needs no key unless you enabled one: store it with `gazette auth add lmstudio`",
        pull="download and load it in LM Studio (`lms get {model}`), or pick one from `gazette models list`",
    )
    setup = "set LMSTUDIO_ENDPOINT or GAZETTE_PROVIDERS__LMSTUDIO__BASE_URL (e.g. http://127.0.0.1:1234/v1)"
    endpoint = settings.providers.lmstudio.base_url
    return OpenAICompatProvider(settings, name="lmstudio", endpoint=endpoint, needs_key=False, hints=hints, setup=setup)
