"""MCP mapping of the error tree: a tool failure is an error *result* carrying the error shape.

Protocol failures (unknown tool, bad arguments) stay protocol-level, as the SDK does them.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from mcp.types import CallToolResult, TextContent

from gazette.app import Gazette
from gazette.audit import digest_arguments
from gazette.errors import GazetteError
from gazette.logs import get_logger, logged_call
from gazette.mcp_server.principals import PrincipalResolver

log = get_logger("gazette.mcp")

P = ParamSpec("P")
R = TypeVar("R")


def error_result(exc: GazetteError) -> CallToolResult:
    shape = exc.to_dict()
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(shape))],
        structured_content=shape,
        is_error=True,
    )


def tool_call(gz: Gazette, name: str, principal_of: PrincipalResolver) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Wrap a tool: a request id, a log line and an audit entry per call; `GazetteError` becomes
    an error result. The tool must take `ctx: Context` (its principal is resolved from it).

    The wrapper keeps the signature and return annotation, so the tool's input and output
    schemas still come from the function.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            started = time.perf_counter()
            principal = None
            with logged_call(log, "mcp tool call", tool=name) as call:
                try:
                    principal = principal_of(kwargs["ctx"])
                    gz.rate_limits.consume(principal)
                    return fn(*args, **kwargs)
                except GazetteError as exc:
                    call.outcome = exc.code
                    return error_result(exc)
                finally:
                    arguments = {key: value for key, value in kwargs.items() if key != "ctx"}
                    gz.audit.record(
                        "mcp.tool_call",
                        principal=principal,
                        target=name,
                        outcome=call.outcome,
                        payload={
                            "arguments_digest": digest_arguments(arguments),
                            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                        },
                    )

        return wrapper

    return decorate
