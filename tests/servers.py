"""Helpers to run `gazette` as a user does: as a subprocess, on free ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gazette_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "gazette", *args]


@dataclass
class RunningServer:
    process: subprocess.Popen[str]
    http_url: str
    grpc_target: str
    log_path: Path
    token: str

    @property
    def mcp_url(self) -> str:
        return f"{self.http_url}/mcp"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def mcp_client(self) -> Client:
        """The official MCP client over streamable HTTP, presenting the admin token."""
        return Client(streamable_http_client(self.mcp_url, http_client=httpx2.AsyncClient(headers=self.headers)))

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                return self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise
        return int(self.process.returncode)


def start_server(tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> RunningServer:
    """Start `gazette serve` in a subprocess on free ports and wait for /health."""
    http_port, grpc_port = free_port(), free_port()
    log_path = tmp_path / f"serve-{http_port}.log"
    process = subprocess.Popen(
        gazette_command("serve", "--port", str(http_port), "--grpc-port", str(grpc_port), *extra),
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("w"),
        env={**os.environ, **(env or {})},
        text=True,
    )
    token_file = Path((env or os.environ).get("GAZETTE_HOME", os.environ["GAZETTE_HOME"])) / "admin-token"
    server = RunningServer(process, f"http://127.0.0.1:{http_port}", f"127.0.0.1:{grpc_port}", log_path, "")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gazette serve exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.http_url}/health", timeout=1).status_code == 200:
                # The first serve on an empty store writes the admin token before listening.
                server.token = token_file.read_text().strip() if token_file.exists() else ""
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise AssertionError(f"gazette serve did not answer /health within 30 s:\n{server.log()}")
