"""MCP surface: one server definition, served over stdio (`gazette mcp`) and at /mcp."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from gazette import __version__
from gazette.app import Gazette
from gazette.mcp_server import tools_system

INSTRUCTIONS = (
    "Gazette gives you memory and context for the user's repositories. "
    "Call gazette_info to see which workspace and capabilities are available."
)


def build_mcp_server(gz: Gazette) -> MCPServer:
    """Build the MCP server for one `Gazette`. Configure logging before calling this."""
    server: MCPServer = MCPServer(
        name="gazette",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level=gz.settings.log.level.upper(),  # type: ignore[arg-type]
    )
    tools_system.register(server, gz)
    return server


__all__ = ["build_mcp_server"]
