"""`gazette mcp`: the MCP server over stdio, for Claude Desktop, Claude Code and Cursor."""

from __future__ import annotations

import typer

from gazette.cli.context import cli_context


def mcp(ctx: typer.Context) -> None:
    """Serve MCP over stdio (stdout carries the protocol; logs go to stderr)."""
    from gazette.serve import run_stdio

    run_stdio(cli_context(ctx).gazette(long_running=True))
