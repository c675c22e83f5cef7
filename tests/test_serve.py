"""`gazette serve` as a user runs it: one process, three listeners, graceful shutdown."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import create_engine, inspect

from tests.servers import RunningServer, free_port, gazette_command, start_server


def test_serve_answers_health_ready_metrics_openapi_and_docs(server: RunningServer) -> None:
    for path in ("/health", "/ready", "/metrics", "/openapi.json", "/docs"):
        assert httpx.get(server.http_url + path).status_code == 200, path
    assert "gazette_http_requests_total" in httpx.get(server.http_url + "/metrics").text


def test_serve_answers_grpc_health_serving(server: RunningServer) -> None:
    with grpc.insecure_channel(server.grpc_target) as channel:
        response = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_serve_prints_how_to_connect(server: RunningServer) -> None:
    log = server.log()
    assert server.mcp_url in log
    assert '"mcpServers"' in log
    assert server.grpc_target in log


def test_first_serve_mints_an_admin_token_shown_once_and_saved_0600(server: RunningServer, home: Path) -> None:
    token_file = home / "admin-token"
    assert server.token.startswith("gzt_")
    assert (token_file.stat().st_mode & 0o777) == 0o600
    assert server.log().count(server.token) == 1
    whoami = httpx.get(server.http_url + "/v1/auth/whoami", headers=server.headers).json()
    assert (whoami["user"], whoami["role"]) == ("admin", "admin")


def test_a_second_serve_mints_no_new_admin_token(tmp_path: Path, home: Path) -> None:
    first = start_server(tmp_path)
    assert first.stop() == 0
    second = start_server(tmp_path)
    try:
        assert "admin token was created" not in second.log()
        assert (home / "admin-token").read_text().strip() == first.token
        assert httpx.get(second.http_url + "/v1/info", headers={"X-API-Key": first.token}).status_code == 200
    finally:
        second.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_shuts_down_gracefully_on_signals(tmp_path: Path, sig: signal.Signals) -> None:
    running = start_server(tmp_path)
    running.process.send_signal(sig)
    assert running.process.wait(timeout=20) == 0
    log = running.log()
    assert "gazette stopped" in log
    assert "Traceback" not in log


def test_a_port_in_use_is_one_line_naming_the_port_and_the_flag(server: RunningServer) -> None:
    port = server.http_url.rsplit(":", 1)[1]
    result = subprocess.run(
        gazette_command("serve", "--port", port, "--grpc-port", str(free_port())),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: port {port} on 127.0.0.1 is already in use; choose another with --port (or GAZETTE_SERVER__PORT)"
    )
    assert "Traceback" not in result.stderr


def test_a_grpc_port_in_use_names_the_grpc_flag(server: RunningServer) -> None:
    grpc_port = server.grpc_target.rsplit(":", 1)[1]
    result = subprocess.run(
        gazette_command("serve", "--port", str(free_port()), "--grpc-port", grpc_port),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"gRPC port {grpc_port}" in result.stderr
    assert "--grpc-port" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.postgres
def test_serve_on_postgresql_is_ready_and_creates_the_tables(tmp_path: Path, postgres_url: str) -> None:
    running = start_server(tmp_path, env={"GAZETTE_STORE__URL": postgres_url})
    try:
        ready = httpx.get(running.http_url + "/ready")
        assert ready.status_code == 200
        info = httpx.get(running.http_url + "/v1/info", headers=running.headers).json()
        assert info["store"] == "postgresql"
    finally:
        assert running.stop() == 0
    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        assert {"workspaces", "alembic_version"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
