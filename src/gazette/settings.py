"""Settings: the only place that reads the environment, `.env` and `config.toml`.

Precedence, highest first: explicit overrides (CLI flags) > `GAZETTE_*` environment
variables > `.env` in the working directory > the selected profile's table in
`config.toml` > the top level of `config.toml` > defaults.

Nested settings use `__` in variable names (`GAZETTE_STORE__URL`). A profile is a
`[profiles.<name>]` table in `<data dir>/config.toml`, selected by `--profile` or
`GAZETTE_PROFILE`.

The variables other tools already use for model servers (`OLLAMA_HOST`, `OPENAI_API_KEY`, ... see
`ALIASES`) are honoured below every Gazette source: they fill a setting nothing else sets.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from gazette.errors import ConfigError

ENV_PREFIX = "GAZETTE_"
NESTED_DELIMITER = "__"
CONFIG_FILE_NAME = "config.toml"
# The seeds' variables, read from the process environment as the lowest-precedence source.
ALIASES: dict[str, str] = {
    "OLLAMA_HOST": "providers.ollama.url",
    "LMSTUDIO_ENDPOINT": "providers.lmstudio.base_url",
    "OPENAI_API_KEY": "providers.openai.api_key",
    "DEEPSEEK_API_KEY": "providers.deepseek.api_key",
    "ANTHROPIC_API_KEY": "providers.anthropic.api_key",
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreSettings(_Section):
    url: str | None = Field(
        default=None,
        description="Database URL: postgresql://user@host:5432/db, or sqlite:///path. "
        "Unset: the SQLite file <data dir>/gazette.db.",
    )
    busy_timeout_ms: int = Field(default=5000, ge=0, description="SQLite busy timeout.")
    pool_size: int = Field(default=5, ge=1, description="PostgreSQL connection pool size.")

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        scheme = urlsplit(value).scheme.split("+")[0]
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError(
                f"unsupported store URL {mask_url(value)!r}: use postgresql://user@host:5432/db "
                "or sqlite:///path/to/file.db"
            )
        if scheme != "sqlite" and not urlsplit(value).hostname and "host=" not in value:
            raise ValueError(f"store URL {mask_url(value)!r} names no host")
        return value


class ServerSettings(_Section):
    host: str = Field(default="127.0.0.1", description="Address the HTTP and gRPC listeners bind.")
    port: int = Field(default=4444, ge=0, le=65535, description="HTTP port (API, /mcp, /metrics).")
    grpc_port: int = Field(default=50051, ge=0, le=65535, description="gRPC port.")
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies whose X-Forwarded-For/Proto headers are trusted (comma-separated, or * behind nginx).",
    )


class LogSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Log level of serve and mcp; one-shot commands log warnings unless set."
    )
    format: Literal["auto", "json", "console"] = Field(
        default="auto", description="auto: readable on a terminal, JSON lines otherwise."
    )
    file: Path | None = Field(default=None, description="Also write JSON lines to this file.")
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, description="Rotate the log file at this size.")
    backups: int = Field(default=5, ge=0, description="Rotated log files to keep.")


class RedisSettings(_Section):
    url: str | None = Field(default=None, description="redis://host:6379/0, shared by replicas.")


class RateLimitSettings(_Section):
    url: str | None = Field(
        default=None, description="Counter storage: unset for in-process, redis://host:6379/0 to share across replicas."
    )
    default_rpm: int = Field(
        default=600, ge=0, description="Requests per minute for tokens without their own --rpm (0: unlimited)."
    )
    failed_auth_per_minute: int = Field(
        default=10, ge=1, description="Failed authentications per client IP per minute before a lockout."
    )
    failed_auth_per_hour: int = Field(
        default=50, ge=1, description="Failed authentications per client IP per hour before a longer lockout."
    )


class IndexSettings(_Section):
    max_file_bytes: int = Field(
        default=1_000_000, ge=1, description="Files larger than this are skipped (and counted)."
    )
    boost_context_files: bool = Field(
        default=False, description="Rank memory_bank/, ADRs, architecture.md and README.md higher."
    )
    workers: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Processes that read and chunk files on large indexing runs (0: one per core, up to 8; 1: none).",
    )
    common_term_chunks: int = Field(
        default=5_000,
        ge=1,
        description="Query terms found in more chunks than this only score: the chunks searched are those "
        "holding a rarer term, when one remains (bounds query time on large indexes).",
    )


class EmbeddingSettings(_Section):
    provider: str = Field(
        default="none", description="none (BM25 only), ollama, openai (any OpenAI-compatible server) or local."
    )
    model: str | None = Field(
        default=None, description="Embedding model, e.g. nomic-embed-text (ollama) or text-embedding-3-small."
    )
    batch_size: int = Field(default=64, ge=1, description="Texts sent per embedding request.")
    fusion: Literal["convex", "rrf"] = Field(
        default="convex",
        description="How BM25 and vector rankings combine: convex (weighted, min-max normalised scores) or rrf "
        "(reciprocal rank fusion, k=60).",
    )
    lexical_weight: float = Field(
        default=0.6, ge=0, le=1, description="Share of the BM25 score in convex fusion (the rest is the vector's)."
    )
    oversample: int = Field(
        default=8,
        ge=0,
        description="SQLite: chunks scored exactly per chunk wanted, picked first by the signs of their vectors "
        "(0 scores every vector: exact and slow).",
    )


class WebhookSettings(_Section):
    backoff_seconds: list[float] = Field(
        default_factory=lambda: [5.0, 30.0, 120.0, 600.0, 3600.0],
        description="Waits before each retry of a failed delivery; after the last one it is failed.",
    )
    timeout_seconds: float = Field(default=10.0, gt=0, description="Timeout of one delivery attempt.")


class JwtSettings(_Section):
    secret: SecretStr | None = Field(
        default=None, description="Shared secret for HS256 tokens from your identity provider."
    )
    jwks_file: Path | None = Field(
        default=None, description="JWKS file with the public keys for RS256, ES256 and EdDSA tokens."
    )
    issuer: str | None = Field(default=None, description="Required `iss` claim (checked when set).")
    audience: str | None = Field(default=None, description="Required `aud` claim (checked when set).")
    leeway_seconds: int = Field(default=30, ge=0, description="Clock skew allowed for exp and nbf.")
    user_claim: str = Field(default="sub", description="Claim naming the user.")
    workspace_claim: str = Field(default="workspace", description="Claim naming the workspace (else the default one).")
    role_claim: str = Field(default="role", description="Claim naming the role: personal, admin or cos_internal.")
    scopes_claim: str = Field(default="scope", description="Claim with the scopes, space-separated or a list.")


class OllamaSettings(_Section):
    url: str | None = Field(
        default=None,
        description="Ollama server, e.g. http://127.0.0.1:11434 (alias OLLAMA_HOST; host:port alone works too).",
    )

    @field_validator("url")
    @classmethod
    def _ollama_url(cls, value: str | None) -> str | None:
        return normalise_endpoint(value, default_port=11434) if value else None


class OpenAISettings(_Section):
    base_url: str | None = Field(
        default=None,
        description="Any OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1. Unset: https://api.openai.com/v1.",
    )
    api_key: SecretStr | None = Field(
        default=None, description="API key for that server (alias OPENAI_API_KEY; masked everywhere)."
    )


class DeepSeekSettings(_Section):
    base_url: str = Field(default="https://api.deepseek.com", description="DeepSeek's OpenAI-compatible API.")
    api_key: SecretStr | None = Field(default=None, description="DeepSeek API key (alias DEEPSEEK_API_KEY).")


class LmStudioSettings(_Section):
    base_url: str | None = Field(
        default=None,
        description="LM Studio's server, e.g. http://127.0.0.1:1234/v1 (alias LMSTUDIO_ENDPOINT; /v1 is added "
        "when no path is given).",
    )

    @field_validator("base_url")
    @classmethod
    def _lmstudio_url(cls, value: str | None) -> str | None:
        return normalise_endpoint(value, default_port=1234, default_path="/v1") if value else None


class AnthropicSettings(_Section):
    base_url: str = Field(default="https://api.anthropic.com", description="Anthropic's API.")
    api_key: SecretStr | None = Field(default=None, description="Anthropic API key (alias ANTHROPIC_API_KEY).")
    version: str = Field(default="2023-06-01", description="The anthropic-version header sent with every call.")
    # Not `max_tokens`: a name with "token" in it reads as a secret and is masked.
    answer_limit: int = Field(
        default=4096, ge=1, description="Longest answer, in tokens, when the caller names none (Anthropic needs one)."
    )


class ProvidersSettings(_Section):
    ollama: OllamaSettings = OllamaSettings()
    openai: OpenAISettings = OpenAISettings()
    deepseek: DeepSeekSettings = DeepSeekSettings()
    lmstudio: LmStudioSettings = LmStudioSettings()
    anthropic: AnthropicSettings = AnthropicSettings()
    timeout_seconds: float = Field(
        default=120.0, gt=0, description="Longest wait for the next byte of a model's answer, the first included."
    )
    connect_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Connect timeout; also the whole budget of a reachability probe."
    )
    retry_backoff_seconds: list[float] = Field(
        default_factory=lambda: [0.5, 2.0],
        description="Waits before retrying a call whose connection failed (nothing was sent); one retry each.",
    )


class ModelSettings(_Section):
    default: str | None = Field(default=None, description="Route used when --model is omitted.")
    routes: dict[str, str] = Field(default_factory=dict, description='Aliases, e.g. {"llama3.2": "ollama:llama3.2"}.')


class TrainingSettings(_Section):
    capture: bool = Field(
        default=True,
        description="Record every `gazette ask` turn in terminal_dialogs (secrets redacted); "
        "`gazette training capture --enable/--disable` overrides it per user.",
    )
    session_idle_minutes: int = Field(
        default=30,
        ge=0,
        description="A question continues your latest session when its last turn is younger than this "
        "(0: every question starts a new session).",
    )
    inject_budget: int = Field(
        default=2000,
        ge=50,
        description="Size, in tokens (4 characters each), of the context block of earlier turns "
        "(`training inject`, `ask --with-history`).",
    )
    distill_model: str | None = Field(
        default=None,
        description="A cheaper model (a route or provider:model) that distills a session's older turns into a "
        "stored summary when the session outgrows inject_budget; unset: older turns are trimmed instead.",
    )


class McpServerSettings(_Section):
    url: str | None = None
    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, SecretStr] = Field(default_factory=dict)


class Settings(BaseSettings):
    """Every setting Gazette reads, built once per process by `load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=NESTED_DELIMITER,
        extra="forbid",
        # `GAZETTE_LOG__FILE=` (as in a copied .env.example) means unset, not the empty path.
        env_ignore_empty=True,
    )

    home: Path | None = Field(
        default=None, description="Data directory. Unset: $XDG_DATA_HOME/gazette or ~/.local/share/gazette."
    )
    profile: str | None = Field(default=None, description="Profile selected from config.toml.")
    workspace: str = Field(default="default", description="Workspace used by the local owner.")
    vault_key: SecretStr | None = Field(
        default=None,
        description="Vault key: 32 bytes, base64. Unset: a key file created in the data dir (0600) on first use.",
    )
    store: StoreSettings = StoreSettings()
    server: ServerSettings = ServerSettings()
    log: LogSettings = LogSettings()
    redis: RedisSettings = RedisSettings()
    rate_limit: RateLimitSettings = RateLimitSettings()
    jwt: JwtSettings = JwtSettings()
    index: IndexSettings = IndexSettings()
    webhooks: WebhookSettings = WebhookSettings()
    embeddings: EmbeddingSettings = EmbeddingSettings()
    providers: ProvidersSettings = ProvidersSettings()
    models: ModelSettings = ModelSettings()
    training: TrainingSettings = TrainingSettings()
    mcp_servers: dict[str, McpServerSettings] = Field(
        default_factory=dict, description="Other MCP servers Gazette knows about."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # `load_settings` layers the sources itself (to know where each value came from)
        # and hands the merged result in as init arguments.
        return (init_settings,)

    @property
    def data_dir(self) -> Path:
        """The resolved data directory (never None)."""
        return self.home if self.home is not None else default_data_dir()

    @property
    def config_file(self) -> Path:
        return self.data_dir / CONFIG_FILE_NAME


def default_data_dir() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "gazette"


@dataclass(frozen=True)
class LoadedSettings:
    """Settings plus where each value came from (dotted key -> source label)."""

    settings: Settings
    sources: dict[str, str] = field(default_factory=dict)
    config_file: Path | None = None

    def source_of(self, key: str) -> str:
        return self.sources.get(key, "default")


def load_settings(
    profile: str | None = None,
    config_file: Path | None = None,
    env_file: Path | None = Path(".env"),
    **overrides: Any,
) -> LoadedSettings:
    """Build the effective settings from overrides, environment, `.env` and config.toml.

    Raises:
        ConfigError: unknown profile, unreadable or invalid config file, invalid value.
    """
    try:
        env_layer = EnvSettingsSource(Settings)()
        dotenv_layer = _read_dotenv(env_file)
    except SettingsError as exc:  # e.g. a JSON-valued variable that is not JSON
        raise ConfigError(f"invalid setting: {exc}") from None
    override_layer = {key: value for key, value in overrides.items() if value is not None}

    home = _first(override_layer, env_layer, dotenv_layer, key="home")
    data_dir = Path(home).expanduser() if home else default_data_dir()
    path = config_file or data_dir / CONFIG_FILE_NAME
    toml = _read_toml(path, required=config_file is not None)

    selected = profile or _first(override_layer, env_layer, dotenv_layer, key="profile")
    top_level = {key: value for key, value in toml.items() if key != "profiles"}
    profile_layer: dict[str, Any] = {}
    if selected:
        profiles = toml.get("profiles", {})
        if not isinstance(profiles, dict) or selected not in profiles:
            known = ", ".join(sorted(profiles)) if isinstance(profiles, dict) and profiles else "none"
            raise ConfigError(
                f"unknown profile {selected!r}: profiles defined in {path}: {known}",
                details={"profile": selected, "config_file": str(path)},
            )
        profile_layer = dict(profiles[selected])
        override_layer["profile"] = selected

    layers: list[tuple[str, Mapping[str, Any]]] = [
        ("default", {}),
        ("alias", _read_aliases()),
        (f"config:{path}", top_level),
        (f"profile:{selected}", profile_layer),
        (f"dotenv:{env_file}", dotenv_layer),
        ("env", env_layer),
        ("override", override_layer),
    ]
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for label, layer in layers:
        for dotted, value in _leaves(layer):
            _assign(merged, dotted, value)
            sources[dotted] = _source_label(label, dotted)
    try:
        settings = Settings(**merged)
    except ValidationError as exc:
        raise _config_error(exc, sources) from None
    return LoadedSettings(settings=settings, sources=sources, config_file=path if path.exists() else None)


def describe_settings(loaded: LoadedSettings) -> list[dict[str, Any]]:
    """Every effective setting as `{key, value, source}`, secrets masked."""
    from gazette.redaction import redact_value

    dumped = loaded.settings.model_dump(mode="json")
    rows = []
    for dotted, value in _leaves(dumped):
        leaf = dotted.rsplit(".", 1)[-1]
        rows.append({"key": dotted, "value": redact_value(leaf, value), "source": loaded.source_of(dotted)})
    rows.append({"key": "data_dir", "value": str(loaded.settings.data_dir), "source": loaded.source_of("home")})
    return rows


def normalise_endpoint(value: str, *, default_port: int, default_path: str = "") -> str:
    """A server address as Ollama accepts one (`host`, `host:port` or a URL) as a full URL.

    No scheme means http; http without a port gets `default_port`; 0.0.0.0 (a listen address)
    becomes 127.0.0.1; an empty path becomes `default_path`.

    Raises:
        ValueError: the port is not a number.
    """
    text = value.strip().rstrip("/")
    if "://" not in text:
        text = f"http://{text}"
    parts = urlsplit(text)
    host = parts.hostname or "127.0.0.1"
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    port = parts.port
    if port is None and parts.scheme == "http":
        port = default_port
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = (f"{userinfo}@" if userinfo else "") + (f"[{host}]" if ":" in host else host)
    netloc += f":{port}" if port is not None else ""
    return parts._replace(netloc=netloc, path=parts.path.rstrip("/") or default_path).geturl()


def mask_url(url: str) -> str:
    """Hide the password of a URL (`postgresql://u:secret@h/db` -> `postgresql://u:***@h/db`)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _read_dotenv(env_file: Path | None) -> dict[str, Any]:
    if env_file is None or not env_file.is_file():
        return {}
    # A .env is shared with other tools (docker compose, ...): keep only Gazette's settings.
    values = DotEnvSettingsSource(Settings, env_file=env_file)()
    return {key: value for key, value in values.items() if key in Settings.model_fields}


