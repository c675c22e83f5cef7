"""HTTP for providers, and the one place where httpx failures and error answers become `ProviderError`.

Every message names the provider, the model (when there is one) and the server, says what went
wrong and what to do. `reason` (see `ProviderError`) tells callers which failure it was;
`unreachable` alone means nothing was sent, so only it may be retried.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import httpx

from gazette.errors import ConfigError, ProviderError
from gazette.providers.models import ChatRequest
from gazette.redaction import redact_text
from gazette.settings import Settings, mask_url

_CONTEXT_TOO_LONG = re.compile(
    r"context[ _]length|context window|prompt is too long|too many tokens|maximum context", re.IGNORECASE
)


@dataclass(frozen=True)
class Hints:
    """Provider-specific advice, completed into the error messages."""

    address: str  # how to point Gazette at the server
    key: str  # how to give it a key
    pull: str = "check the model name; `gazette models list` shows what the server offers"  # may use {model}


@dataclass(frozen=True)
class Call:
    """Which provider, model and server a request goes to: the subject of every error message."""

    provider: str
    endpoint: str
    hints: Hints
    timeout: float
    model: str | None = None

    def for_model(self, model: str) -> Call:
        return replace(self, model=model)

    def error(self, reason: str, problem: str, advice: str, *, status_code: int | None = None) -> ProviderError:
        subject = f"{self.provider} model {self.model!r}" if self.model else self.provider
        details: dict[str, Any] = {"provider": self.provider, "model": self.model, "endpoint": self.endpoint}
        if status_code is not None:
            details["status_code"] = status_code
        message = f"{subject} at {mask_url(self.endpoint)}: {problem}; {advice}"
        return ProviderError(message, reason=reason, details=details)

    def unreachable(self, exc: Exception) -> ProviderError:
        return self.error(
            "unreachable", f"cannot connect ({_cause(exc)})", f"is the server running? {self.hints.address}"
        )

    def timed_out(self, *, midway: bool) -> ProviderError:
        if midway:
            problem = f"the answer stopped: no data for {self.timeout:g} s"
            advice = "it was not retried because the model had begun answering: ask again"
        else:
            problem = f"no answer within {self.timeout:g} s"
            advice = (
                "the model may still be loading or the prompt is large: retry, "
                "or raise GAZETTE_PROVIDERS__TIMEOUT_SECONDS"
            )
        return self.error("timeout", problem, advice)

    def interrupted(self, cause: str) -> ProviderError:
        return self.error(
            "interrupted",
            f"the answer broke off ({cause})",
            "it was not retried because the model had begun answering: ask again",
        )

    def malformed(self, wire: str, problem: str) -> ProviderError:
        return self.error(
            "malformed_stream",
            f"the server sent something that is not {wire} ({problem})",
            "check that the URL points at this kind of server (not a proxy's error page), then retry",
        )

    def failure(self, status: int, body: Any, text: str = "") -> ProviderError:
        """An error answer (HTTP status, or an error object inside a stream when `status` is 200)."""
        message, code = error_fields(body)
        # Servers echo what they refused (OpenAI quotes part of a wrong key): mask credentials.
        message = redact_text(message or text.strip()[:300]) or httpx.codes.get_reason_phrase(status)
        said = f"{status}{' ' + code if code else ''}: {message}" if status != 200 else message
        if status in (401, 403) or code in ("authentication_error", "permission_error", "invalid_api_key"):
            return self.error(
                "unauthorized", f"the server refused the API key ({said})", self.hints.key, status_code=status
            )
        if code == "context_length_exceeded" or (status in (400, 413, 422, 200) and _CONTEXT_TOO_LONG.search(message)):
            advice = "shorten the conversation or pick a model with a larger context window"
            return self.error(
                "context_too_long", f"the prompt is too long for the model ({said})", advice, status_code=status
            )
        if status == 404 or code in ("model_not_found", "not_found_error"):
            if code in ("model_not_found", "not_found_error") or "model" in message.lower():
                advice = self.hints.pull.format(model=self.model or "")
                return self.error(
                    "model_not_found", f"the server has no such model ({said})", advice, status_code=status
                )
            advice = "check the URL (OpenAI-compatible servers usually end in /v1)"
            return self.error("bad_request", f"the server has no such endpoint ({said})", advice, status_code=status)
        if status == 429 or code in ("rate_limit_error", "rate_limit_exceeded", "insufficient_quota"):
            advice = "that is the provider's own rate limit or quota: wait a moment, or check your plan"
            return self.error("rate_limited", f"the server refused for now ({said})", advice, status_code=status)
        if 400 <= status < 500:
            return self.error(
                "bad_request", f"the server rejected the request ({said})", "check the request", status_code=status
            )
        advice = "retry in a moment; if it persists, look at the server's log"
        problem = (
            f"the server failed ({said})" if status != 200 else f"the server reported an error mid-answer ({said})"
        )
        return self.error("server_error", problem, advice, status_code=status)


def error_fields(body: Any) -> tuple[str, str]:
    """(message, code) from the error shapes of Ollama, OpenAI and Anthropic."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str):
        return error, ""
    if isinstance(error, dict):
        code = error.get("code") or error.get("type") or ""
        return str(error.get("message") or ""), str(code)
    return "", ""


