"""Ollama's native API: `/api/chat` (NDJSON stream), `/api/tags`, `/api/show`, `/api/create` (NDJSON
progress) and `/api/blobs` (the files a created model uses).

Embeddings (`/api/embed`) are served by `gazette.embeddings`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from gazette.errors import ProviderError
from gazette.providers.models import ChatDone, ChatEvent, ChatRequest, CreateProgress, ModelInfo, TextDelta
from gazette.providers.transport import (
    Call,
    Hints,
    Server,
    bearer,
    chat_messages,
    json_or_none,
    lines,
    open_stream,
    parse_json,
    request_json,
    send,
)
from gazette.settings import Settings

WIRE = "Ollama NDJSON"
UPLOAD_CHUNK = 1 << 20
Progress = Callable[[CreateProgress], None]
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
        """`/api/show`: family, size, quantisation, context length and the transformer's shape.

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
        architecture = model_info.get("general.architecture")

        def number(name: str) -> int | None:
            value = model_info.get(f"{architecture}.{name}")
            if isinstance(value, list):  # per-layer values (sliding-window models): the largest counts
                value = max((item for item in value if isinstance(item, int)), default=None)
            return int(value) if isinstance(value, int | float) and value > 0 else None

        heads, embedding = number("attention.head_count"), number("embedding_length")
        head_dim = number("attention.key_length") or (embedding // heads if embedding and heads else None)
        lengths = [value for name, value in model_info.items() if name.endswith(".context_length")]
        count = model_info.get("general.parameter_count")
        return info.model_copy(
            update={
                "context_length": int(lengths[0]) if lengths else None,
                "parameter_count": int(count) if isinstance(count, int) else None,
                "layers": number("block_count"),
                "kv_heads": number("attention.head_count_kv") or heads,
                "head_dim": head_dim,
            }
        )

    def create(
        self,
        model: str,
        *,
        base: str,
        system: str | None = None,
        template: str | None = None,
        license: list[str] | None = None,
        messages: list[dict[str, str]] | None = None,
        parameters: dict[str, Any] | None = None,
        adapters: dict[str, str] | None = None,
        extra: dict[str, str] | None = None,
        key: SecretStr | None = None,
        progress: Progress | None = None,
    ) -> None:
        """`/api/create`: the model `model` from `base`, streaming Ollama's steps to `progress`.

        `adapters` maps file names to the digests of blobs already on the server (`push_blob`);
        `extra` carries instructions passed on as written (renderer, parser, requires).

        Raises:
            ProviderError: `unreachable`; `model_not_found` (Ollama has no such base and cannot pull
                it); `bad_request` (Ollama refused the request or failed to build the model);
                `interrupted` (the stream ended before `success`); the other failures.
            ConfigError: no server configured.
        """
        payload: dict[str, Any] = {"model": model, "from": base, "stream": True}
        optional = {
            "system": system, "template": template, "license": license, "messages": messages,
            "parameters": parameters, "adapters": adapters,
        }  # fmt: skip
        payload.update({name: value for name, value in {**optional, **(extra or {})}.items() if value})
        call = self._server.call.for_model(base)
        with open_stream(self._server.client(), call, "/api/create", payload, _headers(key)) as response:
            for line in lines(response, call):
                if not line.strip():
                    continue
                item = parse_json(line, call, WIRE)
                if "error" in item:
                    raise _create_failed(call, model, str(item["error"]))
                step = CreateProgress(
                    status=str(item.get("status") or ""),
                    digest=item.get("digest"),
                    total=item.get("total"),
                    completed=item.get("completed"),
                )
                if progress is not None:
                    progress(step)
                if step.status == "success":
                    return
        raise call.interrupted(f"Ollama stopped before it said `success` while creating {model!r}")

    def has_blob(self, digest: str, key: SecretStr | None = None) -> bool:
        """`HEAD /api/blobs/<digest>`: whether the server already holds that file.

        Raises:
            ProviderError: unreachable, or an answer other than 200 / 404.
            ConfigError: no server configured.
        """
        call = self._server.call
        response = send(self._server.client(), call, "HEAD", f"/api/blobs/{digest}", headers=_headers(key))
        if response.status_code in (200, 404):
            return response.status_code == 200
        raise call.failure(response.status_code, None, response.text)

    def push_blob(
        self, digest: str, path: Path, key: SecretStr | None = None, progress: Progress | None = None
    ) -> None:
        """`POST /api/blobs/<digest>`: upload the file at `path`, whose SHA-256 is `digest`.

        Raises:
            ProviderError: unreachable, or refused (400: the digest does not match the bytes).
            OSError: the file cannot be read.
            ConfigError: no server configured.
        """
        size = path.stat().st_size
        status = f"uploading {path.name}"

        def chunks() -> Iterator[bytes]:
            done = 0
            with path.open("rb") as file:
                while chunk := file.read(UPLOAD_CHUNK):
                    done += len(chunk)
                    yield chunk
                    if progress is not None:
                        progress(CreateProgress(status=status, digest=digest, total=size, completed=done))

        if progress is not None:
            progress(CreateProgress(status=status, digest=digest, total=size, completed=0))
        call = self._server.call
        headers = {**_headers(key), "Content-Length": str(size), "Content-Type": "application/octet-stream"}
        response = send(self._server.client(), call, "POST", f"/api/blobs/{digest}", content=chunks(), headers=headers)
        if response.status_code >= 400:
            raise call.failure(response.status_code, json_or_none(response), response.text)

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


def _create_failed(call: Call, model: str, error: str) -> ProviderError:
    """An error line of `/api/create`: a base Ollama could not find or pull, or a model it could not build."""
    lowered = error.lower()
    problem = f"could not create {model!r} ({error})"
    if "manifest" in lowered or "not found" in lowered or "does not exist" in lowered:
        advice = f"check the FROM line; {call.hints.pull.format(model=call.model or '')}"
        return call.error("model_not_found", problem, advice)
    return call.error("bad_request", problem, "check the Modelfile (`gazette training modelfile`) and Ollama's log")


def _headers(key: SecretStr | None) -> dict[str, str]:
    return bearer(key.get_secret_value() if key else None)
