"""One error shape on every surface, pinned by one test.

The same failure (an unknown workspace) seen through HTTP, MCP, gRPC and the CLI carries the
same code and message; HTTP and MCP carry the whole `{"error": {code, message, details}}` shape,
gRPC carries it in trailing metadata beside the mapped status code, the CLI prints the message.
"""

from __future__ import annotations

import json
import subprocess

import grpc
import httpx
import pytest

from gazette.grpc_server.errors import ERROR_METADATA_KEY
from gazette.grpc_server.protos import gazette_pb2, gazette_pb2_grpc
from tests.servers import RunningServer, gazette_command

EXPECTED = {
    "error": {
        "code": "not_found",
        "message": "workspace 'nowhere' does not exist",
        "details": {"workspace": "nowhere"},
    }
}


@pytest.mark.anyio
async def test_one_error_shape_on_http_mcp_grpc_and_cli(server: RunningServer) -> None:
    http = httpx.get(f"{server.http_url}/v1/info", params={"workspace": "nowhere"}, headers=server.headers)
    assert http.status_code == 404
    assert http.json() == EXPECTED

    async with server.mcp_client() as client:
        result = await client.call_tool("gazette_info", {"workspace": "nowhere"})
    assert result.is_error is True
    assert result.structured_content == EXPECTED
    assert json.loads(result.content[0].text) == EXPECTED  # type: ignore[union-attr]

    async with grpc.aio.insecure_channel(server.grpc_target) as channel:
        stub = gazette_pb2_grpc.GazetteServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetInfo(
                gazette_pb2.GetInfoRequest(workspace="nowhere"), metadata=(("authorization", f"Bearer {server.token}"),)
            )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert caught.value.details() == EXPECTED["error"]["message"]
    trailing = dict(caught.value.trailing_metadata() or ())
    assert json.loads(trailing[ERROR_METADATA_KEY]) == EXPECTED

    cli = subprocess.run(gazette_command("info", "--workspace", "nowhere"), capture_output=True, text=True, timeout=60)
    assert cli.returncode == 1
    assert cli.stderr == f"error: {EXPECTED['error']['message']}\n"
