"""MCP mapping of the error tree: a tool failure is an error *result* carrying the error shape.

Protocol failures (unknown tool, bad arguments) stay protocol-level, as the SDK does them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from mcp.types import CallToolResult, TextContent

from gazette.errors import GazetteError
from gazette.logs import get_logger, logged_call

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


def tool_call(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Wrap a tool: a request id and a log line per call; `GazetteError` becomes an error result.

    The wrapper keeps the signature and return annotation, so the tool's input and output
    schemas still come from the function.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            with logged_call(log, "mcp tool call", tool=name) as call:
                try:
                    return fn(*args, **kwargs)
                except GazetteError as exc:
                    call.outcome = exc.code
                    return error_result(exc)

        return wrapper

    return decorate
