"""MCP surface: one server definition, served over stdio (`gazette mcp`) and at /mcp."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from gazette import __version__
from gazette.app import Gazette
from gazette.mcp_server import tools_memory, tools_models, tools_system
from gazette.mcp_server.principals import PRINCIPAL_SCOPE_KEY, PrincipalResolver, Transport

INSTRUCTIONS = (
    "Gazette gives you memory and context for the user's repositories. "
    "Call gazette_info to see which workspace and capabilities are available; search the indexed "
    "repositories with memory_search and open what it cites with memory_read; ask_model asks "
    "another model the user configured."
)


def build_mcp_server(gz: Gazette, *, transport: Transport) -> MCPServer:
    """Build the MCP server for one `Gazette`. Configure logging before calling this.

    On `stdio` every call acts as the local owner; over `http` as the caller the endpoint's
    guard authenticated (see `gazette.api.mcp_auth`).
    """
    server: MCPServer = MCPServer(
        name="gazette",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level=gz.settings.log.level.upper(),  # type: ignore[arg-type]
    )
    principal_of = PrincipalResolver(gz, transport)
    tools_system.register(server, gz, principal_of)
    tools_memory.register(server, gz, principal_of)
    tools_models.register(server, gz, principal_of)
    return server


__all__ = ["PRINCIPAL_SCOPE_KEY", "build_mcp_server"]
