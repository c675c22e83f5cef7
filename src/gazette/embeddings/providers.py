"""Embedding providers: `none`, `ollama` (/api/embed), `openai` (/v1/embeddings), `local` (MiniLM, local.py).

Built-ins are registered the way a plugin registers one: an entry point in the group
`gazette.embedders` whose object is a factory `(settings) -> Embedder`.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from typing import Any, Protocol

import httpx

from gazette.embeddings.local import LocalEmbedder
from gazette.errors import ConfigError, ProviderError
from gazette.settings import Settings

TIMEOUT = httpx.Timeout(60.0, connect=5.0)


class Embedder(Protocol):
    """Turns texts into vectors; `model` names what made them (stored beside the vectors)."""

    model: str

    def embed(self, texts: list[str]) -> list[list[float]]: ...


Factory = Callable[[Settings], Embedder]


class OllamaEmbedder:
    def __init__(self, settings: Settings, *, transport: httpx.BaseTransport | None = None) -> None:
        url = settings.providers.ollama.url
        name = settings.embeddings.model
        if not url or not name:
            raise ConfigError("the ollama embedder needs GAZETTE_PROVIDERS__OLLAMA__URL and GAZETTE_EMBEDDINGS__MODEL")
        self.model = f"ollama:{name}"
        self._name = name
        self._client = httpx.Client(base_url=url.rstrip("/"), timeout=TIMEOUT, transport=transport)

    def embed(self, texts: list[str]) -> list[list[float]]:
        body = _post(
            self._client, "/api/embed", {"model": self._name, "input": texts}, provider="ollama", model=self._name
        )
        vectors = body.get("embeddings")
        return _checked(vectors, len(texts), provider="ollama", model=self._name)


class OpenAIEmbedder:
    def __init__(self, settings: Settings, *, transport: httpx.BaseTransport | None = None) -> None:
        base = settings.providers.openai.base_url
        name = settings.embeddings.model
        if not base or not name:
            raise ConfigError(
                "the openai embedder needs GAZETTE_PROVIDERS__OPENAI__BASE_URL and GAZETTE_EMBEDDINGS__MODEL"
            )
        key = settings.providers.openai.api_key
        headers = {"Authorization": f"Bearer {key.get_secret_value()}"} if key else {}
        self.model = f"openai:{name}"
        self._name = name
        self._client = httpx.Client(base_url=base.rstrip("/"), timeout=TIMEOUT, headers=headers, transport=transport)

    def embed(self, texts: list[str]) -> list[list[float]]:
        body = _post(
            self._client, "/embeddings", {"model": self._name, "input": texts}, provider="openai", model=self._name
        )
        data = sorted(body.get("data") or [], key=lambda item: item.get("index", 0))
        return _checked([item.get("embedding") for item in data], len(texts), provider="openai", model=self._name)


def _post(client: httpx.Client, path: str, payload: dict[str, Any], *, provider: str, model: str) -> dict[str, Any]:
    where = f"{provider} at {client.base_url}"
    try:
        response = client.post(path, json=payload)
    except httpx.TimeoutException:
        raise ProviderError(f"{where} timed out embedding with {model!r}") from None
    except httpx.HTTPError as exc:
        raise ProviderError(f"{where} is unreachable ({exc}); is it running?") from None
    if response.status_code == 404:
        raise ProviderError(f"{where} does not know the model {model!r} (404); pull or name another model")
    if response.status_code in (401, 403):
        raise ProviderError(f"{where} refused the credentials ({response.status_code}); check the API key")
    if not response.is_success:
        raise ProviderError(f"{where} answered {response.status_code} for {model!r}: {response.text[:200]}")
    try:
        body = response.json()
    except ValueError:
        raise ProviderError(f"{where} answered something that is not JSON") from None
    if not isinstance(body, dict):
        raise ProviderError(f"{where} answered an unexpected shape")
    return body


def _checked(vectors: Any, count: int, *, provider: str, model: str) -> list[list[float]]:
    if not isinstance(vectors, list) or len(vectors) != count or not all(isinstance(v, list) and v for v in vectors):
        raise ProviderError(
            f"{provider} returned {0 if not isinstance(vectors, list) else len(vectors)} vectors "
            f"for {count} texts with {model!r}"
        )
    width = len(vectors[0])
    if any(len(vector) != width for vector in vectors):
        raise ProviderError(f"{provider} returned vectors of different sizes with {model!r}")
    return [[float(x) for x in vector] for vector in vectors]


BUILT_IN: dict[str, Factory] = {"ollama": OllamaEmbedder, "openai": OpenAIEmbedder, "local": LocalEmbedder}


def load_embedder(settings: Settings) -> Embedder | None:
    """The configured embedder, or None for `none`.

    Raises:
        ConfigError: an unknown provider, or one that is not configured or installed.
    """
    name = settings.embeddings.provider.lower()
    if name == "none":
        return None
    factories = dict(BUILT_IN)
    for entry in importlib.metadata.entry_points(group="gazette.embedders"):
        factories.setdefault(entry.name, entry.load())
    factory = factories.get(name)
    if factory is None:
        raise ConfigError(f"unknown embedding provider {name!r}: use none, {', '.join(sorted(factories))}")
    return factory(settings)
