"""Gazette: a local-first MCP gateway and memory for developers and their AI agents.

The public API is what `__all__` lists; everything else is internal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Lazy: `gazette --help` must not pay for SQLAlchemy or pydantic-settings.
_EXPORTS = {
    "Gazette": "gazette.app",
    "Settings": "gazette.settings",
    "LoadedSettings": "gazette.settings",
    "load_settings": "gazette.settings",
    "GazetteError": "gazette.errors",
    "InvalidInputError": "gazette.errors",
    "ConfigError": "gazette.errors",
    "NotFoundError": "gazette.errors",
    "ConflictError": "gazette.errors",
    "AuthenticationError": "gazette.errors",
    "PermissionDeniedError": "gazette.errors",
    "RateLimitedError": "gazette.errors",
    "UnavailableError": "gazette.errors",
    "StoreUnavailableError": "gazette.errors",
    "PortInUseError": "gazette.errors",
    "ProviderError": "gazette.errors",
    "JobError": "gazette.errors",
    "Info": "gazette.system",
    "Check": "gazette.system",
    "Report": "gazette.system",
}

__all__ = [
    "AuthenticationError",
    "Check",
    "ConfigError",
    "ConflictError",
    "Gazette",
    "GazetteError",
    "Info",
    "InvalidInputError",
    "JobError",
    "LoadedSettings",
    "NotFoundError",
    "PermissionDeniedError",
    "PortInUseError",
    "ProviderError",
    "RateLimitedError",
    "Report",
    "Settings",
    "StoreUnavailableError",
    "UnavailableError",
    "__version__",
    "load_settings",
]

if TYPE_CHECKING:
    from gazette.app import Gazette
    from gazette.errors import (
        AuthenticationError,
        ConfigError,
        ConflictError,
        GazetteError,
        InvalidInputError,
        JobError,
        NotFoundError,
        PermissionDeniedError,
        PortInUseError,
        ProviderError,
        RateLimitedError,
        StoreUnavailableError,
        UnavailableError,
    )
    from gazette.settings import LoadedSettings, Settings, load_settings
    from gazette.system import Check, Info, Report


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gazette' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
