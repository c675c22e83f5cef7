"""Authentication in front of the MCP endpoint: no credential, no MCP session."""

from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from gazette.app import Gazette
from gazette.errors import AuthenticationError, RateLimitedError
from gazette.mcp_server import PRINCIPAL_SCOPE_KEY


class RequireCredential:
    """Resolve the caller before the MCP app sees the request; the tools read it from the scope."""

    def __init__(self, app: ASGIApp, gz: Gazette) -> None:
        self.app = app
        self.gz = gz

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        client = scope["client"][0] if scope.get("client") else None
        try:
            principal = await run_in_threadpool(
                self.gz.authenticator.authenticate, headers.get, surface="mcp", client=client
            )
        except (AuthenticationError, RateLimitedError) as exc:
            body = json.dumps(exc.to_dict()).encode()
            headers_out = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            if isinstance(exc, RateLimitedError):
                status = 429
                headers_out.append((b"retry-after", str(max(1, round(exc.retry_after))).encode()))
            else:
                status = 401
                headers_out.append((b"www-authenticate", b'Bearer realm="gazette"'))
            await send({"type": "http.response.start", "status": status, "headers": headers_out})
            await send({"type": "http.response.body", "body": body})
            return
        scope[PRINCIPAL_SCOPE_KEY] = principal
        await self.app(scope, receive, send)
