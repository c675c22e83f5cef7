"""Settings: precedence, profiles, provenance, masking and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from gazette.errors import ConfigError
from gazette.settings import describe_settings, load_settings


def write_config(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(text)
    return path


def test_defaults_put_the_data_dir_under_gazette_home(home: Path) -> None:
    loaded = load_settings()
    assert loaded.settings.data_dir == home
    assert loaded.settings.server.port == 4444
    assert loaded.settings.server.grpc_port == 50051
    assert loaded.source_of("server.port") == "default"


def test_without_gazette_home_the_data_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GAZETTE_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert load_settings().settings.data_dir == tmp_path / "xdg" / "gazette"


def test_nested_variables_use_double_underscore(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAZETTE_SERVER__PORT", "5555")
    monkeypatch.setenv("GAZETTE_MODELS__ROUTES", '{"llama": "ollama:llama3.2"}')
    loaded = load_settings()
    assert loaded.settings.server.port == 5555
    assert loaded.settings.models.routes == {"llama": "ollama:llama3.2"}
    assert loaded.source_of("server.port") == "env:GAZETTE_SERVER__PORT"


def test_precedence_is_override_then_env_then_dotenv_then_profile_then_config(
    monkeypatch: pytest.MonkeyPatch, home: Path, tmp_path: Path
) -> None:
    write_config(
        home,
        """
        workspace = "from-config"
        [server]
        port = 1001
        grpc_port = 1002
        host = "0.0.0.0"
        [log]
        level = "warning"
        [profiles.work.server]
        port = 2001
        grpc_port = 2002
        [profiles.work.log]
        level = "error"
        """,
    )
    (tmp_path / ".env").write_text("GAZETTE_SERVER__GRPC_PORT=3002\nGAZETTE_LOG__LEVEL=debug\n")
    monkeypatch.setenv("GAZETTE_LOG__LEVEL", "info")
    loaded = load_settings(profile="work", server={"host": "::1"})
    s = loaded.settings
    assert (s.workspace, s.server.port, s.server.grpc_port, s.log.level, s.server.host) == (
        "from-config",
        2001,
        3002,
        "info",
        "::1",
    )
    assert loaded.source_of("workspace").startswith("config:")
    assert loaded.source_of("server.port") == "profile:work"
    assert loaded.source_of("server.grpc_port").startswith("dotenv:")
    assert loaded.source_of("log.level") == "env:GAZETTE_LOG__LEVEL"
    assert loaded.source_of("server.host") == "override"


def test_profile_is_selected_by_environment_variable(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    write_config(home, '[profiles.team.store]\nurl = "postgresql://db.internal:5432/gazette"\n')
    monkeypatch.setenv("GAZETTE_PROFILE", "team")
    loaded = load_settings()
    assert loaded.settings.profile == "team"
    assert loaded.settings.store.url == "postgresql://db.internal:5432/gazette"


def test_a_profile_may_move_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GAZETTE_HOME")  # GAZETTE_HOME would win: environment beats profiles
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    write_config(tmp_path / "xdg" / "gazette", f'[profiles.scratch]\nhome = "{tmp_path / "scratch"}"\n')
    assert load_settings(profile="scratch").settings.data_dir == tmp_path / "scratch"


@pytest.mark.parametrize(
    ("config", "profile", "message"),
    [
        (None, "nope", "unknown profile 'nope'"),
        ("[profiles.a]\n[profiles.b]\n", "c", "profiles defined in"),
        ("this is = = not toml", None, "is not valid TOML"),
        ("[server]\nport = 'http'\n", None, "server.port (from config:"),
        ("[server]\nprot = 1\n", None, "server.prot"),
        ("[store]\nurl = 'mysql://x/y'\n", None, "unsupported store URL"),
    ],
)
def test_bad_configuration_is_one_clear_config_error(
    home: Path, config: str | None, profile: str | None, message: str
) -> None:
    if config is not None:
        write_config(home, config)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load_settings(profile=profile)


def test_unknown_profile_lists_the_known_ones(home: Path) -> None:
    write_config(home, "[profiles.alpha]\n[profiles.beta]\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(profile="gamma")
    assert "alpha, beta" in caught.value.message


def test_an_explicit_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(config_file=tmp_path / "missing.toml")


def test_an_unreadable_config_file_is_reported(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").mkdir()  # a directory where the file should be: unreadable for anyone, even root
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings()


def test_invalid_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAZETTE_SERVER__PORT", "many")
    with pytest.raises(ConfigError, match="GAZETTE_SERVER__PORT"):
        load_settings()


def test_describe_settings_masks_secrets_and_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAZETTE_PROVIDERS__OPENAI__API_KEY", "sk-live-abcdefghijklmnopqrstuvwxyz")
    monkeypatch.setenv("GAZETTE_STORE__URL", "postgresql://gazette:hunter2@db:5432/gazette")
    rows = {row["key"]: row for row in describe_settings(load_settings())}
    assert rows["providers.openai.api_key"]["value"] == "***"
    assert rows["providers.openai.api_key"]["source"] == "env:GAZETTE_PROVIDERS__OPENAI__API_KEY"
    assert rows["store.url"]["value"] == "postgresql://gazette:***@db:5432/gazette"
    assert "hunter2" not in repr(rows)
    assert "abcdefghijklmnop" not in repr(rows)


def test_empty_values_mean_unset(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("GAZETTE_LOG__FILE=\nGAZETTE_REDIS__URL=\n")
    monkeypatch.setenv("GAZETTE_STORE__URL", "")
    settings = load_settings().settings
    assert settings.log.file is None
    assert settings.redis.url is None
    assert settings.store.url is None


def test_a_shared_dotenv_with_other_tools_variables_is_accepted(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("POSTGRES_PASSWORD=compose-only\nGAZETTE_SERVER__PORT=4545\n")
    assert load_settings().settings.server.port == 4545


def test_a_json_variable_that_is_not_json_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAZETTE_MODELS__ROUTES", "{not json")
    with pytest.raises(ConfigError, match="invalid setting"):
        load_settings()


@pytest.mark.parametrize(
    ("variable", "key", "value", "effective"),
    [
        ("OLLAMA_HOST", "providers.ollama.url", "127.0.0.1:11500", "http://127.0.0.1:11500"),
        ("OLLAMA_HOST", "providers.ollama.url", "0.0.0.0", "http://127.0.0.1:11434"),
        ("LMSTUDIO_ENDPOINT", "providers.lmstudio.base_url", "http://localhost:1234", "http://localhost:1234/v1"),
        ("OPENAI_API_KEY", "providers.openai.api_key", "sk-openai-abcdefghijklmnopqrst", "***"),
        ("DEEPSEEK_API_KEY", "providers.deepseek.api_key", "sk-deepseek-abcdefghijklmnopq", "***"),
        ("ANTHROPIC_API_KEY", "providers.anthropic.api_key", "sk-ant-abcdefghijklmnopqrstuv", "***"),
    ],
)
def test_the_seeds_variables_fill_provider_settings(
    monkeypatch: pytest.MonkeyPatch, variable: str, key: str, value: str, effective: str
) -> None:
    monkeypatch.setenv(variable, value)
    loaded = load_settings()
    rows = {row["key"]: row for row in describe_settings(loaded)}
    assert rows[key] == {"key": key, "value": effective, "source": f"env:{variable}"}
    if effective == "***":
        section, name = key.removeprefix("providers.").split(".")
        secret = getattr(getattr(loaded.settings.providers, section), name)
        assert secret.get_secret_value() == value


def test_gazette_settings_win_over_the_seeds_variables(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "seed-host:11434")
    monkeypatch.setenv("GAZETTE_PROVIDERS__OLLAMA__URL", "http://gazette-host:11434")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-seed-abcdefghijklmnopqrstuv")
    write_config(home, '[providers.openai]\napi_key = "sk-config-abcdefghijklmnopqrst"\n')
    loaded = load_settings()
    assert loaded.settings.providers.ollama.url == "http://gazette-host:11434"
    assert loaded.source_of("providers.ollama.url") == "env:GAZETTE_PROVIDERS__OLLAMA__URL"
    api_key = loaded.settings.providers.openai.api_key
    assert api_key is not None
    assert api_key.get_secret_value() == "sk-config-abcdefghijklmnopqrst"


def test_an_empty_seed_variable_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "")
    assert load_settings().settings.providers.ollama.url is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("127.0.0.1:11434", "http://127.0.0.1:11434"),
        ("localhost", "http://localhost:11434"),
        ("0.0.0.0:11434", "http://127.0.0.1:11434"),
        ("http://ollama:11434/", "http://ollama:11434"),
        ("https://ollama.example.com", "https://ollama.example.com"),
        ("https://ollama.example.com:8443/base/", "https://ollama.example.com:8443/base"),
        ("[::1]:11500", "http://[::1]:11500"),
    ],
)
def test_an_ollama_address_is_normalised_as_ollama_reads_it(given: str, expected: str) -> None:
    assert load_settings(providers={"ollama": {"url": given}}).settings.providers.ollama.url == expected


def test_an_ollama_address_with_a_bad_port_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "localhost:eleven")
    with pytest.raises(ConfigError, match=r"providers\.ollama\.url \(from env:OLLAMA_HOST\)"):
        load_settings()
