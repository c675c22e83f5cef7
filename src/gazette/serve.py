"""`serve`: one process, three listeners (HTTP + MCP at /mcp, gRPC), graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from gazette.app import Gazette
from gazette.logs import get_logger
from gazette.net import bind_tcp

log = get_logger("gazette.serve")

SHUTDOWN_GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class Endpoints:
    host: str
    http_port: int
    grpc_port: int
    admin_token: str | None = None
    admin_token_path: str | None = None

    @property
    def http_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.http_port}"

    @property
    def mcp_url(self) -> str:
        return f"{self.http_url}/mcp"

    @property
    def grpc_target(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.grpc_port}"


def run_stdio(gz: Gazette) -> None:
    """Serve MCP over stdio (stdout carries the protocol; logs go to stderr).

    Raises:
        StoreUnavailableError: the store cannot be reached or migrated.
    """
    from gazette.mcp_server import build_mcp_server

    gz.store.ensure_migrated()
    try:
        build_mcp_server(gz, transport="stdio").run("stdio")
    finally:
        gz.close()


def run(
    gz: Gazette,
    *,
    host: str,
    port: int,
    grpc_port: int,
    on_ready: Callable[[Endpoints], None],
    watch: bool = False,
) -> None:
    """Migrate, bind every port (failing fast, before anything starts), serve until SIGINT/SIGTERM.

    Raises:
        PortInUseError: a port is taken.
        StoreUnavailableError: the store cannot be reached or migrated.
    """
    gz.store.ensure_migrated()
    http_socket = bind_tcp(host, port, hint="--port (or GAZETTE_SERVER__PORT)")
    watcher = None
    try:
        admin = gz.auth.bootstrap_admin()
        if watch:
            from gazette.index.freshness import watch_in_background

            watcher = watch_in_background(gz, gz.local_owner())
        asyncio.run(
            _serve(
                gz,
                http_socket=http_socket,
                host=host,
                grpc_port=grpc_port,
                on_ready=on_ready,
                admin_token=admin.token if admin else None,
            )
        )
    finally:
        if watcher is not None:
            watcher[1].set()
        http_socket.close()


def _stop_on_signals(server: Any) -> None:
    """First SIGINT/SIGTERM drains and stops every listener; a second one forces the exit."""
    loop = asyncio.get_running_loop()

    def request_stop(signum: signal.Signals) -> None:
        if server.should_exit:
            server.force_exit = True
        server.should_exit = True
        log.info("shutdown requested", signal=signum.name)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, request_stop, signum)


async def _serve(
    gz: Gazette,
    *,
    http_socket: socket.socket,
    host: str,
    grpc_port: int,
    on_ready: Callable[[Endpoints], None],
    admin_token: str | None,
) -> None:
    import uvicorn

    class _Server(uvicorn.Server):
        # uvicorn re-raises captured signals when serve() returns, which would kill the process
        # before gRPC drains; `_stop_on_signals` handles them instead.
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    from gazette.api import create_app
    from gazette.grpc_server import GrpcServer

    grpc_server = GrpcServer(gz, host, grpc_port)
    config = uvicorn.Config(
        create_app(gz),
        log_config=None,
        access_log=False,
        ws="auto",
        lifespan="on",
        proxy_headers=True,
        forwarded_allow_ips=gz.settings.server.forwarded_allow_ips,
        timeout_graceful_shutdown=int(SHUTDOWN_GRACE_SECONDS),
    )
    server = _Server(config)
    endpoints = Endpoints(
        host=host,
        http_port=http_socket.getsockname()[1],
        grpc_port=grpc_server.port,
        admin_token=admin_token,
        admin_token_path=str(gz.auth.admin_token_path),
    )
    await grpc_server.start()
    gz.jobs.start()
    gz.webhooks.start()
    try:
        # Both ports are bound already: clients connecting now are queued until uvicorn accepts.
        log.info("gazette serving", http=endpoints.http_url, mcp=endpoints.mcp_url, grpc=endpoints.grpc_target)
        on_ready(endpoints)
        _stop_on_signals(server)
        await server.serve(sockets=[http_socket])
    finally:
        log.info("gazette stopping")
        await grpc_server.stop(SHUTDOWN_GRACE_SECONDS)
        gz.jobs.stop()
        gz.webhooks.stop()
        gz.close()
        log.info("gazette stopped")
