"""The CLI as a user meets it: output, --json, and one-line errors for bad input."""

from __future__ import annotations

import http.server
import io
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from gazette.cli import main
from tests.servers import gazette_command


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_python_dash_m_gazette_prints_help_without_heavy_imports() -> None:
    probe = (
        "import sys, runpy; sys.argv=['gazette','--help'];\n"
        "try: runpy.run_module('gazette', run_name='__main__')\n"
        "except SystemExit: pass\n"
        "heavy = [m for m in ('sqlalchemy','fastapi','mcp','grpc','pydantic_settings','structlog')\n"
        "         if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert "Usage: gazette" in result.stdout
    assert "HEAVY []" in result.stdout


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version")[:2] == (0, "gazette 0.1.0\n")


def test_info_json_describes_the_default_workspace(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "info", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["workspace"] == {"slug": "default", "name": "Default workspace"}
    assert info["store"] == "sqlite"


def test_config_show_json_gives_values_with_their_sources(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    monkeypatch.setenv("GAZETTE_SERVER__PORT", "4545")
    monkeypatch.setenv("GAZETTE_PROVIDERS__OPENAI__API_KEY", "sk-test-abcdefghijklmnopqrstu")
    code, out, _ = run(capsys, "config", "show", "--json")
    assert code == 0
    shown = json.loads(out)
    rows = {row["key"]: row for row in shown["settings"]}
    assert shown["data_dir"] == str(home)
    assert rows["server.port"] == {"key": "server.port", "value": 4545, "source": "env:GAZETTE_SERVER__PORT"}
    assert rows["providers.openai.api_key"]["value"] == "***"
    assert rows["server.host"]["source"] == "default"
    assert "abcdefghijklmnopqrstu" not in out


def test_config_show_table_names_sources(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "config", "show")
    assert code == 0
    assert "server.port" in out
    assert "env:GAZETTE_HOME" in out


def test_db_commands_report_and_apply_migrations(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "db", "current", "--json")
    assert (code, json.loads(out)["current"], json.loads(out)["up_to_date"]) == (0, None, False)
    code, out, _ = run(capsys, "db", "history", "--json")
    history = json.loads(out)
    assert history[0]["id"] == "0001"
    assert not any(r["applied"] for r in history)
    code, out, _ = run(capsys, "db", "upgrade", "--json")
    head = history[-1]["id"]
    assert json.loads(out)["to"] == head
    code, out, _ = run(capsys, "db", "current")
    assert f"{head} (up to date)" in out


def test_doctor_json_passes_on_a_healthy_machine(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "doctor", "--json")
    report = json.loads(out)
    checks = {check["name"]: check for check in report["checks"]}
    assert code == 0
    assert report["ok"] is True
    for name in ("data_dir", "sqlite", "fts5", "sqlite_vec", "store", "migrations", "http_port", "grpc_port"):
        assert checks[name]["status"] in ("ok", "warn"), checks[name]


def test_doctor_fails_when_a_configured_dependency_is_unreachable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAZETTE_REDIS__URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("GAZETTE_PROVIDERS__OLLAMA__URL", "http://127.0.0.1:1")
    code, out, _ = run(capsys, "doctor", "--json")
    checks = {check["name"]: check for check in json.loads(out)["checks"]}
    assert code == 1
    assert checks["redis"]["status"] == "fail"
    assert checks["ollama"]["status"] == "fail"
    assert checks["ollama"]["required"] is False


@pytest.mark.redis
def test_doctor_reaches_a_configured_redis(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    monkeypatch.setenv("GAZETTE_REDIS__URL", redis_url)
    code, out, _ = run(capsys, "doctor", "--json")
    checks = {check["name"]: check for check in json.loads(out)["checks"]}
    assert checks["redis"]["status"] == "ok"
    assert code == 0


@pytest.mark.postgres
def test_doctor_reaches_a_configured_postgresql(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    monkeypatch.setenv("GAZETTE_STORE__URL", postgres_url)
    code, out, _ = run(capsys, "doctor", "--json")
    checks = {check["name"]: check for check in json.loads(out)["checks"]}
    assert checks["store"]["status"] == "ok"
    assert "postgresql" in checks["store"]["detail"]
    assert code == 0


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


BAD_INPUT = {
    "unknown profile": (["--profile", "nope", "info"], {}, "error: unknown profile 'nope'"),
    "unreadable config": (["--config", "{tmp}", "info"], {}, "error: cannot read config file"),
    "missing config": (["--config", "{tmp}/none.toml", "info"], {}, "error: config file"),
    "invalid store URL": (["info"], {"GAZETTE_STORE__URL": "mysql://db/x"}, "error: invalid setting store.url"),
    "bad port value": (["info"], {"GAZETTE_SERVER__PORT": "http"}, "error: invalid setting server.port"),
    "data dir not writable": (["info"], {"GAZETTE_HOME": "{tmp}/file/sub"}, "error: data directory"),
    "unknown workspace": (["info", "--workspace", "nope"], {}, "error: workspace 'nope' does not exist"),
    "unreachable postgres": (
        ["db", "current"],
        {"GAZETTE_STORE__URL": "postgresql://nobody@127.0.0.1:1/x"},
        "error: cannot reach the store",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_is_one_actionable_line_and_exit_1(
    tmp_path: Path, case: tuple[list[str], dict[str, str], str]
) -> None:
    args, env, expected = case
    (tmp_path / "file").write_text("")
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    env = {key: value.replace("{tmp}", str(tmp_path)) for key, value in env.items()}
    import os

    result = subprocess.run(
        gazette_command(*args), capture_output=True, text=True, timeout=60, env={**os.environ, **env}
    )
    assert result.returncode == 1
    assert result.stderr.startswith(expected), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback() -> None:
    result = subprocess.run(
        gazette_command("--debug", "--profile", "nope", "info"), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert result.stderr.strip().endswith(
        f"error: unknown profile 'nope': profiles defined in {Path.cwd() / 'home' / 'config.toml'}: none"
    )


def test_usage_errors_exit_2_with_clicks_message(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "serve", "--port", "not-a-number")
    assert code == 2
    assert "Invalid value for '--port'" in err


class ModelServer(http.server.BaseHTTPRequestHandler):
    """Answers what doctor probes: Ollama's /api/version, an OpenAI-compatible /v1/models (LM Studio,
    Anthropic) and /models (DeepSeek's base has no /v1)."""

    seen_authorization: ClassVar[list[str]] = []
    seen_api_keys: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen_authorization.append(self.headers.get("Authorization", ""))
        self.seen_api_keys.append(self.headers.get("x-api-key", ""))
        if self.path == "/api/version":
            body = b'{"version": "0.9.0"}'
        elif self.path in ("/v1/models", "/models"):
            body = b'{"object": "list", "data": [{"id": "local-model", "object": "model"}]}'
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def model_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ModelServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_doctor_reaches_configured_ollama_and_openai_compatible_servers(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, model_server: str
) -> None:
    monkeypatch.setenv("GAZETTE_PROVIDERS__OLLAMA__URL", model_server)
    monkeypatch.setenv("GAZETTE_PROVIDERS__OPENAI__BASE_URL", f"{model_server}/v1")
    monkeypatch.setenv("GAZETTE_PROVIDERS__OPENAI__API_KEY", "sk-local-abcdefghijklmnopqrst")
    code, out, _ = run(capsys, "doctor", "--json")
    checks = {check["name"]: check for check in json.loads(out)["checks"]}
    assert code == 0
    assert checks["ollama"]["status"] == "ok"
    assert checks["openai_compatible"]["status"] == "ok"
    assert "Bearer sk-local-abcdefghijklmnopqrst" in ModelServer.seen_authorization
    assert "sk-local" not in out


def test_doctor_reaches_lm_studio_and_probes_hosted_apis_only_with_a_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, model_server: str
) -> None:
    monkeypatch.setenv("GAZETTE_PROVIDERS__LMSTUDIO__BASE_URL", f"{model_server}/v1")
    monkeypatch.setenv("GAZETTE_PROVIDERS__ANTHROPIC__BASE_URL", model_server)
    monkeypatch.setenv("GAZETTE_PROVIDERS__ANTHROPIC__API_KEY", "sk-ant-abcdefghijklmnopqrst")
    monkeypatch.setenv("GAZETTE_PROVIDERS__DEEPSEEK__BASE_URL", model_server)
    code, out, _ = run(capsys, "doctor", "--json")
    checks = {check["name"]: check for check in json.loads(out)["checks"]}
    assert code == 0
    assert (checks["lmstudio"]["status"], checks["anthropic"]["status"]) == ("ok", "ok")
    assert "sk-ant-abcdefghijklmnopqrst" in ModelServer.seen_api_keys
    assert checks["deepseek"]["status"] == "skip"
    assert "DEEPSEEK__API_KEY" in checks["deepseek"]["detail"]
    monkeypatch.setenv("GAZETTE_PROVIDERS__DEEPSEEK__API_KEY", "sk-deep-abcdefghijklmnopqrst")
    monkeypatch.setenv("GAZETTE_PROVIDERS__ANTHROPIC__BASE_URL", "http://127.0.0.1:9")  # nothing listens
    code, out, _ = run(capsys, "doctor", "--json")
    checks = {check["name"]: check for check in json.loads(out)["checks"]}
    assert code == 0  # provider checks are optional: an unreachable one is reported, not fatal
    assert checks["deepseek"]["status"] == "ok"
    assert "Bearer sk-deep-abcdefghijklmnopqrst" in ModelServer.seen_authorization
    assert checks["anthropic"]["status"] == "fail"
    assert "unreachable" in checks["anthropic"]["detail"]
    assert "sk-ant" not in out
    assert "sk-deep" not in out


def test_auth_add_prints_the_token_once_and_list_never_shows_it(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "auth", "add", "gazette", "--name", "ci", "--scopes", "memory:read,models:use", "--json")
    assert code == 0
    minted = json.loads(out)
    assert minted["token"].startswith("gzt_")
    assert minted["scopes"] == ["memory:read", "models:use"]
    code, out, _ = run(capsys, "auth", "list")
    assert code == 0
    assert minted["prefix"] in out
    assert minted["token"] not in out
    code, out, _ = run(capsys, "auth", "list", "--json")
    assert minted["token"] not in out
    assert [row["name"] for row in json.loads(out)] == ["ci"]


def test_auth_revoke_then_list_all_shows_it_revoked(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "auth", "add", "gazette", "--name", "temp")
    code, out, _ = run(capsys, "auth", "revoke", "temp")
    assert code == 0
    assert "Revoked gzt_" in out
    code, out, _ = run(capsys, "auth", "list", "--all")
    assert "revoked" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["auth", "add", "gazette", "--name", "x", "--scopes", "memory:raed"], "error: unknown scope memory:raed"),
        (["auth", "add", "gazette", "--name", "x", "--expires", "never"], "error: only admin tokens may never expire"),
        (["auth", "add", "github", "--name", "x"], "error: the secret is empty"),
        (["auth", "revoke", "nothing"], "error: no active token named or prefixed 'nothing'"),
    ],
)
def test_auth_mistakes_are_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _, err = run(capsys, *args)
    assert code == 1
    assert err.startswith(message)
    assert len(err.strip().splitlines()) == 1


def test_auth_whoami_is_the_local_owner(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "auth", "whoami", "--json")
    assert code == 0
    assert json.loads(out)["kind"] == "local"
    assert json.loads(out)["role"] == "admin"


def test_one_shot_commands_leave_their_audit_entries_behind(tmp_path: Path) -> None:
    """Entries queued by the background audit writer are flushed when a CLI command exits."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text("# Guide\nHow to rotate the vault key.\n")
    for args in (("index", "repo", str(docs), "--name", "docs"), ("search", "vault key"), ("read", "docs", "guide.md")):
        assert subprocess.run(gazette_command(*args), capture_output=True, timeout=60).returncode == 0
    listed = subprocess.run(gazette_command("audit", "list", "--json"), capture_output=True, text=True, timeout=60)
    events = [entry["event"] for entry in json.loads(listed.stdout)]
    assert "memory.search" in events
    assert "memory.read" in events
