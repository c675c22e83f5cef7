"""Static checks of the deployment files: Dockerfile, docker-compose.yml, nginx.conf, .env.example.

Nothing here builds or runs a container: the files are parsed and compared with the settings
model, so that a setting added without documentation, or a compose variable that names no
setting, fails here.
"""

from __future__ import annotations

import ast
import json
import re
import types
import typing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from dockerfile_parse import DockerfileParser
from pydantic import BaseModel

from gazette.settings import ALIASES, ENV_PREFIX, NESTED_DELIMITER, Settings

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE_FILE = ROOT / "docker-compose.yml"
NGINX_CONF = ROOT / "deploy" / "nginx" / "nginx.conf"
ENV_EXAMPLE = ROOT / ".env.example"
PACKAGE_DIR = ROOT / "src" / "gazette"

EXPECTED_SERVICES = {"gazette", "ollama", "postgres", "redis", "nginx"}
# Read by the application although they are not `Settings` fields (the seeds' aliases among them).
NON_SETTING_APP_VARIABLES = {"XDG_DATA_HOME", *ALIASES}
# Read by docker-compose.yml only.
COMPOSE_ONLY_VARIABLES = {"POSTGRES_PASSWORD"}
SECRET_MARKERS = ("KEY", "PASSWORD", "SECRET", "TOKEN")


# --------------------------------------------------------------------------- settings walker


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel a field holds (also inside `X | None`), or None for a leaf."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [arg for arg in typing.get_args(annotation) if _nested_model(arg) is not None]
        return models[0] if len(models) == 1 else None
    # dict[...] (free-form maps: routes, MCP servers), scalars, paths, literals: one variable each.
    return None


def _walk_settings(model: type[BaseModel], prefix: str) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        env_name = f"{prefix}{name.upper()}"
        nested = _nested_model(field.annotation)
        if nested is not None:
            variables.update(_walk_settings(nested, env_name + NESTED_DELIMITER))
        else:
            variables[env_name] = field
    return variables


SETTING_FIELDS = _walk_settings(Settings, ENV_PREFIX)
SETTING_VARIABLES = frozenset(SETTING_FIELDS)


def _documented_default(field: Any) -> str:
    """How .env.example shows a field's default: empty when unset, JSON for maps."""
    default = field.get_default(call_default_factory=True)
    if default is None:
        return ""
    if isinstance(default, dict):
        return json.dumps(default)
    return str(default)


def test_settings_walker_sees_nested_and_map_settings() -> None:
    assert {
        "GAZETTE_HOME",
        "GAZETTE_STORE__URL",
        "GAZETTE_PROVIDERS__OLLAMA__URL",
        "GAZETTE_PROVIDERS__OPENAI__API_KEY",
        "GAZETTE_MODELS__ROUTES",
        "GAZETTE_MCP_SERVERS",
    } <= SETTING_VARIABLES
    # Free-form maps are one JSON variable, not expanded.
    assert not any(name.startswith("GAZETTE_MCP_SERVERS__") for name in SETTING_VARIABLES)
    assert "GAZETTE_PROVIDERS" not in SETTING_VARIABLES


# --------------------------------------------------------------------------- Dockerfile


def _dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(DOCKERFILE), cache_content=True)


def _stages(parser: DockerfileParser) -> list[list[dict[str, Any]]]:
    starts = [i for i, item in enumerate(parser.structure) if item["instruction"] == "FROM"]
    assert starts, "Dockerfile has no FROM"
    ends = [*starts[1:], len(parser.structure)]
    return [parser.structure[start:end] for start, end in zip(starts, ends, strict=True)]


def _final_stage(parser: DockerfileParser) -> list[dict[str, Any]]:
    return _stages(parser)[-1]


def _instructions(stage: list[dict[str, Any]], name: str) -> list[str]:
    return [item["value"] for item in stage if item["instruction"] == name]


def test_dockerfile_is_multi_stage_on_slim_python_images() -> None:
    parser = _dockerfile()
    assert len(_stages(parser)) >= 2
    assert parser.parent_images, "no base images"
    for image in parser.parent_images:
        assert image.startswith("python:3.11"), image
        assert image.endswith("-slim"), image


