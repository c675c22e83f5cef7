"""Structured logging: JSON lines off a terminal, readable on one, credentials masked.

Configure once per process, before anything else (the MCP SDK calls `logging.basicConfig`
when its server is created; ours must already be in place). Everything goes to stderr:
stdout belongs to command output and to the stdio MCP protocol.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import time
import uuid
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import structlog

from gazette.errors import ConfigError
from gazette.redaction import redact_value
from gazette.settings import LogSettings

REQUEST_ID_HEADER = "x-request-id"


def mask_credentials(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask anything that looks like a credential, in every field."""
    for key, value in list(event_dict.items()):
        event_dict[key] = redact_value(str(key), value)
    return event_dict


def drop_color_message(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """uvicorn adds an ANSI-coloured copy of some messages; the plain `event` is enough."""
    event_dict.pop("color_message", None)
    return event_dict


def configure_logging(settings: LogSettings, *, stream: TextIO | None = None) -> None:
    """Route structlog and the stdlib `logging` tree (uvicorn, alembic, mcp) through one pipeline.

    Raises:
        ConfigError: the log file cannot be opened.
    """
    stream = stream or sys.stderr
    use_json = settings.format == "json" or (settings.format == "auto" and not stream.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]
    tail: list[Any] = [structlog.processors.format_exc_info, drop_color_message, mask_credentials]

    def formatter(json_lines: bool) -> logging.Formatter:
        renderer: Any = (
            structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer(colors=stream.isatty())
        )
        return structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail, renderer],
        )

    console = logging.StreamHandler(stream)
    console.setFormatter(formatter(use_json))
    handlers: list[logging.Handler] = [console]
    if settings.file is not None:
        handlers.append(_file_handler(settings, formatter(True)))

    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(settings.level.upper())
    # uvicorn's access log duplicates our request log; its error log stays.
    logging.getLogger("uvicorn.access").disabled = True
    # Alembic narrates every connection at INFO; the store logs the upgrades that happen.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def _file_handler(settings: LogSettings, formatter: logging.Formatter) -> logging.Handler:
    path = Path(settings.file or "")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=settings.max_bytes, backupCount=settings.backups, encoding="utf-8"
        )
    except OSError as exc:
        raise ConfigError(
            f"cannot open log file {path}: {exc.strerror or exc}; choose another with --log-file"
        ) from None
    handler.setFormatter(formatter)
    return handler


def new_request_id() -> str:
    return uuid.uuid4().hex


def bind_request_id(request_id: str | None = None) -> str:
    """Bind a request id to this task's log context and return it."""
    request_id = request_id or new_request_id()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    return request_id


def clear_request_id() -> None:
    structlog.contextvars.unbind_contextvars("request_id")


@dataclass
class CallRecord:
    """What `logged_call` yields: the bound request id, and an outcome the caller may set."""

    request_id: str
    outcome: str = "ok"


@contextmanager
def logged_call(logger: Any, event: str, *, request_id: str | None = None, **fields: Any) -> Iterator[CallRecord]:
    """Bind a request id for one call, then log the call's outcome and duration and unbind it."""
    record = CallRecord(request_id=bind_request_id(request_id))
    started = time.perf_counter()
    try:
        yield record
    except BaseException:
        if record.outcome == "ok":
            record.outcome = "internal"
        raise
    finally:
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        logger.info(event, outcome=record.outcome, duration_ms=duration_ms, **fields)
        clear_request_id()


def get_logger(name: str) -> Any:
    """A structlog logger on top of the stdlib logger `name`.

    Until `configure_logging` runs (Gazette used as a library), records go through the stdlib
    `logging` tree like any library's, never to stdout.
    """
    return structlog.wrap_logger(logging.getLogger(name), wrapper_class=structlog.stdlib.BoundLogger)


__all__ = [
    "REQUEST_ID_HEADER",
    "bind_request_id",
    "clear_request_id",
    "configure_logging",
    "get_logger",
    "logged_call",
    "mask_credentials",
    "new_request_id",
]
