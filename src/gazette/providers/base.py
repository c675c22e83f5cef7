"""The `Provider` protocol a model server adapter implements, built-in or from a plugin.

A plugin registers a factory `(settings: Settings) -> Provider` in the entry-point group
`gazette.providers`, exactly as the built-ins do in Gazette's own `pyproject.toml`:

    [project.entry-points."gazette.providers"]
    acme = "acme_gazette:AcmeProvider"

The entry point's name is the provider's name in routes (`acme:some-model`) and in the vault
(`gazette auth add acme`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from pydantic import SecretStr

from gazette.providers.models import ChatEvent, ChatRequest, ModelInfo
from gazette.settings import Settings


class Provider(Protocol):
    """A model server. Methods raise `ProviderError` (see `transport.Call`) for every failure."""

    name: str
    endpoint: str | None  # the server's base URL; None: not configured
    needs_key: bool  # refuse to call without a key (hosted APIs); local servers take one if stored
    chat_path: str  # recorded in the provider-call log
    setup: str  # how to configure it, shown when it is not

    def chat(self, model: str, request: ChatRequest, key: SecretStr | None) -> Iterator[ChatEvent]:
        """Stream the answer: `TextDelta`s, then exactly one `ChatDone`."""
        ...

    def list_models(self, key: SecretStr | None) -> list[ModelInfo]:
        """The models the server offers now (a short timeout: it doubles as the reachability probe)."""
        ...

    def show(self, model: str, key: SecretStr | None) -> ModelInfo:
        """What the server tells about one model."""
        ...

    def close(self) -> None: ...


Factory = Callable[[Settings], Provider]