def test_dockerfile_installs_the_locked_all_extra_with_uv_into_opt_venv() -> None:
    build_stage = _stages(_dockerfile())[0]
    runs = " ".join(_instructions(build_stage, "RUN"))
    envs = " ".join(_instructions(build_stage, "ENV"))
    assert "uv==0.13.8" in runs
    assert "uv sync --frozen --no-dev --extra all --compile-bytecode" in runs
    assert "UV_PROJECT_ENVIRONMENT=/opt/venv" in envs
    assert "UV_PYTHON_DOWNLOADS=never" in envs
    copies = _instructions(build_stage, "COPY")
    manifest = next(i for i, value in enumerate(copies) if "uv.lock" in value)
    sources = next(i for i, value in enumerate(copies) if value.startswith("src"))
    assert manifest < sources, "copy the lock file before the sources so the dependency layer is cached"
    assert {"pyproject.toml", "uv.lock", "README.md"} <= set(copies[manifest].split())


def test_dockerfile_final_stage_runs_gazette_as_non_root_with_ports_and_healthcheck() -> None:
    stage = _final_stage(_dockerfile())

    users = _instructions(stage, "USER")
    assert users, "final stage sets no USER"
    assert users[-1].split(":")[0] not in ("root", "0")

    exposed = {port.split("/")[0] for value in _instructions(stage, "EXPOSE") for port in value.split()}
    assert {"4444", "50051"} <= exposed

    healthchecks = _instructions(stage, "HEALTHCHECK")
    assert healthchecks, "final stage has no HEALTHCHECK"
    assert "/health" in healthchecks[-1]
    assert "urllib" in healthchecks[-1]

    entrypoints = _instructions(stage, "ENTRYPOINT")
    assert entrypoints, "final stage has no ENTRYPOINT"
    assert json.loads(entrypoints[-1])[0] == "gazette"
    assert json.loads(_instructions(stage, "CMD")[-1]) == ["serve", "--host", "0.0.0.0"]


def test_dockerfile_final_stage_keeps_data_in_a_volume_owned_by_the_gazette_user() -> None:
    stage = _final_stage(_dockerfile())
    assert any("GAZETTE_HOME=/data" in value for value in _instructions(stage, "ENV"))
    assert any("/data" in value for value in _instructions(stage, "VOLUME"))
    runs = " ".join(_instructions(stage, "RUN"))
    assert "--uid 10001" in runs
    assert "chown gazette:gazette /data" in runs
    assert _instructions(stage, "USER")[-1] == "gazette"
    assert any("/opt/venv" in value and "--from=" in value for value in _instructions(stage, "COPY"))


def test_dockerignore_keeps_the_virtualenv_git_and_secrets_out_of_the_build_context() -> None:
    patterns = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()}
    assert {".venv", ".git", ".env"} <= patterns


# --------------------------------------------------------------------------- docker-compose.yml


def _compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(document, dict)
    return document


