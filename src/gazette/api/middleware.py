"""ASGI middleware: a request id on every call, an access log line, and metrics."""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gazette.api.metrics import Metrics
from gazette.api.ratelimit_headers import rate_limit_headers
from gazette.logs import REQUEST_ID_HEADER, bind_request_id, clear_request_id, get_logger

log = get_logger("gazette.http")
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, REQUEST_ID_HEADER)
        request_id = bind_request_id(incoming if incoming and _VALID_ID.match(incoming) else None)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                extra = [(REQUEST_ID_HEADER.encode(), request_id.encode())]
                quotas = scope.get("state", {}).get("quotas")
                if quotas:
                    extra.extend(rate_limit_headers(quotas))
                message["headers"] = [*message["headers"], *extra]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.metrics.in_flight.dec()
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            self.metrics.observe(scope["method"], route, status, elapsed)
            log.info(
                "http request",
                method=scope["method"],
                path=scope["path"],
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
            clear_request_id()


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.encode()
    for key, value in scope.get("headers", []):
        if key.lower() == wanted:
            return bytes(value).decode("latin-1")
    return None


def _route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    if route is not None and hasattr(route, "path"):
        return str(route.path)
    app: Any = scope.get("app")
    for candidate in getattr(app, "routes", ()):
        match, _ = candidate.matches(scope)
        if match == Match.FULL:
            return str(getattr(candidate, "path", "<unmatched>"))
    # Unknown paths share one label so scanners cannot blow up the label space.
    return "<unmatched>"
