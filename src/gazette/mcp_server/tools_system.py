"""MCP tools of the system capability."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations
from pydantic import Field

from gazette.app import Gazette
from gazette.mcp_server.errors import tool_call
from gazette.mcp_server.principals import PrincipalResolver
from gazette.system import Info


def register(server: MCPServer, gz: Gazette, principal_of: PrincipalResolver) -> None:
    @server.tool(
        name="gazette_info",
        description=(
            "Describe this Gazette server: its version, the workspace you are working in, the store "
            "behind it and which capabilities are enabled. Call it first to learn what else you can do."
        ),
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False),
    )
    @tool_call(gz, "gazette_info", principal_of)
    def gazette_info(
        ctx: Context,
        workspace: Annotated[
            str | None, Field(description="Workspace slug; omit for the workspace of your credential.")
        ] = None,
    ) -> Info:
        return gz.system.info(principal_of(ctx), workspace)
