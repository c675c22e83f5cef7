"""Model providers (Ollama, OpenAI-compatible servers, Anthropic, plugins), routes and streaming calls."""

from gazette.providers.base import Factory, Provider
from gazette.providers.models import (
    Catalog,
    ChatDone,
    ChatEvent,
    ChatMessage,
    ChatRequest,
    CreateProgress,
    ModelInfo,
    ProviderStatus,
    Route,
    RouteStatus,
    TextDelta,
)
from gazette.providers.registry import ENTRY_POINT_GROUP, Providers

__all__ = [
    "ENTRY_POINT_GROUP",
    "Catalog",
    "ChatDone",
    "ChatEvent",
    "ChatMessage",
    "ChatRequest",
    "CreateProgress",
    "Factory",
    "ModelInfo",
    "Provider",
    "ProviderStatus",
    "Providers",
    "Route",
    "RouteStatus",
    "TextDelta",
]