def _environment(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        pairs = (entry.split("=", 1) for entry in environment)
        return {pair[0]: pair[1] if len(pair) > 1 else "" for pair in pairs}
    return {key: "" if value is None else str(value) for key, value in environment.items()}


def test_compose_defines_the_gazette_ollama_postgres_redis_and_nginx_services() -> None:
    compose = _compose()
    assert set(compose["services"]) >= EXPECTED_SERVICES
    declared = set(compose.get("volumes") or {})
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if not source.startswith((".", "/")):
                assert source in declared, f"volume {source!r} is not declared as a named volume"


def test_compose_gives_ollama_one_gpu_one_request_one_model_and_a_memory_limit() -> None:
    ollama = _compose()["services"]["ollama"]
    assert ollama["image"].startswith("ollama/ollama")
    resources = ollama["deploy"]["resources"]
    devices = resources["reservations"]["devices"]
    assert any(
        device.get("driver") == "nvidia" and device.get("count") == 1 and "gpu" in device.get("capabilities", [])
        for device in devices
    )
    assert resources["limits"]["memory"]
    environment = _environment(ollama)
    assert environment["OLLAMA_NUM_PARALLEL"] == "1"
    assert environment["OLLAMA_MAX_LOADED_MODELS"] == "1"


def test_compose_postgres_is_pgvector_and_gazette_waits_for_healthy_postgres_and_redis() -> None:
    services = _compose()["services"]
    assert "pgvector" in services["postgres"]["image"]
    assert "pg_isready" in str(services["postgres"]["healthcheck"]["test"])
    assert "redis-cli" in str(services["redis"]["healthcheck"]["test"])
    postgres_env = _environment(services["postgres"])
    assert postgres_env["POSTGRES_USER"] == "gazette"
    assert postgres_env["POSTGRES_DB"] == "gazette"
    assert "${POSTGRES_PASSWORD" in postgres_env["POSTGRES_PASSWORD"]
    depends_on = services["gazette"]["depends_on"]
    for name in ("postgres", "redis"):
        assert depends_on[name]["condition"] == "service_healthy"


def test_compose_sets_only_gazette_variables_that_are_real_settings() -> None:
    set_anywhere = {
        name
        for service in _compose()["services"].values()
        for name in _environment(service)
        if name.startswith(ENV_PREFIX)
    }
    assert set_anywhere, "compose sets no GAZETTE_* variable"
    assert set_anywhere <= SETTING_VARIABLES, f"not settings: {sorted(set_anywhere - SETTING_VARIABLES)}"


def test_compose_points_gazette_store_redis_and_ollama_urls_at_services_in_the_file() -> None:
    compose = _compose()
    gazette = compose["services"]["gazette"]
    environment = _environment(gazette)
    for variable, service in (
        ("GAZETTE_STORE__URL", "postgres"),
        ("GAZETTE_REDIS__URL", "redis"),
        ("GAZETTE_PROVIDERS__OLLAMA__URL", "ollama"),
    ):
        host = urlsplit(environment[variable]).hostname
        assert host == service, f"{variable} points at {host!r}"
        assert host in compose["services"]
    assert environment["GAZETTE_STORE__URL"].startswith("postgresql://gazette:${POSTGRES_PASSWORD}@")
    env_files = gazette["env_file"] if isinstance(gazette["env_file"], list) else [gazette["env_file"]]
    assert ".env" in [entry if isinstance(entry, str) else entry["path"] for entry in env_files]


def test_compose_publishes_grpc_on_loopback_only_and_http_only_through_nginx() -> None:
    services = _compose()["services"]
    gazette_ports = [str(port) for port in services["gazette"].get("ports", [])]
    assert gazette_ports, "gRPC is not published"
    for port in gazette_ports:
        assert port.startswith("127.0.0.1:"), port
        assert port.rsplit(":", 1)[-1] != "4444", "HTTP goes through nginx"
    assert any(port.endswith(":50051") for port in gazette_ports)
    nginx = services["nginx"]
    nginx_ports = {str(port).rsplit(":", 1)[-1] for port in nginx["ports"]}
    assert {"80", "443"} <= nginx_ports
    mounts = " ".join(nginx["volumes"])
    assert "deploy/nginx/nginx.conf:/etc/nginx/nginx.conf" in mounts
    assert "/etc/nginx/certs" in mounts
    for other in ("ollama", "postgres", "redis"):
        assert not services[other].get("ports"), f"{other} should not be published"


# --------------------------------------------------------------------------- .env.example

_ASSIGNMENT = re.compile(r"^#?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


def _env_example() -> list[tuple[int, str, str]]:
    """(line index, name, value) of every variable, commented out (`#NAME=`) or not."""
    entries = []
    for index, line in enumerate(ENV_EXAMPLE.read_text().splitlines()):
        match = _ASSIGNMENT.match(line.strip())
        if match:
            entries.append((index, match["name"], match["value"]))
    return entries


def test_env_example_documents_every_variable_the_app_reads() -> None:
    names = [name for _, name, _ in _env_example()]
    assert len(names) == len(set(names)), "a variable is listed twice"
    listed = {name for name in names if name.startswith(ENV_PREFIX)}
    missing = SETTING_VARIABLES - listed
    unknown = listed - SETTING_VARIABLES
    assert not missing, f"settings not documented in .env.example: {sorted(missing)}"
    assert not unknown, f".env.example lists variables that are not settings: {sorted(unknown)}"
    assert set(names) >= NON_SETTING_APP_VARIABLES | COMPOSE_ONLY_VARIABLES


def test_env_example_has_a_comment_line_above_every_variable() -> None:
    lines = ENV_EXAMPLE.read_text().splitlines()
    for index, name, _ in _env_example():
        above = lines[index - 1].strip() if index else ""
        assert above.startswith("# "), f"{name} has no explanatory comment above it"
        assert not _ASSIGNMENT.match(above), f"{name} directly follows another variable"


def test_env_example_shows_each_setting_default_and_leaves_secrets_empty() -> None:
    values = {name: value for _, name, value in _env_example()}
    for name, field in SETTING_FIELDS.items():
        assert values[name] == _documented_default(field), f"{name}: default is {_documented_default(field)!r}"
    for name, value in values.items():
        if any(marker in name for marker in SECRET_MARKERS):
            assert value == "", f"{name} must be empty in the example"


def test_env_example_sets_no_gazette_variable_so_config_toml_still_applies() -> None:
    # An uncommented line would override config.toml (and an empty one is not "unset").
    active = [line for line in ENV_EXAMPLE.read_text().splitlines() if line.startswith(ENV_PREFIX)]
    assert active == []


# --------------------------------------------------------------------------- nginx.conf


def _nginx_active() -> str:
    """nginx.conf without comments."""
    return "\n".join(line.split("#", 1)[0] for line in NGINX_CONF.read_text().splitlines())


def _location_block(conf: str, path: str) -> str:
    match = re.search(r"location\s+(?:=\s*|\^~\s*)?" + re.escape(path) + r"\s*\{(?P<body>[^}]*)\}", conf)
    assert match, f"no location {path}"
    return match["body"]


def test_nginx_proxies_to_gazette_http_with_websocket_upgrade() -> None:
    conf = _nginx_active()
    assert re.search(r"map\s+\$http_upgrade\s+\$connection_upgrade\s*\{", conf)
    assert re.search(r"proxy_set_header\s+Upgrade\s+\$http_upgrade\s*;", conf)
    assert re.search(r"proxy_set_header\s+Connection\s+\$connection_upgrade\s*;", conf)
    assert re.search(r"proxy_http_version\s+1\.1\s*;", conf)
    assert "gazette:4444" in conf
    assert re.search(r"proxy_pass\s+http://", conf)


def test_nginx_forwards_request_id_and_forwarded_headers() -> None:
    conf = _nginx_active()
    for header in ("X-Request-ID", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"):
        assert re.search(rf"proxy_set_header\s+{header}\s", conf), header


def test_nginx_streams_mcp_without_buffering_and_with_long_timeouts() -> None:
    mcp = _location_block(_nginx_active(), "/mcp")
    assert re.search(r"proxy_buffering\s+off\s*;", mcp)
    assert "proxy_pass" in mcp
    timeout = re.search(r"proxy_read_timeout\s+(\d+)([smhd]?)\s*;", mcp)
    assert timeout, "no proxy_read_timeout for /mcp"
    seconds = int(timeout[1]) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[timeout[2]]
    assert seconds >= 300


def test_nginx_is_tls_ready_with_a_443_listener_and_certificates() -> None:
    text = NGINX_CONF.read_text()
    # Active, or a clearly marked TLS block to uncomment.
    assert re.search(r"^\s*#?\s*listen\s+443\s+ssl", text, re.MULTILINE)
    assert "ssl_certificate     /etc/nginx/certs/fullchain.pem;" in text
    assert "ssl_certificate_key /etc/nginx/certs/privkey.pem;" in text
    assert "--- TLS" in text or re.search(r"^\s*listen\s+443\s+ssl", text, re.MULTILINE)
    assert re.search(r"return\s+301\s+https://", text)


# --------------------------------------------------------------------------- environment access

_ENV_NAMES = frozenset({"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"})
_ENV_PACKAGES = frozenset({"dotenv", "pydantic_settings"})


def _environment_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """Where a module touches the environment: os.environ/getenv, dotenv, pydantic-settings, typer envvar."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in _ENV_NAMES:
            found.append((node.lineno, f".{node.attr}"))
        elif isinstance(node, ast.Name) and node.id in _ENV_NAMES:
            found.append((node.lineno, node.id))
        elif isinstance(node, ast.ImportFrom) and node.module in ("os", "posix"):
            found.extend(
                (node.lineno, f"from {node.module} import {alias.name}")
                for alias in node.names
                if alias.name in _ENV_NAMES
            )
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in _ENV_PACKAGES:
            found.append((node.lineno, f"from {node.module} import ..."))
        elif isinstance(node, ast.Import):
            found.extend(
                (node.lineno, f"import {alias.name}")
                for alias in node.names
                if alias.name.split(".")[0] in _ENV_PACKAGES
            )
        elif isinstance(node, ast.keyword) and node.arg in ("envvar", "auto_envvar_prefix"):
            found.append((node.lineno, f"{node.arg}="))
    return found


def test_environment_scan_finds_the_usual_spellings() -> None:
    source = (
        "import os\nfrom os import environ, path\nimport dotenv\n"
        "a = os.environ['X']\nb = os.getenv('Y')\nc = environ['Z']\nd = os.environ.get('W')\n"
    )
    kinds = {kind for _, kind in _environment_reads(ast.parse(source))}
    assert kinds == {".environ", ".getenv", "environ", "from os import environ", "import dotenv"}


def test_nothing_but_settings_reads_the_environment() -> None:
    offenders = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        module = path.relative_to(PACKAGE_DIR).as_posix()
        if module == "settings.py":
            continue
        for line, kind in _environment_reads(ast.parse(path.read_text(), filename=str(path))):
            offenders.append(f"{module}:{line}: {kind}")
    assert not offenders, "only gazette/settings.py may read the environment:\n" + "\n".join(offenders)
