"""MCP tools and prompt of the context engine: memory_search, memory_read, context_first."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations
from pydantic import Field

from gazette.app import Gazette
from gazette.index import FileContent, Hit
from gazette.mcp_server.errors import tool_call
from gazette.mcp_server.principals import PrincipalResolver

READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)

CONTEXT_FIRST = (
    "Before you propose a change to any file, search the memory bank with memory_search for the "
    "code, docs and decisions it touches, and read what the hits cite with memory_read. If an "
    "architecture.md or an ADR is relevant, prefer its constraints over your own assumptions, and "
    "say which ones you followed. Cite repo, path and lines for every claim you base on the memory."
)


def register(server: MCPServer, gz: Gazette, principal_of: PrincipalResolver) -> None:
    @server.tool(
        name="memory_search",
        description=(
            "Search the indexed repositories of this workspace (code, Markdown, reStructuredText, text and PDF) "
            "for passages relevant to `query`, written in plain words or identifiers (AuthService, "
            "auth_service). Returns up to k hits, best first, each citing repo, path (relative to the "
            "repository root), start_line, end_line and the heading path, with the passage as `content`. "
            "Use it before changing code to find where things are defined and what the docs decided; then "
            "open the full file with memory_read."
        ),
        annotations=READ_ONLY,
    )
    @tool_call(gz, "memory_search", principal_of)
    def memory_search(
        ctx: Context,
        query: Annotated[str, Field(description="What to look for, in plain words; no query syntax needed.")],
        repo: Annotated[str | None, Field(description="Only this repository; omit to search them all.")] = None,
        k: Annotated[int, Field(ge=1, le=100, description="How many hits to return (1-100).")] = 10,
    ) -> list[Hit]:
        return gz.index.search(principal_of(ctx), query, repo=repo, k=k)

    @server.tool(
        name="memory_read",
        description=(
            "Read a whole indexed file: `path` relative to the root of repository `repo`, as memory_search "
            "cites it. Paths outside the repository, absolute paths and files that are not indexed are refused."
        ),
        annotations=READ_ONLY,
    )
    @tool_call(gz, "memory_read", principal_of)
    def memory_read(
        ctx: Context,
        path: Annotated[str, Field(description="File path relative to the repository root, e.g. src/app.py.")],
        repo: Annotated[str, Field(description="Repository name, as memory_search returns it.")],
    ) -> FileContent:
        return gz.index.read(principal_of(ctx), repo, path)

    @server.prompt(
        name="context_first",
        description="Instructions for agents: consult the memory bank (and its architecture.md and ADRs) first.",
    )
    def context_first(task: str | None = None) -> str:
        return CONTEXT_FIRST if not task else f"{CONTEXT_FIRST}\n\nThe task: {task}"
