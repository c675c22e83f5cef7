"""HTTP surface: FastAPI app with the MCP streamable HTTP endpoint mounted at /mcp."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.routing import Route

from gazette import __version__
from gazette.api.errors import install_error_handlers
from gazette.api.mcp_auth import RequireCredential
from gazette.api.metrics import Metrics
from gazette.api.middleware import RequestContextMiddleware
from gazette.api.routes import auth, chat, chat_ws, health, memory, system, webhooks
from gazette.app import Gazette

MCP_PATH = "/mcp"


def create_app(gz: Gazette) -> FastAPI:
    """Build the HTTP app for one `Gazette`; the MCP session manager runs in its lifespan."""
    from gazette.mcp_server import build_mcp_server

    mcp = build_mcp_server(gz, transport="http")
    mcp_app = mcp.streamable_http_app(streamable_http_path=MCP_PATH, host=gz.settings.server.host)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Mounted sub-apps' lifespans do not run: start the MCP session manager here.
        async with mcp.session_manager.run():
            yield

    app = FastAPI(
        title="Gazette",
        version=__version__,
        summary="Local-first MCP gateway and memory for developers and their AI agents.",
        lifespan=lifespan,
    )
    app.state.gazette = gz
    app.state.metrics = Metrics()
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(system.router)
    app.include_router(auth.router)
    app.include_router(memory.router)
    app.include_router(chat.router)
    app.include_router(chat_ws.router)
    app.include_router(webhooks.router)
    # An exact route (not a Mount) so that POST /mcp is served without a redirect to /mcp/.
    app.router.routes.append(Route(MCP_PATH, endpoint=RequireCredential(mcp_app, gz), include_in_schema=False))
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
    return app


__all__ = ["MCP_PATH", "create_app"]
