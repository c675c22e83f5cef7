"""What goes into a model call and what comes out: requests, stream events, model and route facts."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class ChatRequest(BaseModel):
    """A conversation to continue. The model comes from the route, not from here."""

    messages: list[ChatMessage]
    system: str | None = Field(default=None, description="Instructions sent ahead of the messages.")
    temperature: float | None = Field(default=None, ge=0)
    max_tokens: int | None = Field(default=None, ge=1, description="Longest answer, in tokens.")
    num_ctx: int | None = Field(default=None, ge=1, description="Context window to load (Ollama only).")

    def is_empty(self) -> bool:
        """True when no user message carries any text."""
        return not any(message.content.strip() for message in self.messages if message.role == "user")


class TextDelta(BaseModel):
    """The next piece of the answer."""

    type: Literal["text"] = "text"
    text: str


class ChatDone(BaseModel):
    """The last event of a stream: usage, why it stopped and how long it took."""

    type: Literal["done"] = "done"
    provider: str
    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    # Set by `Providers.stream`, which times the whole call (retries included).
    latency_ms: int | None = None
    first_token_ms: int | None = None


ChatEvent = TextDelta | ChatDone


class ModelInfo(BaseModel):
    """A model a provider serves, with what the provider tells about it."""

    name: str
    provider: str
    size: int | None = Field(default=None, description="Bytes on disk (Ollama).")
    family: str | None = None
    parameter_size: str | None = None
    quantization: str | None = None
    context_length: int | None = None
    # The transformer's shape (Ollama's /api/show), for memory estimates (`gazette doctor`).
    parameter_count: int | None = None
    layers: int | None = None
    kv_heads: int | None = None
    head_dim: int | None = None


class CreateProgress(BaseModel):
    """One step of creating a model on a server (Ollama's `/api/create` and blob uploads)."""

    status: str
    digest: str | None = None
    total: int | None = Field(default=None, description="Bytes in all, for a step that moves bytes.")
    completed: int | None = Field(default=None, description="Bytes done so far.")


class Route(BaseModel):
    """Where a model name leads: a provider and the provider's own model name."""

    name: str
    provider: str
    model: str
    source: Literal["route", "direct", "ollama"] = Field(
        description="route: an alias in models.routes; direct: provider:model; ollama: a model on the Ollama server."
    )

    @property
    def target(self) -> str:
        return f"{self.provider}:{self.model}"


class ProviderStatus(BaseModel):
    """One provider as `gazette models list` shows it."""

    name: str
    endpoint: str | None = Field(description="None: not configured.")
    key: Literal["own", "operator", "none", "missing"] = Field(
        description="Whose key a call would use; none: the server needs none; missing: it needs one."
    )
    reachable: bool
    detail: str
    models: list[str] = Field(default_factory=list)


class RouteStatus(BaseModel):
    """One model name and whether a call to it could succeed right now."""

    name: str
    target: str
    source: Literal["route", "direct", "ollama"]
    default: bool = False
    reachable: bool
    detail: str


class Catalog(BaseModel):
    providers: list[ProviderStatus]
    routes: list[RouteStatus]
