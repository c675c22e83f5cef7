"""Anthropic's Messages API: `POST /v1/messages` streamed as server-sent events, `GET /v1/models`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from pydantic import SecretStr

from gazette.providers.models import ChatDone, ChatEvent, ChatRequest, ModelInfo, TextDelta
from gazette.providers.sse import server_events
from gazette.providers.transport import Hints, Server, lines, open_stream, parse_json, request_json
from gazette.settings import Settings

WIRE = "Anthropic server-sent events"
HINTS = Hints(
    address="check your network and GAZETTE_PROVIDERS__ANTHROPIC__BASE_URL",
    key="set ANTHROPIC_API_KEY (or GAZETTE_PROVIDERS__ANTHROPIC__API_KEY), or store your own with "
    "`gazette auth add anthropic`",
    pull="check the model name (e.g. claude-sonnet-4-5); `gazette models list` shows what your key can use",
)


class AnthropicProvider:
    name = "anthropic"
    needs_key = True
    chat_path = "/v1/messages"
    setup = "set ANTHROPIC_API_KEY, or store a key with `gazette auth add anthropic`"

    def __init__(self, settings: Settings) -> None:
        section = settings.providers.anthropic
        self._server = Server(settings, provider=self.name, url=section.base_url, hints=HINTS, setup=self.setup)
        self.endpoint = self._server.url
        self._version = section.version
        self._answer_limit = section.answer_limit

    def chat(self, model: str, request: ChatRequest, key: SecretStr | None) -> Iterator[ChatEvent]:
        """Stream `/v1/messages`.

        Raises:
            ProviderError: any failure, with its reason.
            ConfigError: no server configured.
        """
        call = self._server.call.for_model(model)
        # The Messages API takes instructions apart from the turns, which are only user and assistant.
        system = [request.system] if request.system else []
        system += [message.content for message in request.messages if message.role == "system"]
        payload: dict[str, Any] = {
            "model": model,
            "max_tokens": request.max_tokens or self._answer_limit,
            "messages": [message.model_dump() for message in request.messages if message.role != "system"],
            "stream": True,
        }
        if system:
            payload["system"] = "\n\n".join(system)
        if request.temperature is not None:
            payload["temperature"] = request.temperature
        prompt_tokens: int | None = None
        completion_tokens: int | None = None
        finish: str | None = None
        with open_stream(self._server.client(), call, self.chat_path, payload, self._headers(key)) as response:
            for event in server_events(lines(response, call)):
                item = parse_json(event.data, call, WIRE)
                kind = item.get("type", event.event)
                if kind == "error":
                    raise call.failure(200, item)
                if kind == "message_start":
                    usage = (item.get("message") or {}).get("usage") or {}
                    prompt_tokens = usage.get("input_tokens")
                elif kind == "content_block_delta":
                    delta = item.get("delta") or {}
                    if delta.get("type") == "text_delta" and delta.get("text"):
                        yield TextDelta(text=str(delta["text"]))
                elif kind == "message_delta":
                    completion_tokens = (item.get("usage") or {}).get("output_tokens", completion_tokens)
                    finish = (item.get("delta") or {}).get("stop_reason") or finish
                elif kind == "message_stop":
                    yield ChatDone(
                        provider=self.name,
                        model=model,
                        prompt_tokens=prompt_tokens,
                        completion_tokens=completion_tokens,
                        finish_reason=finish,
                    )
                    return
        raise call.interrupted("the stream ended without `message_stop`")

    def list_models(self, key: SecretStr | None) -> list[ModelInfo]:
        """`GET /v1/models` (the first thousand).

        Raises:
            ProviderError: unreachable or refused.
            ConfigError: no server configured.
        """
        server = self._server
        body = request_json(
            server.client(),
            server.call,
            "GET",
            "/v1/models?limit=1000",
            headers=self._headers(key),
            timeout=server.probe_timeout,
        )
        data = body.get("data")
        if not isinstance(data, list):
            raise server.call.malformed("an Anthropic model list", "no `data` in /v1/models")
        return [
            ModelInfo(name=str(item["id"]), provider=self.name, family=item.get("display_name"))
            for item in data
            if isinstance(item, dict) and item.get("id")
        ]

    def show(self, model: str, key: SecretStr | None) -> ModelInfo:
        """`GET /v1/models/{model}` (resolves aliases such as claude-sonnet-4-5).

        Raises:
            ProviderError: `model_not_found` and the other failures.
            ConfigError: no server configured.
        """
        call = self._server.call.for_model(model)
        body = request_json(
            self._server.client(), call, "GET", f"/v1/models/{quote(model, safe='')}", headers=self._headers(key)
        )
        return ModelInfo(name=str(body.get("id") or model), provider=self.name, family=body.get("display_name"))

    def close(self) -> None:
        self._server.close()

    def _headers(self, key: SecretStr | None) -> dict[str, str]:
        return auth_headers(key, self._version)


def auth_headers(key: SecretStr | None, version: str) -> dict[str, str]:
    """What every call to Anthropic's API carries: the API version and, if there is one, the key."""
    headers = {"anthropic-version": version}
    if key is not None:
        headers["x-api-key"] = key.get_secret_value()
    return headers
