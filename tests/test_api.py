"""HTTP surface in process: health, readiness, metrics, OpenAPI, request ids, error shape."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from gazette.api import create_app
from gazette.app import Gazette


@pytest.fixture
def admin_token(gz: Gazette) -> str:
    return gz.auth.add_token(gz.local_owner(), name="api-admin", role="admin", scopes=["admin"]).token


@pytest.fixture
def client(gz: Gazette, admin_token: str) -> Iterator[TestClient]:
    app = create_app(gz)
    with TestClient(
        app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {admin_token}"}
    ) as test_client:
        yield test_client


@pytest.fixture
def anonymous(gz: Gazette) -> Iterator[TestClient]:
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
    assert metrics.status_code == 200
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


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing"),
        ({"Authorization": "Bearer gzt_typo"}, "malformed"),
        ({"Authorization": "Token abc"}, "scheme"),
        ({"X-API-Key": "gzt_000000000000000000000000000000000000"}, "malformed"),
    ],
)
def test_v1_refuses_callers_without_a_valid_credential(
    anonymous: TestClient, headers: dict[str, str], reason: str
) -> None:
    response = anonymous.get("/v1/info", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response.json()["error"]["details"]["reason"] == reason


def test_health_ready_and_metrics_need_no_credential(anonymous: TestClient, gz: Gazette) -> None:
    gz.store.ensure_migrated()
    for path in ("/health", "/ready", "/metrics", "/openapi.json"):
        assert anonymous.get(path).status_code == 200, path


def test_x_api_key_and_bearer_are_both_accepted(anonymous: TestClient, admin_token: str) -> None:
    assert anonymous.get("/v1/auth/whoami", headers={"X-API-Key": admin_token}).json()["user"] == "local"
    assert anonymous.get("/v1/auth/whoami", headers={"Authorization": f"bearer {admin_token}"}).status_code == 200


def test_revoked_token_is_refused_at_once(client: TestClient, anonymous: TestClient) -> None:
    minted = client.post("/v1/auth/tokens", json={"name": "short-lived"}).json()
    assert anonymous.get("/v1/auth/whoami", headers={"X-API-Key": minted["token"]}).status_code == 200
    assert client.delete("/v1/auth/tokens/short-lived").json()["revoked_at"] is not None
    refused = anonymous.get("/v1/auth/whoami", headers={"X-API-Key": minted["token"]})
    assert refused.status_code == 401
    assert refused.json()["error"]["details"]["reason"] == "revoked"


def test_admins_manage_tokens_over_http(client: TestClient) -> None:
    created = client.post("/v1/auth/tokens", json={"name": "agent", "scopes": ["memory:read"], "rpm": 30})
    assert created.status_code == 201
    body = created.json()
    assert body["token"].startswith("gzt_")
    listed = client.get("/v1/auth/tokens").json()
    assert {row["name"] for row in listed} == {"api-admin", "agent"}
    assert body["token"] not in str(listed)
    conflict = client.post("/v1/auth/tokens", json={"name": "agent"})
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "conflict"


def test_a_token_without_the_admin_scope_cannot_mint_tokens(client: TestClient, anonymous: TestClient) -> None:
    reader = client.post("/v1/auth/tokens", json={"name": "reader", "user": "ada"}).json()["token"]
    denied = anonymous.post("/v1/auth/tokens", json={"name": "escalate"}, headers={"X-API-Key": reader})
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "permission_denied"
    assert denied.json()["error"]["details"]["required_scope"] == "admin"
    own = anonymous.get("/v1/auth/tokens", headers={"X-API-Key": reader}).json()
    assert [row["name"] for row in own] == ["reader"]


def test_bad_token_requests_get_the_error_shape(client: TestClient) -> None:
    response = client.post("/v1/auth/tokens", json={"name": "x", "scopes": ["everything"]})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"
    malformed = client.post("/v1/auth/tokens", json={"scopes": "not-a-list"})
    assert malformed.status_code == 422
    assert malformed.json()["error"]["code"] == "invalid_input"


@pytest.mark.parametrize("kind", ["unknown", "typo", "expired", "revoked"])
def test_bad_tokens_get_401_with_the_error_shape_and_an_audit_row(gz: Gazette, kind: str) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from gazette.auth import tokens
    from gazette.store.tables import personal_access_tokens
    from gazette.store.types import utcnow

    owner = gz.local_owner()
    minted = gz.auth.add_token(owner, name="subject")
    presented = {
        "unknown": tokens.mint(),
        "typo": minted.token[:10] + ("A" if minted.token[10] != "A" else "B") + minted.token[11:],
        "expired": minted.token,
        "revoked": minted.token,
    }[kind]
    if kind == "expired":
        with gz.store.begin() as conn:
            conn.execute(update(personal_access_tokens).values(expires_at=utcnow() - timedelta(minutes=1)))
    if kind == "revoked":
        gz.auth.revoke_token(owner, "subject")
    with TestClient(create_app(gz), raise_server_exceptions=False) as client:
        response = client.get("/v1/info", headers={"Authorization": f"Bearer {presented}"})
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "details"}
    reason = {"unknown": "unknown", "typo": "malformed", "expired": "expired", "revoked": "revoked"}[kind]
    assert response.json()["error"]["details"]["reason"] == reason
    [failure] = gz.audit.list_entries(owner, event="auth.failure")
    assert failure.outcome == reason
    assert presented not in failure.model_dump_json()
