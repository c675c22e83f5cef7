"""Asking a model through the network surfaces: `POST /v1/chat` (JSON and SSE), the `/v1/chat/ws`
WebSocket and the MCP tool `ask_model` (over /mcp and stdio), against a running `gazette serve` and a
real local Ollama-speaking server. All of them record turns the way `gazette ask` does."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from sqlalchemy import select
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from gazette.app import Gazette
from gazette.store.tables import terminal_dialogs
from tests.model_servers import ANSWER, ModelServer
from tests.servers import RunningServer, start_server

MODEL = "llama3.2"
TARGET = "ollama:llama3.2:latest"
USAGE = {"prompt_tokens": 31, "completion_tokens": 10}
WAIT = 15.0  # seconds an asynchronous effect (recording after a disconnect) may take at most


@pytest.fixture
def ollama() -> Iterator[ModelServer]:
    server = ModelServer("ollama").listen()
    yield server
    server.stop()


@pytest.fixture
def served(tmp_path: Path, ollama: ModelServer) -> Iterator[RunningServer]:
    running = start_server(tmp_path, env={"OLLAMA_HOST": ollama.url})
    yield running
    running.stop()


@pytest.fixture
def store() -> Iterator[Gazette]:
    """The server's store (same GAZETTE_HOME), to read what was recorded."""
    gazette = Gazette.from_settings()
    yield gazette
    gazette.close()


def rows(store: Gazette) -> list[Any]:
    with store.store.begin() as conn:
        return list(conn.execute(select(terminal_dialogs).order_by(terminal_dialogs.c.id)))


def session_rows(store: Gazette, session: str) -> list[tuple[Any, ...]]:
    """What a session recorded, without what differs between two asks (ids, times, latencies)."""
    return [
        (row.role, row.content, row.model, row.route, row.tokens_used, row.context_window, bool(row.interrupted))
        for row in rows(store)
        if row.session_id == session
    ]


def wait_for_rows(store: Gazette, count: int) -> list[Any]:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = rows(store)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"expected {count} recorded turns, found {rows(store)}")


