"""`gazette serve`: HTTP (with /mcp) and gRPC in one process."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from gazette.cli.context import cli_context

if TYPE_CHECKING:
    from gazette.serve import Endpoints


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to bind [default: 127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port, also serving MCP at /mcp [default: 4444].")] = None,
    grpc_port: Annotated[int | None, typer.Option("--grpc-port", help="gRPC port [default: 50051].")] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Re-index registered repositories when files change.")] = False,
) -> None:
    """Serve the HTTP API, MCP (streamable HTTP at /mcp) and gRPC until Ctrl-C or SIGTERM."""
    from gazette.serve import run

    server = {
        key: value for key, value in (("host", host), ("port", port), ("grpc_port", grpc_port)) if value is not None
    }
    gz = cli_context(ctx).gazette(long_running=True, server=server)
    settings = gz.settings.server
    run(gz, host=settings.host, port=settings.port, grpc_port=settings.grpc_port, on_ready=_banner, watch=watch)


def _banner(endpoints: Endpoints) -> None:
    # Plain text: Rich would wrap the URLs and the JSON snippet at 80 columns off a terminal.
    server = {"type": "http", "url": endpoints.mcp_url, "headers": {"Authorization": "Bearer <token>"}}
    snippet = json.dumps({"mcpServers": {"gazette": server}}, indent=2)
    sys.stderr.write(
        "Gazette is serving\n"
        f"  HTTP  {endpoints.http_url}  (docs /docs, health /health, ready /ready, metrics /metrics)\n"
        f"  MCP   {endpoints.mcp_url}\n"
        f"  gRPC  {endpoints.grpc_target}\n"
        f"MCP client configuration (streamable HTTP):\n{snippet}\n"
        "Stdio clients (Claude Desktop, Claude Code, Cursor) run `gazette mcp` instead: see the README.\n"
        "Press Ctrl-C to stop.\n"
    )
    if endpoints.admin_token:
        sys.stderr.write(
            "\nThis store had no tokens: an admin token was created. It is shown only this once and saved\n"
            f"for the local owner in {endpoints.admin_token_path} (mode 0600):\n"
            f"  {endpoints.admin_token}\n"
            "Mint narrower tokens with `gazette auth add gazette --name NAME --scopes memory:read`.\n"
        )
    sys.stderr.flush()
