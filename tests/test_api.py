"""HTTP surface in process: health, readiness, metrics, OpenAPI, request ids, error shape."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from gazette.api import create_app
from gazette.app import Gazette


@pytest.fixture
def client(gz: Gazette) -> Iterator[TestClient]:
    with TestClient(create_app(gz), raise_server_exceptions=False) as test_client:
        yield test_client


def test_health_answers_ok(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_when_store_is_migrated(client: TestClient, gz: Gazette) -> None:
    gz.store.ensure_migrated()
    response = client.get("/ready")
    assert response.status_code == 200
    assert {check["name"] for check in response.json()["checks"]} == {"store", "migrations"}


def test_not_ready_while_migrations_are_missing(client: TestClient, gz: Gazette) -> None:
    gz.store.ensure_migrated()
    with gz.store.engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version"))
    response = client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["code"] == "unavailable"
    assert body["error"]["details"]["checks"][0]["name"] == "migrations"


def test_metrics_count_requests_by_route_template_and_status(client: TestClient) -> None:
    client.get("/health")
    client.get("/v1/info", params={"workspace": "missing"})
    client.get("/no/such/path")
    metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    body = metrics.text
    assert 'gazette_http_requests_total{method="GET",route="/health",status="200"} 1.0' in body
    assert 'gazette_http_requests_total{method="GET",route="/v1/info",status="404"} 1.0' in body
    assert 'route="<unmatched>",status="404"' in body
    assert 'gazette_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/health"}' in body


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "Gazette"
    assert {"/health", "/ready", "/metrics", "/v1/info"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200


def test_every_response_carries_a_request_id_and_honours_the_callers(client: TestClient) -> None:
    generated = client.get("/health").headers["x-request-id"]
    assert len(generated) == 32
    assert client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    assert client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"}).headers["x-request-id"] != "bad id"


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/v1/info?workspace=missing", 404, "not_found"),
        ("GET", "/nowhere", 404, "not_found"),
        ("POST", "/health", 405, "method_not_allowed"),
    ],
)
def test_failures_use_the_error_shape(client: TestClient, method: str, path: str, status: int, code: str) -> None:
    response = client.request(method, path)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert set(error) == {"code", "message", "details"}
