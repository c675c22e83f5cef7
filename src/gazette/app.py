"""`Gazette`: the composition root, built once per process from one `Settings`."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from gazette.audit import Audit
from gazette.auth import Auth, Authenticator, Principal
from gazette.auth.jwt_tokens import JwtVerifier
from gazette.auth.provider_keys import ProviderKeys
from gazette.auth.ratelimit import RateLimits
from gazette.dialogs import Dialogs
from gazette.events import Event, Events
from gazette.index import Index
from gazette.jobs import Jobs
from gazette.providers import Providers
from gazette.settings import LoadedSettings, Settings, load_settings
from gazette.store import Store
from gazette.system import Doctor, System
from gazette.training import Training
from gazette.vault import Vault
from gazette.webhooks import Webhooks


class Gazette:
    """Owns the store and the capability services; every surface receives it explicitly."""

    def __init__(self, settings: Settings, *, loaded: LoadedSettings | None = None) -> None:
        self.settings = settings
        self.loaded = loaded or LoadedSettings(settings=settings)

    @classmethod
    def from_settings(cls, profile: str | None = None, config_file: Path | None = None, **overrides: Any) -> Gazette:
        """Load settings (see `load_settings`) and build the root.

        Raises:
            ConfigError: the settings are invalid.
        """
        loaded = load_settings(profile=profile, config_file=config_file, **overrides)
        return cls(loaded.settings, loaded=loaded)

    @cached_property
    def store(self) -> Store:
        return Store(self.settings)

    @cached_property
    def auth(self) -> Auth:
        return Auth(self)

    @cached_property
    def authenticator(self) -> Authenticator:
        return Authenticator(
            self.auth, self.audit, self.rate_limits, JwtVerifier(self.settings.jwt, self.settings.workspace)
        )

    @cached_property
    def index(self) -> Index:
        return Index(self)

    @cached_property
    def events(self) -> Events:
        events = Events()
        events.subscribe(self._notify_webhooks)
        return events

    def _notify_webhooks(self, event: Event) -> None:
        self.webhooks.on_event(event)

    @cached_property
    def webhooks(self) -> Webhooks:
        return Webhooks(self)

    @cached_property
    def jobs(self) -> Jobs:
        jobs = Jobs(self)
        jobs.register("index", self.index.run_job, self.index.abandon_job)
        return jobs

    @cached_property
    def providers(self) -> Providers:
        return Providers(self)

    @cached_property
    def training(self) -> Training:
        return Training(self)

    @cached_property
    def dialogs(self) -> Dialogs:
        return Dialogs(self)

    @cached_property
    def provider_keys(self) -> ProviderKeys:
        return ProviderKeys(self)

    @cached_property
    def rate_limits(self) -> RateLimits:
        return RateLimits(self)

    @cached_property
    def vault(self) -> Vault:
        return Vault(self)

    @cached_property
    def audit(self) -> Audit:
        return Audit(self)

    def local_owner(self) -> Principal:
        """The principal of the local CLI and the stdio MCP server."""
        return Principal.local_owner(self.settings.workspace)

    @cached_property
    def system(self) -> System:
        return System(self)

    @cached_property
    def doctor(self) -> Doctor:
        return Doctor(self)

    def capabilities(self) -> list[str]:
        """Names of the capabilities enabled in this process."""
        enabled = ["system", "auth", "audit", "memory", f"store:{self.store.backend}"]
        if self.settings.redis.url:
            enabled.append("redis")
        return enabled

    def close(self) -> None:
        if "jobs" in self.__dict__:
            self.jobs.stop()
        if "webhooks" in self.__dict__:
            self.webhooks.stop()
        if "providers" in self.__dict__:
            self.providers.close()
        if "audit" in self.__dict__:
            self.audit.close()
        if "rate_limits" in self.__dict__:
            self.rate_limits.flush_usage()
        if "store" in self.__dict__:
            self.store.dispose()
