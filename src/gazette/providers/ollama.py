"""Ollama's native API: `/api/chat` (NDJSON stream), `/api/tags`, `/api/show`, `/api/create`.

Embeddings (`/api/embed`) are served by `gazette.embeddings`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import SecretStr

from gazette.providers.models import ChatDone, ChatEvent, ChatRequest, ModelInfo, TextDelta
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

WIRE = "Ollama NDJSON"
HINTS = Hints(
    address="start it with `ollama serve`, or point OLLAMA_HOST / GAZETTE_PROVIDERS__OLLAMA__URL at it",
    key="Ollama itself needs no key; for a proxy in front of it store one with `gazette auth add ollama`",
    pull="pull it with `ollama pull {model}`, or pick one from `gazette models list`",
)


class OllamaProvider:
    name = "ollama"
    needs_key = False
    chat_path = "/api/chat"
    setup = "set OLLAMA_HOST or GAZETTE_PROVIDERS__OLLAMA__URL (e.g. http://127.0.0.1:11434)"

    def __init__(self, settings: Settings) -> None:
        self._server = Server(
            settings, provider=self.name, url=settings.providers.ollama.url, hints=HINTS, setup=self.setup
        )
        self.endpoint = self._server.url

    def chat(self, model: str, request: ChatRequest, key: SecretStr | None) -> Iterator[ChatEvent]:
        """Stream `/api/chat`.

        Raises:
            ProviderError: any failure, with its reason.
            ConfigError: no server configured.
        """
        call = self._server.call.for_model(model)
        options = {
            name: value
            for name, value in (
                ("temperature", request.temperature),
                ("num_predict", request.max_tokens),
                ("num_ctx", request.num_ctx),
            )
            if value is not None
        }
        payload: dict[str, Any] = {"model": model, "messages": chat_messages(request), "stream": True}
        if options:
            payload["options"] = options
        with open_stream(self._server.client(), call, self.chat_path, payload, _headers(key)) as response:
            for line in lines(response, call):
                if not line.strip():
                    continue
                item = parse_json(line, call, WIRE)
                if "error" in item:
                    raise call.failure(200, item)
                content = (item.get("message") or {}).get("content")
                if content:
                    yield TextDelta(text=str(content))
                if item.get("done"):
                    yield ChatDone(
                        provider=self.name,
                        model=model,
                        prompt_tokens=item.get("prompt_eval_count"),
                        completion_tokens=item.get("eval_count"),
                        finish_reason=item.get("done_reason") or "stop",
                    )
                    return
        raise call.interrupted("the stream ended without its final `done` line")

    def list_models(self, key: SecretStr | None) -> list[ModelInfo]:
        """`/api/tags`.

        Raises:
            ProviderError: unreachable, refused, or not Ollama.
            ConfigError: no server configured.
        """
        server = self._server
        body = request_json(
            server.client(), server.call, "GET", "/api/tags", headers=_headers(key), timeout=server.probe_timeout
        )
        models = body.get("models")
        if not isinstance(models, list):
            raise server.call.malformed("Ollama's model list", "no `models` in /api/tags")
        return [
            self._info(str(item.get("name") or item.get("model")), item) for item in models if isinstance(item, dict)
        ]

    def show(self, model: str, key: SecretStr | None) -> ModelInfo:
        """`/api/show`: family, size, quantisation and context length.

        Raises:
            ProviderError: `model_not_found` and the other failures.
            ConfigError: no server configured.
        """
        call = self._server.call.for_model(model)
        body = request_json(
            self._server.client(), call, "POST", "/api/show", payload={"model": model}, headers=_headers(key)
        )
        info = self._info(model, body)
        model_info = body.get("model_info") or {}
        lengths = [value for name, value in model_info.items() if name.endswith(".context_length")]
        return info.model_copy(update={"context_length": int(lengths[0]) if lengths else None})

    def create(
        self,
        model: str,
        *,
        base: str,
        system: str | None = None,
        parameters: dict[str, Any] | None = None,
        key: SecretStr | None = None,
    ) -> None:
        """`/api/create`: a new model from `base` with its own system prompt and parameters.

        Raises:
            ProviderError: `model_not_found` (no such base) and the other failures.
            ConfigError: no server configured.
        """
        payload: dict[str, Any] = {"model": model, "from": base, "stream": False}
        if system is not None:
            payload["system"] = system
        if parameters:
            payload["parameters"] = parameters
        call = self._server.call.for_model(base)
        body = request_json(self._server.client(), call, "POST", "/api/create", payload=payload, headers=_headers(key))
        if body.get("status") != "success":
            raise call.malformed("Ollama's create answer", f"status {body.get('status')!r}")

    def close(self) -> None:
        self._server.close()

    def _info(self, name: str, body: dict[str, Any]) -> ModelInfo:
        details = body.get("details") or {}
        return ModelInfo(
            name=name,
            provider=self.name,
            size=body.get("size"),
            family=details.get("family"),
            parameter_size=details.get("parameter_size"),
            quantization=details.get("quantization_level"),
        )


def _headers(key: SecretStr | None) -> dict[str, str]:
    return bearer(key.get_secret_value() if key else None)