def mint(server: RunningServer, name: str, scopes: list[str], **limits: int) -> str:
    response = httpx.post(
        f"{server.http_url}/v1/auth/tokens", headers=server.headers, json={"name": name, "scopes": scopes, **limits}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def chat(server: RunningServer, body: dict[str, Any], token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else server.headers
    return httpx.post(f"{server.http_url}/v1/chat", headers=headers, json=body, timeout=30)


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, data) for each server-sent event, parsed as the SSE format says."""
    event, data = "message", list[str]()
    for line in lines:
        if line == "":
            if data:
                yield event, json.loads("\n".join(data))
            event, data = "message", list[str]()
        elif line.startswith("event:"):
            event = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").removeprefix(" "))


def stream_chat(server: RunningServer, body: dict[str, Any]) -> tuple[list[tuple[str, dict[str, Any]]], str]:
    with httpx.stream(
        "POST", f"{server.http_url}/v1/chat", headers=server.headers, json={**body, "stream": True}, timeout=30
    ) as response:
        assert response.status_code == 200
        return list(sse_events(response.iter_lines())), response.headers["content-type"]


def ws_connect(server: RunningServer, token: str | None = None) -> ClientConnection:
    url = server.http_url.replace("http://", "ws://") + "/v1/chat/ws"
    return connect(url, additional_headers={"Authorization": f"Bearer {token or server.token}"}, open_timeout=10)


def ws_answer(ws: ClientConnection, body: dict[str, Any]) -> list[dict[str, Any]]:
    ws.send(json.dumps(body))
    messages = []
    while True:
        message = json.loads(ws.recv(timeout=WAIT))
        messages.append(message)
        if message["type"] in ("done", "error"):
            return messages


# --------------------------------------------------------------------------- answers and capture


@pytest.mark.anyio
async def test_every_surface_answers_with_usage_and_records_the_same_turns(
    served: RunningServer, store: Gazette
) -> None:
    prompt = {"prompt": "Why is the sky blue?", "system": "Answer in one sentence."}
    # MCP first: ask_model continues the latest session, so with none yet it starts one.
    async with served.mcp_client() as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        called = await client.call_tool("ask_model", {**prompt, "model": MODEL})
    assert tools["ask_model"].output_schema is not None
    assert called.is_error is False
    via_mcp = called.structured_content
    assert via_mcp is not None
    assert {key: via_mcp[key] for key in ("route", "provider", "model", "text", "usage")} == {
        "route": MODEL,
        "provider": "ollama",
        "model": TARGET,
        "text": ANSWER,
        "usage": USAGE,
    }
    assert via_mcp["latency_ms"] >= 0

    response = chat(served, {**prompt, "model": MODEL, "new": True})
    assert response.status_code == 200
    via_json = response.json()
    assert {key: via_json[key] for key in ("route", "model", "provider", "answer", "usage", "captured")} == {
        "route": MODEL,
        "model": TARGET,
        "provider": "ollama",
        "answer": ANSWER,
        "usage": USAGE,
        "captured": True,
    }
    assert via_json["latency_ms"] >= via_json["first_token_ms"] >= 0
    assert response.headers["x-ratelimit-limit"]

    events, content_type = stream_chat(served, {**prompt, "model": MODEL, "new": True})
    assert content_type.startswith("text/event-stream")
    *deltas, (last, via_sse) = events
    assert len(deltas) > 1
    assert {name for name, _ in deltas} == {"delta"}
    assert "".join(data["text"] for _, data in deltas) == ANSWER == via_sse["answer"]
    assert (last, via_sse["usage"], via_sse["captured"]) == ("done", USAGE, True)

    with ws_connect(served) as ws:
        *ws_deltas, via_ws = ws_answer(ws, {**prompt, "model": MODEL, "new": True})
    assert "".join(message["text"] for message in ws_deltas) == ANSWER
    assert (via_ws["type"], via_ws["answer"], via_ws["usage"], via_ws["interrupted"]) == ("done", ANSWER, USAGE, False)

    sessions = [via_mcp["session"], via_json["session"], via_sse["session"], via_ws["session"]]
    assert len(set(sessions)) == 4
    expected = [
        ("system", "Answer in one sentence.", TARGET, MODEL, None, 6, False),
        ("user", "Why is the sky blue?", TARGET, MODEL, 31, 6, False),
        ("assistant", ANSWER, TARGET, MODEL, 10, 6, False),
    ]
    assert [session_rows(store, session) for session in sessions] == [expected] * 4


def test_the_answer_continues_a_session_and_capture_false_records_nothing(
    served: RunningServer, store: Gazette
) -> None:
    first = chat(served, {"prompt": "first", "model": MODEL}).json()
    again = chat(served, {"prompt": "second", "model": MODEL, "session": first["session"][:8]}).json()
    assert again["session"] == first["session"]
    off = chat(served, {"prompt": "off the record", "model": MODEL, "new": True, "capture": False})
    assert off.status_code == 200
    assert (off.json()["answer"], off.json()["captured"]) == (ANSWER, False)
    with ws_connect(served) as ws:
        *_, done = ws_answer(ws, {"prompt": "off the record too", "model": MODEL, "new": True, "capture": False})
    assert (done["answer"], done["captured"]) == (ANSWER, False)
    events, _ = stream_chat(served, {"prompt": "and this", "model": MODEL, "new": True, "capture": False})
    assert events[-1][1]["captured"] is False
    assert [row.content for row in rows(store)] == ["first", ANSWER, "second", ANSWER]


def test_accept_event_stream_alone_asks_for_the_stream(served: RunningServer) -> None:
    headers = {**served.headers, "Accept": "text/event-stream"}
    with httpx.stream(
        "POST", f"{served.http_url}/v1/chat", headers=headers, json={"prompt": "hi", "model": MODEL}, timeout=30
    ) as response:
        events = list(sse_events(response.iter_lines()))
    assert events[-1][0] == "done"
    assert "".join(data["text"] for name, data in events if name == "delta") == ANSWER


# --------------------------------------------------------------------------- stopping


def test_a_client_that_leaves_mid_stream_stops_the_answer_and_it_is_recorded_interrupted(
    served: RunningServer, store: Gazette, ollama: ModelServer
) -> None:
    ollama.delay = 0.2  # ten frames: two seconds for the whole answer
    started = time.monotonic()
    with httpx.stream(
        "POST",
        f"{served.http_url}/v1/chat",
        headers=served.headers,
        json={"prompt": "Why is the sky blue?", "model": MODEL, "stream": True},
        timeout=30,
    ) as response:
        first = next(sse_events(response.iter_lines()))
    assert first == ("delta", {"text": "The"})
    user, assistant = wait_for_rows(store, 2)
    assert (user.role, user.content, bool(user.interrupted)) == ("user", "Why is the sky blue?", False)
    assert (assistant.role, bool(assistant.interrupted)) == ("assistant", True)
    assert ANSWER.startswith(assistant.content)
    assert len(assistant.content) < len(ANSWER)
    assert time.monotonic() - started < 10 * 0.2  # stopped before the model finished


def test_a_client_that_leaves_before_a_json_answer_stops_it_and_it_is_recorded_interrupted(
    served: RunningServer, store: Gazette, ollama: ModelServer
) -> None:
    ollama.delay = 0.2  # ten frames: two seconds for the whole answer
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):  # the client gives up and closes the connection
        httpx.post(
            f"{served.http_url}/v1/chat",
            headers=served.headers,
            json={"prompt": "Why is the sky blue?", "model": MODEL},
            timeout=httpx.Timeout(5.0, read=0.5),
        )
    user, assistant = wait_for_rows(store, 2)
    assert (user.role, bool(user.interrupted)) == ("user", False)
    assert (assistant.role, bool(assistant.interrupted)) == ("assistant", True)
    assert ANSWER.startswith(assistant.content)
    assert len(assistant.content) < len(ANSWER)
    assert time.monotonic() - started < 10 * 0.2  # stopped before the model finished


def test_a_websocket_stop_ends_the_answer_which_is_recorded_interrupted_and_the_next_question_works(
    served: RunningServer, store: Gazette, ollama: ModelServer
) -> None:
    ollama.delay = 0.2
    with ws_connect(served) as ws:
        ws.send(json.dumps({"prompt": "Why is the sky blue?", "model": MODEL}))
        first = json.loads(ws.recv(timeout=WAIT))
        assert first == {"type": "delta", "text": "The"}
        ws.send(json.dumps({"prompt": "meanwhile?", "model": MODEL}))  # one answer at a time
        ws.send(json.dumps({"type": "stop"}))
        messages: list[dict[str, Any]] = []
        while not messages or messages[-1]["type"] != "done":
            messages.append(json.loads(ws.recv(timeout=WAIT)))
        done = messages[-1]
        [busy] = [message for message in messages if message["type"] == "error"]
        assert busy["error"]["code"] == "invalid_input"
        received = "The" + "".join(message["text"] for message in messages if message["type"] == "delta")
        assert (done["interrupted"], done["answer"], done["captured"]) == (True, received, True)
        assert len(received) < len(ANSWER)
        ollama.delay = 0
        *_, after = ws_answer(ws, {"prompt": "again", "model": MODEL, "session": done["session"]})
    assert (after["type"], after["answer"], after["session"]) == ("done", ANSWER, done["session"])
    recorded = [(row.role, row.content, bool(row.interrupted)) for row in rows(store)]
    assert recorded == [
        ("user", "Why is the sky blue?", False),
        ("assistant", received, True),
        ("user", "again", False),
        ("assistant", ANSWER, False),
    ]


def test_closing_the_websocket_mid_answer_records_it_interrupted(
    served: RunningServer, store: Gazette, ollama: ModelServer
) -> None:
    ollama.delay = 0.2
    with ws_connect(served) as ws:
        ws.send(json.dumps({"prompt": "Why is the sky blue?", "model": MODEL}))
        assert json.loads(ws.recv(timeout=WAIT))["type"] == "delta"
    _, assistant = wait_for_rows(store, 2)
    assert bool(assistant.interrupted) is True
    assert len(assistant.content) < len(ANSWER)


def test_a_provider_failure_mid_stream_is_an_error_event_after_the_deltas(
    served: RunningServer, store: Gazette, ollama: ModelServer
) -> None:
    ollama.fail = "stream_error"
    events, _ = stream_chat(served, {"prompt": "Why?", "model": MODEL})
    *deltas, (last, error) = events
    assert deltas
    assert (last, error["error"]["code"]) == ("error", "provider_error")
    with ws_connect(served) as ws:
        *ws_deltas, failed = ws_answer(ws, {"prompt": "Why?", "model": MODEL, "new": True})
    assert ws_deltas
    assert (failed["type"], failed["error"]["code"]) == ("error", "provider_error")
    assert [bool(row.interrupted) for row in rows(store) if row.role == "assistant"] == [True, True]


# --------------------------------------------------------------------------- refusals


# One table, one server: a server per case would cost seconds each.
HTTP_REFUSALS: list[tuple[dict[str, Any], int, str]] = [
    ({"prompt": "  ", "model": MODEL}, 400, "invalid_input"),
    ({"prompt": "Why?", "model": "gpt-9"}, 404, "not_found"),
    ({"prompt": "Why?", "model": MODEL, "session": "nosuchsession"}, 404, "not_found"),
    ({"prompt": "Why?", "model": MODEL, "session": "x", "new": True}, 400, "invalid_input"),
    ({"prompt": "Why?", "model": MODEL, "with_history": -1}, 422, "invalid_input"),
    ({"model": MODEL}, 422, "invalid_input"),
    ({"prompt": "Why?", "model": "gpt-9", "stream": True}, 404, "not_found"),
]


def test_http_refusals_carry_the_error_shape_and_status(served: RunningServer, ollama: ModelServer) -> None:
    for body, status, code in HTTP_REFUSALS:
        response = chat(served, body)
        assert (response.status_code, response.headers["content-type"]) == (status, "application/json"), body
        assert set(response.json()["error"]) == {"code", "message", "details"}
        assert response.json()["error"]["code"] == code, body
    assert ollama.chats() == []


def test_websocket_refusals_are_error_messages_and_the_connection_stays_usable(served: RunningServer) -> None:
    with ws_connect(served) as ws:
        for message, code in [
            ("not json", "invalid_input"),
            (json.dumps({"prompt": " ", "model": MODEL}), "invalid_input"),
            (json.dumps({"prompt": "Why?", "model": "gpt-9"}), "not_found"),
            (json.dumps({"model": MODEL}), "invalid_input"),
            (json.dumps({"type": "stop"}), "invalid_input"),
        ]:
            ws.send(message)
            reply = json.loads(ws.recv(timeout=WAIT))
            assert (reply["type"], reply["error"]["code"]) == ("error", code), message
        assert ws_answer(ws, {"prompt": "Why?", "model": MODEL})[-1]["answer"] == ANSWER


@pytest.mark.anyio
async def test_no_token_is_401_and_a_token_without_models_use_is_403_on_every_surface(
    served: RunningServer,
) -> None:
    missing = httpx.post(f"{served.http_url}/v1/chat", json={"prompt": "Why?", "model": MODEL})
    assert (missing.status_code, missing.json()["error"]["code"]) == (401, "unauthenticated")
    with pytest.raises(InvalidStatus) as refused:
        connect(served.http_url.replace("http://", "ws://") + "/v1/chat/ws", open_timeout=10)
    assert refused.value.response.status_code == 401
    assert json.loads(refused.value.response.body or b"")["error"]["code"] == "unauthenticated"

    reader = mint(served, "reader", ["memory:read"])
    denied = chat(served, {"prompt": "Why?", "model": MODEL}, token=reader)
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "permission_denied")
    assert "models:use" in denied.json()["error"]["message"]
    with ws_connect(served, token=reader) as ws:
        [reply] = ws_answer(ws, {"prompt": "Why?", "model": MODEL})
    assert reply["error"]["code"] == "permission_denied"
    transport = streamable_http_client(
        served.mcp_url, http_client=httpx2.AsyncClient(headers={"Authorization": f"Bearer {reader}"})
    )
    async with Client(transport) as client:
        result = await client.call_tool("ask_model", {"prompt": "Why?", "model": MODEL})
    assert result.is_error is True
    assert result.structured_content is not None
    assert result.structured_content["error"]["code"] == "permission_denied"


def test_over_the_rate_limit_http_answers_429_with_retry_after_and_the_websocket_an_error(
    served: RunningServer,
) -> None:
    token = mint(served, "one-a-minute", ["models:use"], rpm=1)
    assert chat(served, {"prompt": "Why?", "model": MODEL}, token=token).status_code == 200
    with ws_connect(served, token=token) as ws:  # each question counts, not the upgrade
        [reply] = ws_answer(ws, {"prompt": "Why?", "model": MODEL})
    assert reply["error"]["code"] == "rate_limited"
    refused = chat(served, {"prompt": "Why?", "model": MODEL}, token=token)
    assert (refused.status_code, refused.json()["error"]["code"]) == (429, "rate_limited")
    assert int(refused.headers["retry-after"]) >= 1


# --------------------------------------------------------------------------- stdio and the API description


@pytest.mark.anyio
async def test_ask_model_over_stdio_records_the_local_owners_dialog(
    ollama: ModelServer, home: Path, store: Gazette
) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "gazette", "mcp"],
        env={**os.environ, "GAZETTE_HOME": str(home), "OLLAMA_HOST": ollama.url},
    )
    async with Client(params) as client:
        result = await client.call_tool("ask_model", {"prompt": "Why is the sky blue?", "model": MODEL})
    assert result.structured_content is not None
    assert (result.structured_content["text"], result.structured_content["usage"]) == (ANSWER, USAGE)
    assert session_rows(store, result.structured_content["session"]) == [
        ("user", "Why is the sky blue?", TARGET, MODEL, 31, 0, False),
        ("assistant", ANSWER, TARGET, MODEL, 10, 0, False),
    ]


def test_openapi_describes_the_chat_route_with_json_and_event_stream_answers(served: RunningServer) -> None:
    spec = httpx.get(f"{served.http_url}/openapi.json").json()
    post = spec["paths"]["/v1/chat"]["post"]
    assert set(post["responses"]["200"]["content"]) == {"application/json", "text/event-stream"}
    body = post["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(spec["components"]["schemas"][body]["properties"]) == {
        "prompt",
        "model",
        "session",
        "new",
        "system",
        "with_history",
        "capture",
        "stream",
    }
