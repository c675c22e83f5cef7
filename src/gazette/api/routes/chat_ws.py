"""Asking a model over a WebSocket: `/v1/chat/ws`, several questions per connection, each stoppable.

Protocol (JSON text messages):

- client: a question shaped like the body of `POST /v1/chat` (`prompt`, `model`, `session`, `new`,
  `system`, `with_history`, `capture`; `stream` is ignored: answers always stream);
- server: `{"type": "delta", "text"}` per piece, then `{"type": "done", ...the JSON answer}`, or
  `{"type": "error", "error": {code, message, details}}`; the connection stays open for the next;
- client: `{"type": "stop"}` while an answer streams ends it: the service records it interrupted and
  the server sends `done` with `interrupted: true` and the text so far. Closing the connection
  mid-answer stops it the same way.

The upgrade request authenticates like every HTTP call (`Authorization: Bearer` or `X-API-Key`);
a refusal is the HTTP error answer (401, 429) instead of the upgrade. Each question counts once
against the token's rate limits.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from gazette.api.errors import error_response
from gazette.api.routes.chat import ChatAnswer, ChatBody, internal_error, start_asking
from gazette.api.streaming import iterate_in_thread
from gazette.app import Gazette
from gazette.auth import Principal
from gazette.dialogs import Answer, AskEvent, AskStarted, Usage
from gazette.errors import GazetteError, InvalidInputError
from gazette.logs import get_logger
from gazette.providers import TextDelta

log = get_logger("gazette.api")

router = APIRouter(prefix="/v1", tags=["chat"])

_DENIAL_EXTENSION = "websocket.http.response"
_GONE = None  # what the reader passes on when the client has closed the connection


@router.websocket("/chat/ws")
async def chat_ws(websocket: WebSocket) -> None:
    gz: Gazette = websocket.app.state.gazette
    client = websocket.client.host if websocket.client else None
    try:
        principal = await run_in_threadpool(
            gz.authenticator.authenticate, websocket.headers.get, surface="websocket", client=client
        )
    except GazetteError as exc:
        if _DENIAL_EXTENSION in websocket.scope.get("extensions", {}):
            await websocket.send_denial_response(error_response(exc))
        else:  # a server without the denial extension: refuse the upgrade with "policy violation"
            await websocket.close(code=1008, reason=exc.message[:120])
        return
    await websocket.accept()
    send, inbox = anyio.create_memory_object_stream[str | None](16)
    try:
        async with anyio.create_task_group() as readers:
            readers.start_soon(_read, websocket, send)
            async with inbox:
                async for raw in inbox:
                    if raw is _GONE or not await _question(websocket, gz, principal, raw, inbox):
                        break
            readers.cancel_scope.cancel()
    except* WebSocketDisconnect:
        pass  # gone while we were answering: whatever was streaming has been stopped and recorded


async def _read(websocket: WebSocket, send: MemoryObjectSendStream[str | None]) -> None:
    # The only reader of the socket: questions and stops arrive through the inbox in order.
    async with send:
        try:
            while True:
                await send.send(await websocket.receive_text())
        except WebSocketDisconnect:
            await send.send(_GONE)


@dataclass
class _Progress:
    started: AskStarted | None = None
    parts: list[str] = field(default_factory=list)
    finished: bool = False
    stopped: bool = False
    gone: bool = False


async def _question(
    websocket: WebSocket, gz: Gazette, principal: Principal, raw: str, inbox: MemoryObjectReceiveStream[str | None]
) -> bool:
    """Answer one client message; False when the client left meanwhile."""
    try:
        body = _parse(raw)
        if body is None:
            raise InvalidInputError('nothing to stop: {"type": "stop"} ends an answer while it streams')
        await run_in_threadpool(gz.rate_limits.consume, principal)
        events = await run_in_threadpool(start_asking, gz, principal, body)
    except GazetteError as exc:
        await websocket.send_json({"type": "error", **exc.to_dict()})
        return True
    progress = _Progress()
    async with anyio.create_task_group() as group:
        group.start_soon(_watch, websocket, inbox, progress, group)
        await _forward(websocket, events, progress)
        group.cancel_scope.cancel()
    if progress.stopped and not progress.gone and not progress.finished and progress.started is not None:
        await websocket.send_json({"type": "done", **_stopped(progress.started, progress.parts)})
    return not progress.gone


async def _forward(websocket: WebSocket, events: Generator[AskEvent, None, None], progress: _Progress) -> None:
    stream = iterate_in_thread(events)
    try:
        async for event in stream:
            if isinstance(event, AskStarted):
                progress.started = event
            elif isinstance(event, TextDelta):
                progress.parts.append(event.text)
                await websocket.send_json({"type": "delta", "text": event.text})
            elif isinstance(event, Answer):
                progress.finished = True
                await websocket.send_json({"type": "done", **ChatAnswer.of(event).model_dump(mode="json")})
    except WebSocketDisconnect:
        progress.gone = True  # closing the stream (below) stops the answer; it is recorded interrupted
    except GazetteError as exc:  # the call failed mid-answer; the service kept what arrived
        progress.finished = True
        await websocket.send_json({"type": "error", **exc.to_dict()})
    except Exception:
        progress.finished = True
        log.exception("chat websocket stream failed")
        await websocket.send_json({"type": "error", **internal_error().to_dict()})
    finally:
        await stream.aclose()


async def _watch(
    websocket: WebSocket, inbox: MemoryObjectReceiveStream[str | None], progress: _Progress, group: TaskGroup
) -> None:
    """While an answer streams: a stop (or the client leaving) cancels it; other messages are refused."""
    async for raw in inbox:
        if raw is _GONE:
            progress.gone = progress.stopped = True
        elif _is_stop(raw):
            progress.stopped = True
        else:
            busy = InvalidInputError('an answer is streaming: wait for "done" or send {"type": "stop"}')
            await websocket.send_json({"type": "error", **busy.to_dict()})
            continue
        group.cancel_scope.cancel()
        return


def _is_stop(raw: str) -> bool:
    try:
        message = json.loads(raw)
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("type") == "stop"


def _parse(raw: str) -> ChatBody | None:
    """The question in a client message; None for a stop.

    Raises:
        InvalidInputError: not JSON, not an object, or not a valid question.
    """
    try:
        message = json.loads(raw)
    except ValueError:
        raise InvalidInputError('send JSON text messages, e.g. {"prompt": "explain git rebase"}') from None
    if not isinstance(message, dict):
        raise InvalidInputError('a message is a JSON object, e.g. {"prompt": "explain git rebase"}')
    if message.get("type") == "stop":
        return None
    try:
        return ChatBody.model_validate({key: value for key, value in message.items() if key != "type"})
    except ValidationError as exc:
        problems = [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()]
        text = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        raise InvalidInputError(text, details={"errors": problems}) from None


def _stopped(started: AskStarted, parts: list[str]) -> dict[str, Any]:
    answer = ChatAnswer(
        session=started.session,
        route=started.route,
        model=started.model,
        provider=started.provider,
        answer="".join(parts),
        usage=Usage(),
        captured=started.capture,
        interrupted=True,
    )
    return answer.model_dump(mode="json")
