"""The one exception tree of Gazette.

Every error a caller can act on is a ``GazetteError`` with a stable ``code``::

    GazetteError                    internal
    ├── InvalidInputError           invalid_input
    │   └── ConfigError             config_error
    ├── NotFoundError               not_found
    ├── ConflictError               conflict
    ├── AuthenticationError         unauthenticated
    ├── PermissionDeniedError       permission_denied
    ├── RateLimitedError            rate_limited
    ├── UnavailableError            unavailable
    │   ├── StoreUnavailableError   store_unavailable
    │   └── PortInUseError          port_in_use
    ├── ProviderError               provider_error
    └── JobError                    job_failed

Services raise these; each surface maps them once (HTTP status, MCP error result,
gRPC status code, CLI message and exit code 1). Anything else is a bug.
"""

from __future__ import annotations

from typing import Any, ClassVar


class GazetteError(Exception):
    """Base of every error a Gazette caller can act on."""

    code: ClassVar[str] = "internal"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}

    def to_dict(self) -> dict[str, Any]:
        """The canonical error shape shared by every surface."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidInputError(GazetteError):
    """The caller sent something Gazette cannot use."""

    code = "invalid_input"


class ConfigError(InvalidInputError):
    """Settings, a profile or a config file are wrong."""

    code = "config_error"


class NotFoundError(GazetteError):
    """The named thing does not exist (or is not visible to the caller)."""

    code = "not_found"


class ConflictError(GazetteError):
    """The request clashes with the current state."""

    code = "conflict"


class AuthenticationError(GazetteError):
    """No valid credential was presented."""

    code = "unauthenticated"


class PermissionDeniedError(GazetteError):
    """The credential is valid but lacks the scope, role or workspace."""

    code = "permission_denied"


class RateLimitedError(GazetteError):
    """A rate limit was hit; ``retry_after`` says when to come back (seconds)."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details={**(details or {}), "retry_after": retry_after})
        self.retry_after = retry_after
        # The quotas behind the refusal, for surfaces that report them (HTTP rate-limit headers).
        self.quotas: list[Any] = []


class UnavailableError(GazetteError):
    """A dependency Gazette needs is not reachable or not ready."""

    code = "unavailable"


class StoreUnavailableError(UnavailableError):
    """The database cannot be reached, opened or migrated."""

    code = "store_unavailable"


class PortInUseError(UnavailableError):
    """A listener cannot bind its port."""

    code = "port_in_use"


class ProviderError(GazetteError):
    """A model provider failed or refused; ``reason`` says how, in one stable word.

    Reasons: ``unreachable`` (no connection: nothing was sent), ``timeout``, ``unauthorized``,
    ``model_not_found``, ``context_too_long``, ``rate_limited`` (the provider's own limit),
    ``bad_request``, ``server_error``, ``malformed_stream``, ``interrupted`` (the answer broke off),
    ``failed`` (anything else).
    """

    code = "provider_error"

    def __init__(self, message: str, *, reason: str = "failed", details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details={**(details or {}), "reason": reason})
        self.reason = reason


class JobError(GazetteError):
    """A background job failed."""

    code = "job_failed"


__all__ = [
    "AuthenticationError",
    "ConfigError",
    "ConflictError",
    "GazetteError",
    "InvalidInputError",
    "JobError",
    "NotFoundError",
    "PermissionDeniedError",
    "PortInUseError",
    "ProviderError",
    "RateLimitedError",
    "StoreUnavailableError",
    "UnavailableError",
]
