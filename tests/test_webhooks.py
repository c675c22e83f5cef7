"""Webhooks against a real local receiver: signed deliveries, retries with backoff, recorded outcomes."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gazette.api import create_app
from gazette.app import Gazette
from gazette.errors import InvalidInputError
from gazette.settings import load_settings
from gazette.webhooks import verify
from tests.test_index import make_repo


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)  # answered in order; 200 once they run out
    requests: list[tuple[dict[str, str], str]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            state.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(state.statuses.pop(0) if state.statuses else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def gz(home: Path) -> Iterator[Gazette]:
    gazette = Gazette(load_settings(webhooks={"backoff_seconds": [0, 0]}).settings)  # retries due at once
    yield gazette
    gazette.close()


def test_deliveries_are_signed_with_the_secret_over_timestamp_and_body(
    gz: Gazette, receiver: Receiver, tmp_path: Path
) -> None:
    created = gz.webhooks.add(gz.local_owner(), receiver.url, ["index.completed"])
    gz.index.index_repo(gz.local_owner(), make_repo(tmp_path / "project"), "project")
    assert gz.webhooks.deliver_due() == 1
    [(headers, body)] = receiver.requests
    assert headers["x-gazette-event"] == "index.completed"
    assert verify(created.secret, headers["x-gazette-timestamp"], body, headers["x-gazette-signature"], now=time.time())
    assert not verify(
        "another-secret", headers["x-gazette-timestamp"], body, headers["x-gazette-signature"], now=time.time()
    )
    assert not verify(
        created.secret, headers["x-gazette-timestamp"], body + " ", headers["x-gazette-signature"], now=time.time()
    )
    event = json.loads(body)
    assert (event["event"], event["workspace"], event["payload"]["repo"]) == ("index.completed", "default", "project")
    [delivery] = gz.webhooks.deliveries(gz.local_owner())
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)


def test_a_failing_endpoint_is_retried_until_it_answers(gz: Gazette, receiver: Receiver, tmp_path: Path) -> None:
    receiver.statuses = [500, 503]
    gz.webhooks.add(gz.local_owner(), receiver.url, ["index.completed"])
    gz.index.index_repo(gz.local_owner(), make_repo(tmp_path / "project"), "project")
    for _ in range(3):
        gz.webhooks.deliver_due()
    [delivery] = gz.webhooks.deliveries(gz.local_owner())
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)
    assert len(receiver.requests) == 3
    assert len({headers["x-gazette-delivery"] for headers, _ in receiver.requests}) == 1  # the same delivery


def test_a_delivery_that_keeps_failing_is_failed_after_the_last_backoff(
    gz: Gazette, receiver: Receiver, tmp_path: Path
) -> None:
    receiver.statuses = [500] * 10
    gz.webhooks.add(gz.local_owner(), receiver.url, [])
    gz.index.index_repo(gz.local_owner(), make_repo(tmp_path / "project"), "project")
    for _ in range(5):
        gz.webhooks.deliver_due()
    outcomes = {(d.event, d.status, d.attempts, d.last_status_code) for d in gz.webhooks.deliveries(gz.local_owner())}
    assert outcomes == {("repo.created", "failed", 3, 500), ("index.completed", "failed", 3, 500)}


def test_an_unreachable_endpoint_records_the_error(gz: Gazette, tmp_path: Path) -> None:
    gz.webhooks.add(gz.local_owner(), "http://127.0.0.1:9/hook", ["index.failed"])
    with pytest.raises(Exception, match="does not exist"):
        gz.index.index_repo(gz.local_owner(), tmp_path / "missing", "ghost")
    gz.webhooks.deliver_due()
    [delivery] = gz.webhooks.deliveries(gz.local_owner())
    assert delivery.status == "pending"
    assert delivery.last_status_code is None
    assert "ConnectError" in (delivery.last_error or "")


def test_webhooks_only_get_the_events_they_asked_for(gz: Gazette, receiver: Receiver, tmp_path: Path) -> None:
    gz.webhooks.add(gz.local_owner(), receiver.url, ["index.failed"])
    gz.index.index_repo(gz.local_owner(), make_repo(tmp_path / "project"), "project")
    assert gz.webhooks.deliver_due() == 0
    assert receiver.requests == []


def test_the_signing_secret_is_sealed_at_rest(gz: Gazette, home: Path, receiver: Receiver) -> None:
    created = gz.webhooks.add(gz.local_owner(), receiver.url, [])
    gz.close()
    for path in home.glob("gazette.db*"):
        assert created.secret.encode() not in path.read_bytes()


@pytest.mark.parametrize(
    ("url", "events", "message"),
    [("ftp://example.invalid/x", [], "not an http"), ("http://127.0.0.1/x", ["index.exploded"], "unknown event")],
)
def test_bad_webhooks_are_refused(gz: Gazette, url: str, events: list[str], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        gz.webhooks.add(gz.local_owner(), url, events)


def test_webhooks_over_http_are_for_admins(gz: Gazette, receiver: Receiver) -> None:
    admin = gz.auth.add_token(gz.local_owner(), name="admin", scopes=["admin"]).token
    reader = gz.auth.add_token(gz.local_owner(), name="reader", scopes=["memory:read"], user="ada").token
    with TestClient(create_app(gz), raise_server_exceptions=False) as client:
        created = client.post("/v1/webhooks", json={"url": receiver.url}, headers={"X-API-Key": admin})
        assert created.status_code == 201
        assert created.json()["secret"].startswith("gzwh_")
        listed = client.get("/v1/webhooks", headers={"X-API-Key": admin}).json()
        assert [hook["url"] for hook in listed] == [receiver.url]
        assert "secret" not in listed[0]
        assert client.get("/v1/webhooks", headers={"X-API-Key": reader}).status_code == 403
        removed = client.delete(f"/v1/webhooks/{created.json()['id']}", headers={"X-API-Key": admin})
        assert removed.status_code == 200
        assert client.get("/v1/webhooks", headers={"X-API-Key": admin}).json() == []


def test_a_running_server_delivers_index_events_on_its_own(receiver: Receiver, tmp_path: Path) -> None:
    import httpx

    from tests.servers import start_server

    root = make_repo(tmp_path / "project")
    running = start_server(tmp_path)
    try:
        created = httpx.post(
            f"{running.http_url}/v1/webhooks",
            json={"url": receiver.url, "events": ["index.completed"]},
            headers=running.headers,
        ).json()
        httpx.post(
            f"{running.http_url}/v1/index/repo", json={"name": "project", "path": str(root)}, headers=running.headers
        )
        deadline = time.monotonic() + 30
        while not receiver.requests:
            assert time.monotonic() < deadline, "no webhook delivery from the running server"
            time.sleep(0.1)
    finally:
        running.stop()
    headers, body = receiver.requests[0]
    assert verify(
        created["secret"], headers["x-gazette-timestamp"], body, headers["x-gazette-signature"], now=time.time()
    )
    assert json.loads(body)["payload"]["files"] == 5
