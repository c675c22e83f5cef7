"""Asking a model over HTTP: `POST /v1/chat`, answered as JSON or streamed as server-sent events.

A thin adapter over `gz.dialogs.ask`: the same sessions, capture, redaction and scopes as
`gazette ask`. The WebSocket twin is `gazette.api.routes.chat_ws`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Generator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from gazette.api.deps import GazetteDep, PrincipalDep
from gazette.api.streaming import iterate_in_thread
from gazette.app import Gazette
from gazette.auth import Principal
from gazette.dialogs import Answer, AskEvent, Usage
from gazette.errors import GazetteError
from gazette.logs import get_logger
from gazette.providers import TextDelta

log = get_logger("gazette.api")

router = APIRouter(prefix="/v1", tags=["chat"])

SSE_MEDIA_TYPE = "text/event-stream"


class ChatBody(BaseModel):
    """A question for a model; the same options as `gazette ask`."""

    prompt: str = Field(description="The question.")
    model: str | None = Field(default=None, description="A route, provider:model or Ollama model (null: the default).")
    session: str | None = Field(default=None, description="Continue this session (an id or a unique prefix).")
    new: bool = Field(default=False, description="Start a new session instead of continuing the latest.")
    system: str | None = Field(default=None, description="A system prompt (recorded as a turn).")
    with_history: int | None = Field(default=None, ge=0, description="Send up to this many earlier turns as context.")
    capture: bool = Field(default=True, description="false: record nothing of this question and answer.")
    stream: bool = Field(default=False, description="Stream server-sent events (also: Accept: text/event-stream).")


class ChatAnswer(BaseModel):
    """A finished (or, on the WebSocket, stopped) answer."""

    session: str
    route: str = Field(description="The model name asked for (or the default route).")
    model: str = Field(description="provider:model that answered.")
    provider: str
    answer: str
    usage: Usage
    latency_ms: int | None = None
    first_token_ms: int | None = None
    captured: bool = Field(description="Whether the turns were recorded.")
    interrupted: bool = False

    @classmethod
    def of(cls, answer: Answer) -> ChatAnswer:
        return cls(
            session=answer.session,
            route=answer.route,
            model=answer.model,
            provider=answer.provider,
            answer=answer.answer,
            usage=answer.usage,
            latency_ms=answer.latency_ms,
            first_token_ms=answer.first_token_ms,
            captured=answer.captured,
            interrupted=answer.interrupted,
        )


def start_asking(gz: Gazette, principal: Principal, body: ChatBody) -> Generator[AskEvent, None, None]:
    """`gz.dialogs.ask` with the body's options (blocking: refusals are raised here, before any event).

    Raises:
        As `Dialogs.ask`.
    """
    return gz.dialogs.ask(
        principal,
        body.prompt,
        model=body.model,
        session=body.session,
        new=body.new,
        system=body.system,
        with_history=body.with_history or 0,
        capture=body.capture,
    )


def internal_error() -> GazetteError:
    return GazetteError("internal error; see the server log")


@router.post(
    "/chat",
    summary="Ask a model; the answer as JSON, or streamed as server-sent events",
    response_model=ChatAnswer,
    responses={
        200: {
            "description": "JSON, or with `stream: true` / `Accept: text/event-stream` the events "
            "`delta` ({text}), then `done` (the JSON answer) or `error` (the error shape).",
            "content": {SSE_MEDIA_TYPE: {"schema": {"type": "string"}}},
        }
    },
)
async def chat(gz: GazetteDep, principal: PrincipalDep, body: ChatBody, request: Request) -> Any:
    # Refusals (scope, unknown model or session, limits) are raised before the response starts,
    # so they keep their HTTP status even when streaming was asked for.
    events = await run_in_threadpool(start_asking, gz, principal, body)
    if body.stream or SSE_MEDIA_TYPE in request.headers.get("accept", ""):
        return StreamingResponse(
            _server_sent_events(events),
            media_type=SSE_MEDIA_TYPE,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    answer = await _answer_unless_gone(events, request)
    if answer is None:
        return Response(status_code=499)  # nobody is left to read it (nginx's "client closed request")
    return ChatAnswer.of(answer)


async def _answer_unless_gone(events: Generator[AskEvent, None, None], request: Request) -> Answer | None:
    """The whole answer, or None when the client leaves first.

    Checked after each piece of the answer: leaving closes `events`, which stops the model call
    and records what arrived as interrupted, as a streaming client's leaving does.
    """
    stream = iterate_in_thread(events)
    try:
        async for event in stream:
            if isinstance(event, Answer):
                return event
            if await request.is_disconnected():
                return None
    finally:
        await stream.aclose()
    raise AssertionError("the answer stream ended without its Answer")  # pragma: no cover - ask always ends so


def _frame(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


async def _server_sent_events(events: Generator[AskEvent, None, None]) -> AsyncIterator[str]:
    # A client that goes away cancels this generator (Starlette watches for the disconnect);
    # `iterate_in_thread` then closes `events`, which records the partial answer as interrupted.
    stream = iterate_in_thread(events)
    try:
        async for event in stream:
            if isinstance(event, TextDelta):
                yield _frame("delta", {"text": event.text})
            elif isinstance(event, Answer):
                yield _frame("done", ChatAnswer.of(event).model_dump(mode="json"))
    except GazetteError as exc:  # the call failed mid-answer; the service kept what arrived
        yield _frame("error", exc.to_dict())
    except Exception:
        log.exception("chat stream failed")
        yield _frame("error", internal_error().to_dict())
    finally:
        await stream.aclose()
