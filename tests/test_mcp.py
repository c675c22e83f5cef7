"""MCP with the official client: in process, over streamable HTTP at /mcp, and over stdio."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
import pytest
from mcp import Client, StdioServerParameters

from gazette.app import Gazette
from gazette.logs import configure_logging
from gazette.mcp_server import build_mcp_server
from gazette.settings import LogSettings
from tests.servers import RunningServer, start_server


@pytest.mark.anyio
async def test_gazette_info_in_process_returns_structured_output(sqlite_gz: Gazette) -> None:
    configure_logging(LogSettings(format="json"))
    async with Client(build_mcp_server(sqlite_gz, transport="stdio")) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert "gazette_info" in tools
        assert tools["gazette_info"].output_schema is not None
        assert tools["gazette_info"].annotations is not None
        assert tools["gazette_info"].annotations.read_only_hint is True
        result = await client.call_tool("gazette_info", {})
    assert result.is_error is False
    assert result.structured_content is not None
    assert result.structured_content["workspace"]["slug"] == "default"
    assert "system" in result.structured_content["capabilities"]


@pytest.mark.anyio
async def test_official_client_lists_and_calls_tools_over_http(server: RunningServer) -> None:
    async with server.mcp_client() as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        result = await client.call_tool("gazette_info", {})
    assert "gazette_info" in names
    assert result.structured_content is not None
    assert result.structured_content["name"] == "gazette"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [({}, "missing"), ({"Authorization": "Bearer gzt_nope"}, "malformed"), ({"Authorization": "Basic eDp5"}, "scheme")],
)
def test_mcp_over_http_refuses_callers_without_a_valid_credential(
    server: RunningServer, headers: dict[str, str], reason: str
) -> None:
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    response = httpx.post(
        server.mcp_url,
        json=initialize,
        headers={**headers, "Accept": "application/json, text/event-stream"},
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response.json()["error"]["details"]["reason"] == reason


@pytest.mark.anyio
async def test_official_client_lists_and_calls_tools_over_stdio(home: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "gazette", "mcp"],
        env={**os.environ, "GAZETTE_HOME": str(home)},
    )
    async with Client(params) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        result = await client.call_tool("gazette_info", {"workspace": "default"})
    assert {"gazette_info", "memory_search", "memory_read"} <= set(names)
    assert result.structured_content is not None
    assert result.structured_content["store"] == "sqlite"


@pytest.mark.anyio
async def test_mcp_tool_calls_over_the_limit_are_error_results(tmp_path: Path) -> None:
    running = start_server(tmp_path, env={"GAZETTE_RATE_LIMIT__DEFAULT_RPM": "2"})
    try:
        async with running.mcp_client() as client:
            results = [await client.call_tool("gazette_info", {}) for _ in range(3)]
    finally:
        running.stop()
    assert [result.is_error for result in results] == [False, False, True]
    assert results[2].structured_content is not None
    assert results[2].structured_content["error"]["code"] == "rate_limited"
