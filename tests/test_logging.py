"""Logging: JSON lines off a TTY, request ids, credentials masked, rotating file."""

from __future__ import annotations

import io
import json
import logging
import time
from pathlib import Path

import pytest
import structlog

from gazette.errors import ConfigError
from gazette.logs import bind_request_id, clear_request_id, configure_logging, get_logger
from gazette.settings import LogSettings
from tests.servers import RunningServer


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


@pytest.fixture(autouse=True)
def _restore_logging() -> None:
    yield
    logging.getLogger().handlers.clear()
    structlog.reset_defaults()


def test_json_lines_when_not_a_tty_with_the_request_id() -> None:
    stream = io.StringIO()
    configure_logging(LogSettings(), stream=stream)
    bind_request_id("req-1")
    get_logger("test").info("hello", answer=42)
    clear_request_id()
    [record] = lines(stream)
    assert record["event"] == "hello"
    assert record["request_id"] == "req-1"
    assert record["answer"] == 42
    assert record["level"] == "info"
    assert "timestamp" in record


def test_readable_lines_on_a_tty() -> None:
    stream = FakeTty()
    configure_logging(LogSettings(), stream=stream)
    get_logger("test").info("hello there")
    output = stream.getvalue()
    assert "hello there" in output
    assert not output.lstrip().startswith("{")


def test_json_format_can_be_forced_on_a_tty() -> None:
    stream = FakeTty()
    configure_logging(LogSettings(format="json"), stream=stream)
    get_logger("test").info("forced")
    assert lines(stream)[0]["event"] == "forced"


def test_stdlib_loggers_share_the_pipeline_and_masking() -> None:
    stream = io.StringIO()
    configure_logging(LogSettings(), stream=stream)
    logging.getLogger("uvicorn.error").warning("connecting to postgresql://app:s3cret@db/app")
    [record] = lines(stream)
    assert record["event"] == "connecting to postgresql://app:***@db/app"
    assert record["logger"] == "uvicorn.error"


@pytest.mark.parametrize(
    ("fields", "secret"),
    [
        ({"api_key": "plain-value-123"}, "plain-value-123"),
        ({"authorization": "Bearer abcdefghijklmnop"}, "abcdefghijklmnop"),
        ({"note": "token is gzt_AbCdEfGhIjKlMnOpQrSt1234"}, "gzt_AbCdEfGhIjKlMnOpQrSt1234"),
        ({"note": "key sk-proj-abcdefghijklmnopqrstuv"}, "sk-proj-abcdefghijklmnopqrstuv"),
        ({"nested": {"password": "hunter2"}}, "hunter2"),
    ],
)
def test_credentials_never_reach_the_log(fields: dict[str, object], secret: str) -> None:
    stream = io.StringIO()
    configure_logging(LogSettings(), stream=stream)
    get_logger("test").info("event", **fields)
    assert secret not in stream.getvalue()
    assert "***" in stream.getvalue()


def test_log_file_rotates_by_size(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "gazette.log"
    configure_logging(LogSettings(file=path, max_bytes=2048, backups=2), stream=io.StringIO())
    log = get_logger("test")
    for index in range(100):
        log.info("line", index=index, padding="x" * 50)
    assert path.exists()
    assert (tmp_path / "logs" / "gazette.log.1").exists()
    assert not (tmp_path / "logs" / "gazette.log.3").exists()
    assert all(json.loads(line)["event"] == "line" for line in path.read_text().splitlines())


def test_an_unwritable_log_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="cannot open log file"):
        configure_logging(LogSettings(file=tmp_path / "file" / "x.log"), stream=io.StringIO())


def test_served_http_requests_are_logged_with_their_request_id(server: RunningServer) -> None:
    import httpx

    httpx.get(server.http_url + "/health", headers={"X-Request-ID": "trace-me-42"})
    # The access line is written once the response has been sent: poll the log briefly.
    deadline = time.monotonic() + 10
    matching: list[dict[str, object]] = []
    while not matching and time.monotonic() < deadline:
        records = [json.loads(line) for line in server.log().splitlines() if line.startswith('{"')]
        matching = [r for r in records if r.get("request_id") == "trace-me-42"]
        time.sleep(0.05)
    [request] = matching
    assert request["event"] == "http request"
    assert request["route"] == "/health"
    assert request["status"] == 200
