"""`Providers`: the model providers of this process, the routes to them, and calls through them.

Providers come from the entry-point group `gazette.providers` (the built-ins too). A model name
resolves, in order: an alias in `models.routes` -> `provider:model` -> a model on the Ollama server.
A call checks the `models:use` scope, takes the key and counts it against the key's own limits
(`ProviderKeys.acquire`), streams, and retries only a connection that failed before anything
was sent.
"""

from __future__ import annotations

import importlib.metadata
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Literal

from gazette.auth.models import Principal
from gazette.auth.provider_keys import NO_KEY_MESSAGE, ProviderKey
from gazette.auth.service import require_scope
from gazette.errors import (
    ConfigError,
    GazetteError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
)
from gazette.logs import get_logger
from gazette.providers.base import Provider
from gazette.providers.models import (
    Catalog,
    ChatDone,
    ChatEvent,
    ChatRequest,
    ModelInfo,
    ProviderStatus,
    Route,
    RouteStatus,
    TextDelta,
)
from gazette.redaction import MASK

if TYPE_CHECKING:
    from gazette.app import Gazette

ENTRY_POINT_GROUP = "gazette.providers"
log = get_logger("gazette.providers")


class Providers:
    """The provider registry of one `Gazette` (`gz.providers`)."""

    def __init__(self, gz: Gazette, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._gz = gz
        self._settings = gz.settings
        # Waits between connection retries; injectable so that a test can act between attempts.
        self._sleep = sleep
        self._loaded: dict[str, Provider] | None = None
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """Installed providers, sorted.

        Raises:
            ConfigError: no provider is installed.
        """
        return sorted(self._providers())

    def get(self, name: str) -> Provider:
        """The provider registered as `name`.

        Raises:
            NotFoundError: no provider of that name is installed.
        """
        provider = self._providers().get(name)
        if provider is None:
            raise NotFoundError(
                f"no model provider {name!r}; installed: {', '.join(self.names())}", details={"provider": name}
            )
        return provider

    def resolve(self, model_name: str | None) -> Route:
        """Where `model_name` (or, when empty, `models.default`) leads.

        Raises:
            InvalidInputError: no name given and no default route.
            ConfigError: the route names a provider that is not installed.
            NotFoundError: not a route, not `provider:model`, not on the Ollama server.
            ProviderError: the Ollama server could not be asked.
        """
        name = (model_name or "").strip() or (self._settings.models.default or "").strip()
        if not name:
            raise InvalidInputError(
                "no model named and no default: name one, or set models.default (GAZETTE_MODELS__DEFAULT); "
                "`gazette models list` shows the routes"
            )
        routes = self._settings.models.routes
        if name in routes:
            split = self._split(routes[name])
            if split is None:
                raise ConfigError(
                    f"route {name!r} -> {routes[name]!r} must be provider:model with an installed provider "
                    f"({', '.join(self.names())}), e.g. ollama:llama3.2",
                    details={"route": name},
                )
            return Route(name=name, provider=split[0], model=split[1], source="route")
        split = self._split(name)
        if split is not None:
            return Route(name=name, provider=split[0], model=split[1], source="direct")
        ollama = self._providers().get("ollama")
        if ollama is not None and ollama.endpoint is not None:
            try:
                listed = [info.name for info in ollama.list_models(None)]
            except ProviderError as exc:
                raise ProviderError(
                    f"cannot look up model {name!r}: {exc.message}",
                    reason=exc.reason,
                    details={**exc.details, "model": name},
                ) from None
            match = _on_ollama(name, listed)
            if match is not None:
                return Route(name=name, provider="ollama", model=match, source="ollama")
        where = (
            ", not provider:model and not on the Ollama server" if ollama and ollama.endpoint else " nor provider:model"
        )
        known = ", ".join(sorted(routes)) or "none"
        raise NotFoundError(
            f"unknown model {name!r}: not a route{where}; known routes: {known}; see `gazette models list`",
            details={"model": name},
        )

    def stream(self, principal: Principal, model_name: str | None, request: ChatRequest) -> Iterator[ChatEvent]:
        """Send `request` to the model `model_name` resolves to; iterate for the answer.

        Everything that can be refused is refused here, before the first event; failures of the
        call itself are raised while iterating.

        Raises:
            PermissionDeniedError: no `models:use` scope, or no key the principal may use.
            InvalidInputError: an empty prompt, or no model and no default.
            NotFoundError: an unknown model.
            ConfigError: a route to a provider that is not installed or not configured.
            RateLimitedError: the key's own rpm or rpd is reached.
            ProviderError: the call failed (while iterating; also before, when an Ollama lookup fails).
        """
        require_scope(principal, "models:use")
        route = self.resolve(model_name)
        provider = self._configured(route)
        if request.is_empty():
            raise InvalidInputError(
                f"{provider.name} model {route.model!r}: the prompt is empty; write something for the model to answer",
                details={"provider": provider.name, "model": route.model},
            )
        try:
            key = self._gz.provider_keys.acquire(principal, provider.name, required=provider.needs_key)
        except PermissionDeniedError as exc:
            if exc.message != NO_KEY_MESSAGE:
                raise
            raise _no_key(provider, route) from None
        return self._call(provider, route, request, key)

    def show(self, principal: Principal, model_name: str | None) -> ModelInfo:
        """What the provider tells about the model `model_name` resolves to (not counted as a call).

        Raises:
            PermissionDeniedError: no `models:use` scope, or no key for a provider that needs one.
            InvalidInputError, NotFoundError, ConfigError: as `resolve`.
            ProviderError: the provider failed or does not know the model.
        """
        require_scope(principal, "models:use")
        route = self.resolve(model_name)
        provider = self._configured(route)
        key = self._gz.provider_keys.find(principal, provider.name)
        if key is None and provider.needs_key:
            raise _no_key(provider, route)
        return provider.show(route.model, key.secret if key else None)

    def catalog(self, principal: Principal) -> Catalog:
        """Every provider and route, and whether each is reachable right now (probed in parallel).

        Raises:
            PermissionDeniedError: no `models:use` scope.
            ConfigError: a stored key cannot be opened.
        """
        require_scope(principal, "models:use")
        providers = self._providers()
        keys = {name: self._gz.provider_keys.find(principal, name) for name in providers}
        with ThreadPoolExecutor(max_workers=len(providers)) as pool:
            probes = dict(zip(providers, pool.map(lambda n: _probe(providers[n], keys[n]), providers), strict=True))
        statuses = [probes[name] for name in sorted(probes)]
        return Catalog(providers=statuses, routes=self._route_statuses(probes))

    def close(self) -> None:
        for provider in (self._loaded or {}).values():
            provider.close()

    def _configured(self, route: Route) -> Provider:
        provider = self.get(route.provider)
        if provider.endpoint is None:
            raise ConfigError(
                f"{provider.name} is not configured (model {route.model!r}): {provider.setup}",
                details={"provider": provider.name, "model": route.model},
            )
        return provider

    def _route_statuses(self, probes: dict[str, ProviderStatus]) -> list[RouteStatus]:
        default = (self._settings.models.default or "").strip()
        routes = dict(self._settings.models.routes)
        rows = []
        names = sorted(routes) + ([default] if default and default not in routes else [])
        for name in names:
            target = routes.get(name, name)
            split = self._split(target)
            source: Literal["route", "direct"] = "route" if name in routes else "direct"
            if split is None:
                rows.append(
                    RouteStatus(
                        name=name, target=target, source=source, default=name == default, reachable=False,
                        detail="not provider:model with an installed provider",
                    )
                )  # fmt: skip
                continue
            reachable, detail = _route_reachable(probes[split[0]], split[1])
            rows.append(
                RouteStatus(
                    name=name, target=f"{split[0]}:{split[1]}", source=source, default=name == default,
                    reachable=reachable, detail=detail,
                )
            )  # fmt: skip
        ollama = probes.get("ollama")
        if ollama is not None and ollama.reachable:
            routed = [row.target.removeprefix("ollama:") for row in rows if row.target.startswith("ollama:")]
            for model in ollama.models:
                if not any(_on_ollama(name, [model]) for name in routed):
                    rows.append(
                        RouteStatus(
                            name=model, target=f"ollama:{model}", source="ollama", default=model == default,
                            reachable=True, detail="on the Ollama server",
                        )
                    )  # fmt: skip
        return rows

    def _call(
        self, provider: Provider, route: Route, request: ChatRequest, key: ProviderKey | None
    ) -> Iterator[ChatEvent]:
        started = time.monotonic()
        first: float | None = None
        delays = list(self._settings.providers.retry_backoff_seconds)
        secret = key.secret if key else None
        while True:
            streamed = False
            events = provider.chat(route.model, request, secret)
            try:
                for event in events:
                    streamed = True
                    if isinstance(event, TextDelta) and first is None:
                        first = time.monotonic()
                    yield self._timed(event, started, first) if isinstance(event, ChatDone) else event
            except ProviderError as exc:
                # Only a connection that never opened is safe to retry: nothing reached the model.
                if exc.reason == "unreachable" and not streamed and delays:
                    delay = delays.pop(0)
                    log.info("model.retry", provider=provider.name, model=route.model, wait_seconds=delay)
                    self._sleep(delay)
                    continue
                self._record(provider, key, exc.details.get("status_code") or (200 if streamed else None))
                log.info("model.failed", provider=provider.name, model=route.model, reason=exc.reason)
                if secret is not None and secret.get_secret_value() in exc.message:
                    message = exc.message.replace(secret.get_secret_value(), MASK)
                    raise ProviderError(message, reason=exc.reason, details=exc.details) from None
                raise
            except GazetteError:
                raise
            except Exception as exc:  # a plugin that let a foreign error through: still one clear message
                log.exception("model.failed", provider=provider.name, model=route.model)
                raise ProviderError(
                    f"{provider.name} model {route.model!r}: the provider failed unexpectedly "
                    f"({type(exc).__name__}); see the log",
                    details={"provider": provider.name, "model": route.model},
                ) from None
            finally:
                close = getattr(events, "close", None)
                if close is not None:
                    close()
            self._record(provider, key, 200)
            return

    def _timed(self, event: ChatDone, started: float, first: float | None) -> ChatDone:
        now = time.monotonic()
        timed = event.model_copy(
            update={
                "latency_ms": round((now - started) * 1000),
                "first_token_ms": round((first - started) * 1000) if first is not None else None,
            }
        )
        log.info(
            "model.call",
            provider=timed.provider,
            model=timed.model,
            prompt_tokens=timed.prompt_tokens,
            completion_tokens=timed.completion_tokens,
            latency_ms=timed.latency_ms,
            first_token_ms=timed.first_token_ms,
        )
        return timed

    def _record(self, provider: Provider, key: ProviderKey | None, status_code: int | None) -> None:
        if key is not None and status_code is not None:
            self._gz.provider_keys.record_call(key, endpoint=provider.chat_path, status_code=status_code)

    def _split(self, target: str) -> tuple[str, str] | None:
        provider, sep, model = target.partition(":")
        if sep and model and provider in self._providers():
            return provider, model
        return None

    def _providers(self) -> dict[str, Provider]:
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    def _load(self) -> dict[str, Provider]:
        loaded: dict[str, Provider] = {}
        entries = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        # Built-ins first: a plugin cannot take over a built-in's name.
        for entry in sorted(entries, key=lambda e: (not _built_in(e), e.name)):
            if entry.name in loaded:
                log.warning("provider.duplicate", provider=entry.name, ignored=entry.value)
                continue
            try:
                loaded[entry.name] = entry.load()(self._settings)
            except Exception as exc:
                if _built_in(entry):
                    raise
                # One broken plugin must not take the other providers down with it.
                log.warning("provider.unusable", provider=entry.name, error=f"{type(exc).__name__}: {exc}")
        if not loaded:
            raise ConfigError(
                f"no model providers are installed (entry-point group {ENTRY_POINT_GROUP!r}): reinstall gazette"
            )
        return loaded


def _no_key(provider: Provider, route: Route) -> PermissionDeniedError:
    """The seed's 403, saying for which provider and model, and how to give a key."""
    return PermissionDeniedError(
        f"{NO_KEY_MESSAGE} ({provider.name} model {route.model!r}: store one with `gazette auth add {provider.name}`)",
        details={"provider": provider.name, "model": route.model},
    )


def _built_in(entry: importlib.metadata.EntryPoint) -> bool:
    return entry.dist is not None and entry.dist.name == "gazette"


def _on_ollama(name: str, listed: list[str]) -> str | None:
    """Ollama's own matching: `llama3.2` is `llama3.2:latest`."""
    if name in listed:
        return name
    if ":" not in name and f"{name}:latest" in listed:
        return f"{name}:latest"
    return None


def _probe(provider: Provider, key: ProviderKey | None) -> ProviderStatus:
    key_state: Literal["own", "operator", "none", "missing"] = (
        key.source if key else ("missing" if provider.needs_key else "none")
    )
    status = ProviderStatus(name=provider.name, endpoint=provider.endpoint, key=key_state, reachable=False, detail="")
    if provider.endpoint is None:
        return status.model_copy(update={"detail": f"not configured: {provider.setup}"})
    if key is None and provider.needs_key:
        return status.model_copy(update={"detail": f"no key: {provider.setup}"})
    try:
        models = provider.list_models(key.secret if key else None)
    except GazetteError as exc:
        return status.model_copy(update={"detail": exc.message})
    except Exception as exc:  # a plugin's bug must not hide the other providers
        log.exception("provider.probe_failed", provider=provider.name)
        return status.model_copy(update={"detail": f"failed unexpectedly ({type(exc).__name__}); see the log"})
    names = [info.name for info in models]
    return status.model_copy(update={"reachable": True, "detail": f"ok, {len(names)} models", "models": names})


def _route_reachable(provider: ProviderStatus, model: str) -> tuple[bool, str]:
    if not provider.reachable:
        return False, f"{provider.name}: {provider.detail}"
    listed = provider.models
    # Ollama's `x` is `x:latest`; hosted APIs list dated ids (claude-sonnet-4-5-20250929) for aliases.
    if (
        model in listed
        or (provider.name == "ollama" and _on_ollama(model, listed))
        or any(name.startswith(f"{model}-") for name in listed)
    ):
        return True, "ok"
    return False, f"{provider.name} is reachable but does not list {model!r}"
