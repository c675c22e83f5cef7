"""memory_search / memory_read on every surface: MCP (in process and stdio), HTTP, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from mcp import Client, StdioServerParameters

from gazette.api import create_app
from gazette.app import Gazette
from gazette.cli import main
from gazette.mcp_server import build_mcp_server
from tests.servers import gazette_command
from tests.test_index import make_repo


@pytest.fixture
def indexed(sqlite_gz: Gazette, tmp_path: Path) -> Gazette:
    sqlite_gz.index.index_repo(sqlite_gz.local_owner(), make_repo(tmp_path / "project"), "project")
    return sqlite_gz


@pytest.fixture
def http(indexed: Gazette) -> Iterator[TestClient]:
    token = indexed.auth.add_token(indexed.local_owner(), name="reader", scopes=["memory:read"]).token
    with TestClient(create_app(indexed), headers={"X-API-Key": token}, raise_server_exceptions=False) as client:
        yield client


@pytest.mark.anyio
async def test_mcp_memory_search_and_read_return_structured_cited_results(indexed: Gazette) -> None:
    async with Client(build_mcp_server(indexed, transport="stdio")) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert {"memory_search", "memory_read"} <= set(tools)
        assert tools["memory_search"].output_schema is not None
        found = await client.call_tool("memory_search", {"query": "which database keeps the invoices", "k": 3})
        read = await client.call_tool("memory_read", {"repo": "project", "path": "docs/architecture.md"})
        escape = await client.call_tool("memory_read", {"repo": "project", "path": "../etc/passwd"})
        prompts = [prompt.name for prompt in (await client.list_prompts()).prompts]
        prompt = await client.get_prompt("context_first", {"task": "add refunds"})
    assert found.structured_content is not None
    [best, *_] = found.structured_content["result"]
    assert {"path", "content", "score", "start_line", "end_line", "heading", "repo"} <= set(best)
    assert (best["path"], best["heading"]) == ("docs/architecture.md", "Architecture > Storage")
    assert read.structured_content is not None
    assert "PostgreSQL" in read.structured_content["content"]
    assert escape.is_error is True
    assert escape.structured_content is not None
    assert escape.structured_content["error"]["code"] == "invalid_input"
    assert "context_first" in prompts
    text = prompt.messages[0].content.text  # type: ignore[union-attr]
    assert "architecture.md" in text
    assert "add refunds" in text


def test_http_search_status_read_and_the_seeds_query_endpoint_agree_with_each_other(http: TestClient) -> None:
    repos = http.get("/v1/repos").json()
    assert [repo["name"] for repo in repos] == ["project"]
    direct = http.get("/v1/repos/project/search", params={"q": "refunds", "k": 5}).json()
    via_tool = http.post(
        "/v1/mcp/query", json={"tool": "memory_search", "arguments": {"query": "refunds", "repo": "project", "k": 5}}
    ).json()["result"]
    assert direct == via_tool
    assert direct
    status = http.get("/v1/status/project").json()
    assert (status["status"], status["files"]) == ("indexed", 5)
    assert set(status) >= {"status", "last_updated", "files", "chunks", "errors"}
    assert http.get("/v1/status/nothing").json()["status"] == "unknown"
    file = http.get("/v1/repos/project/files/src/payments.py").json()
    assert "charge_card" in file["content"]


@pytest.mark.parametrize(
    ("call", "status", "code"),
    [
        ({"tool": "memory_read", "arguments": {"repo": "project", "path": "../../etc/passwd"}}, 400, "invalid_input"),
        ({"tool": "memory_read", "arguments": {"repo": "project", "path": "/etc/passwd"}}, 400, "invalid_input"),
        ({"tool": "memory_read", "arguments": {"repo": "project", "path": "src/private/keys.py"}}, 404, "not_found"),
        ({"tool": "memory_search", "arguments": {"k": 5}}, 400, "invalid_input"),
        ({"tool": "memory_search", "arguments": {"query": "x", "repo": "nope"}}, 404, "not_found"),
        ({"tool": "rm_rf", "arguments": {}}, 422, "invalid_input"),
    ],
)
def test_http_tool_calls_fail_with_the_error_shape(
    http: TestClient, call: dict[str, object], status: int, code: str
) -> None:
    response = http.post("/v1/mcp/query", json=call)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_another_workspace_sees_no_repository_names_counts_or_content(indexed: Gazette) -> None:
    from sqlalchemy import insert

    from gazette.store.tables import workspaces

    with indexed.store.begin() as conn:
        conn.execute(insert(workspaces).values(slug="other", name="Other"))
    stranger = indexed.auth.add_token(indexed.local_owner(), name="stranger", user="eve", scopes=["memory:read"]).token
    # A token minted by the local owner is for its workspace; move it to "other" as an admin would.
    from sqlalchemy import select, update

    from gazette.store.tables import personal_access_tokens

    with indexed.store.begin() as conn:
        other_id = conn.execute(select(workspaces.c.id).where(workspaces.c.slug == "other")).scalar_one()
        conn.execute(
            update(personal_access_tokens)
            .where(personal_access_tokens.c.name == "stranger")
            .values(workspace_id=other_id)
        )
    with TestClient(create_app(indexed), headers={"X-API-Key": stranger}, raise_server_exceptions=False) as client:
        assert client.get("/v1/repos").json() == []
        assert client.get("/v1/status/project").json()["status"] == "unknown"
        assert client.get("/v1/repos/project/search", params={"q": "invoices"}).status_code == 404
        assert client.get("/v1/repos/project/files/README.md").status_code == 404
        via_tool = client.post("/v1/mcp/query", json={"tool": "memory_search", "arguments": {"query": "invoices"}})
        assert via_tool.json() == {"result": []}


def test_cli_index_search_read_and_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(tmp_path / "project")

    def run(*args: str) -> tuple[int, str, str]:
        try:
            main(list(args))
            code = 0
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = run("index", "repo", str(root), "--name", "project", "--json")
    assert code == 0
    assert json.loads(out)["files"] == 5
    code, out, _ = run("search", "refunds", "--repo", "project", "--json")
    hits = json.loads(out)
    assert {"path", "content", "score", "start_line", "end_line", "heading", "repo"} <= set(hits[0])
    code, out, _ = run("read", "project", "notes.txt")
    assert out == "Plain notes about refunds.\n"
    code, out, _ = run("index", "status", "project", "--json")
    assert json.loads(out)["status"] == "indexed"
    code, _, err = run("index", "repo", str(tmp_path / "missing"), "--name", "ghost")
    assert code == 1
    assert err.startswith("error: ")
    assert "does not exist" in err
    code, out, _ = run("index", "status", "ghost", "--json")
    assert json.loads(out)["status"] == "failed"
    code, out, _ = run("index", "remove", "project")
    assert "Removed project" in out


@pytest.mark.anyio
async def test_memory_search_over_stdio_with_the_official_client(tmp_path: Path, home: Path) -> None:
    root = make_repo(tmp_path / "project")
    subprocess.run(gazette_command("index", "repo", str(root), "--name", "project"), check=True, capture_output=True)
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "gazette", "mcp"], env={**os.environ, "GAZETTE_HOME": str(home)}
    )
    async with Client(params) as client:
        result = await client.call_tool("memory_search", {"query": "refunds", "repo": "project"})
    assert result.structured_content is not None
    assert {hit["path"] for hit in result.structured_content["result"]} >= {"notes.txt", "guide.rst"}


@pytest.mark.anyio
async def test_mcp_over_http_shows_another_workspace_nothing(tmp_path: Path) -> None:
    """A token of workspace "other" sees no repository of "default" through the MCP tools."""
    import httpx2
    from mcp.client.streamable_http import streamable_http_client
    from sqlalchemy import insert, select, update

    from gazette.settings import load_settings
    from gazette.store.tables import personal_access_tokens, workspaces
    from tests.servers import start_server

    running = start_server(tmp_path)
    try:
        root = make_repo(tmp_path / "project")
        local = Gazette(load_settings().settings)
        local.index.index_repo(local.local_owner(), root, "project")
        with local.store.begin() as conn:
            conn.execute(insert(workspaces).values(slug="other", name="Other"))
            other = conn.execute(select(workspaces.c.id).where(workspaces.c.slug == "other")).scalar_one()
        stranger = local.auth.add_token(local.local_owner(), name="stranger", user="eve", scopes=["memory:read"]).token
        with local.store.begin() as conn:
            conn.execute(
                update(personal_access_tokens)
                .where(personal_access_tokens.c.name == "stranger")
                .values(workspace_id=other)
            )
        local.close()
        headers = {"Authorization": f"Bearer {stranger}"}
        async with Client(
            streamable_http_client(running.mcp_url, http_client=httpx2.AsyncClient(headers=headers))
        ) as c:
            found = await c.call_tool("memory_search", {"query": "invoices"})
            read = await c.call_tool("memory_read", {"repo": "project", "path": "README.md"})
        async with running.mcp_client() as owner:
            mine = await owner.call_tool("memory_search", {"query": "invoices"})
    finally:
        running.stop()
    assert found.structured_content == {"result": []}
    assert read.is_error is True
    assert read.structured_content is not None
    assert read.structured_content["error"]["code"] == "not_found"
    assert mine.structured_content is not None
    assert mine.structured_content["result"]  # the owner's workspace does see it