def _read_toml(path: Path, *, required: bool) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (FileNotFoundError, NotADirectoryError):
        # A data directory that is not a directory is reported when the store opens it.
        if required:
            raise ConfigError(f"config file {path} does not exist") from None
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None


def _first(*layers: Mapping[str, Any], key: str) -> Any:
    for layer in layers:
        if layer.get(key):
            return layer[key]
    return None


def _leaves(tree: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        # Free-form maps (routes, MCP servers) are leaves as a whole: a layer replaces them.
        if isinstance(value, Mapping) and dotted not in _OPAQUE_MAPS:
            yield from _leaves(value, f"{dotted}.")
        else:
            yield dotted, value


_OPAQUE_MAPS = frozenset({"models.routes", "mcp_servers"})


def _assign(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = tree
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[leaf] = value


def _read_aliases() -> dict[str, Any]:
    layer: dict[str, Any] = {}
    for variable, dotted in ALIASES.items():
        value = os.environ.get(variable, "").strip()
        if value:
            _assign(layer, dotted, value)
    return layer


_ALIAS_OF = {dotted: variable for variable, dotted in ALIASES.items()}


def _source_label(layer: str, dotted: str) -> str:
    if layer == "env":
        return _env_name(dotted)
    if layer == "alias":
        return f"env:{_ALIAS_OF[dotted]}"
    return layer


def _env_name(dotted: str) -> str:
    return f"env:{ENV_PREFIX}{dotted.replace('.', NESTED_DELIMITER).upper()}"


def _config_error(exc: ValidationError, sources: Mapping[str, str]) -> ConfigError:
    problems = []
    for error in exc.errors():
        dotted = ".".join(str(part) for part in error["loc"])
        origin = sources.get(dotted, "default")
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{dotted} (from {origin}): {message}")
    return ConfigError("invalid setting " + "; ".join(problems), details={"problems": problems})


__all__ = [
    "ALIASES",
    "LoadedSettings",
    "LogSettings",
    "ModelSettings",
    "ServerSettings",
    "Settings",
    "StoreSettings",
    "TrainingSettings",
    "describe_settings",
    "load_settings",
    "mask_url",
    "normalise_endpoint",
]
