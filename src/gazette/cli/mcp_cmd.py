"""`gazette mcp`: the MCP server over stdio, for Claude Desktop, Claude Code and Cursor."""

from __future__ import annotations

import typer

from gazette.cli.context import cli_context


def mcp(ctx: typer.Context) -> None:
    """Serve MCP over stdio (stdout carries the protocol; logs go to stderr)."""
    gz = cli_context(ctx).gazette()
    gz.store.ensure_migrated()

    from gazette.mcp_server import build_mcp_server

    build_mcp_server(gz).run("stdio")
