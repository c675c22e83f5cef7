"""What every command shares: the root options and a lazily built `Gazette`."""

from __future__ import annotations

import atexit
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from gazette.app import Gazette
    from gazette.settings import LoadedSettings


@dataclass
class CliContext:
    profile: str | None = None
    config_file: Path | None = None
    log_overrides: dict[str, Any] = field(default_factory=dict)
    debug: bool = False
    _gazette: Gazette | None = None

    def settings(self, **overrides: Any) -> LoadedSettings:
        """Load settings with the root options applied.

        Raises:
            ConfigError: invalid settings.
        """
        from gazette.settings import load_settings

        if self.log_overrides:
            overrides = {**overrides, "log": {**self.log_overrides, **overrides.get("log", {})}}
        return load_settings(profile=self.profile, config_file=self.config_file, **overrides)

    def gazette(self, *, long_running: bool = False, **overrides: Any) -> Gazette:
        """Build (once) the `Gazette` for this command, configuring logging first.

        One-shot commands log warnings only unless a level was set explicitly: their output is
        the answer. Long-running ones (`serve`, `mcp`) log at the configured level.
        """
        if self._gazette is None:
            from gazette.app import Gazette
            from gazette.logs import configure_logging

            loaded = self.settings(**overrides)
            log_settings = loaded.settings.log
            if not long_running and loaded.source_of("log.level") == "default":
                log_settings = log_settings.model_copy(update={"level": "warning"})
            configure_logging(log_settings)
            self._gazette = Gazette(loaded.settings, loaded=loaded)
            # Flush what is still queued (audit entries, usage counts) when the command ends.
            atexit.register(self._gazette.close)
        return self._gazette


def cli_context(ctx: typer.Context) -> CliContext:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, CliContext) else CliContext()