def _cause(exc: Exception) -> str:
    text = str(exc).strip()
    # httpx says "[Errno 111] Connection refused"; the errno helps nobody.
    return re.sub(r"^\[Errno -?\d+\]\s*", "", text).lower() or type(exc).__name__


class Server:
    """One provider's server: its HTTP client (opened on first use) and the `Call` its errors name."""

    def __init__(self, settings: Settings, *, provider: str, url: str | None, hints: Hints, setup: str) -> None:
        self.url = url.rstrip("/") if url else None
        self.setup = setup
        self.probe_timeout = settings.providers.connect_timeout_seconds
        self._timeout = settings.providers.timeout_seconds
        self.call = Call(provider=provider, endpoint=self.url or "", hints=hints, timeout=self._timeout)
        self._client: httpx.Client | None = None

    def client(self) -> httpx.Client:
        """Raises ConfigError when no URL is configured."""
        if self.url is None:
            raise ConfigError(f"{self.call.provider} is not configured: {self.setup}")
        if self._client is None:
            timeout = httpx.Timeout(self._timeout, connect=self.probe_timeout)
            self._client = httpx.Client(base_url=self.url, timeout=timeout)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def chat_messages(request: ChatRequest) -> list[dict[str, str]]:
    """The conversation as Ollama and OpenAI take it: the system prompt first."""
    messages = [{"role": "system", "content": request.system}] if request.system else []
    return messages + [message.model_dump() for message in request.messages]


@contextmanager
def open_stream(
    client: httpx.Client, call: Call, path: str, payload: dict[str, Any], headers: dict[str, str]
) -> Iterator[httpx.Response]:
    """POST and hold the streaming response open; a refusal is raised before anything is read.

    Raises:
        ProviderError: unreachable, timed out before answering, or an error status.
    """
    try:
        with client.stream("POST", path, json=payload, headers=headers) as response:
            if response.status_code >= 400:
                response.read()
                raise call.failure(response.status_code, json_or_none(response), response.text)
            yield response
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise call.unreachable(exc) from None
    except httpx.TimeoutException:
        raise call.timed_out(midway=False) from None
    except httpx.HTTPError as exc:
        raise call.interrupted(_cause(exc)) from None


def lines(response: httpx.Response, call: Call) -> Iterator[str]:
    """The response's lines as they arrive; a break or a stall becomes a `ProviderError`.

    Raises:
        ProviderError: `timeout` or `interrupted`.
    """
    try:
        yield from response.iter_lines()
    except httpx.TimeoutException:
        raise call.timed_out(midway=True) from None
    except httpx.HTTPError as exc:
        raise call.interrupted(_cause(exc)) from None


def send(
    client: httpx.Client,
    call: Call,
    method: str,
    path: str,
    *,
    payload: dict[str, Any] | None = None,
    content: Iterator[bytes] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float | None = None,
) -> httpx.Response:
    """One request, its answer read whatever the status.

    Raises:
        ProviderError: unreachable, timeout, or the connection broke.
    """
    try:
        return client.request(
            method,
            path,
            json=payload,
            content=content,
            headers=headers,
            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
        )
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise call.unreachable(exc) from None
    except httpx.TimeoutException:
        raise replace(call, timeout=timeout or call.timeout).timed_out(midway=False) from None
    except httpx.HTTPError as exc:
        raise call.interrupted(_cause(exc)) from None


def request_json(
    client: httpx.Client,
    call: Call,
    method: str,
    path: str,
    *,
    payload: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """One request whose answer is a JSON object.

    Raises:
        ProviderError: unreachable, timeout, an error status, or an answer that is not a JSON object.
    """
    response = send(client, call, method, path, payload=payload, headers=headers, timeout=timeout)
    body = json_or_none(response)
    if response.status_code >= 400:
        raise call.failure(response.status_code, body, response.text)
    if not isinstance(body, dict):
        raise call.malformed("a JSON object", f"{path} answered {response.text[:80]!r}")
    return body


def parse_json(line: str, call: Call, wire: str) -> dict[str, Any]:
    """One JSON object from a stream line.

    Raises:
        ProviderError: `malformed_stream`.
    """
    try:
        item = json.loads(line)
    except ValueError:
        raise call.malformed(wire, f"unreadable line {line[:80]!r}") from None
    if not isinstance(item, dict):
        raise call.malformed(wire, f"unexpected line {line[:80]!r}")
    return item


def json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def bearer(secret: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"} if secret else {}
