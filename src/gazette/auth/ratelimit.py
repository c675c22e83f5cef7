"""`RateLimits`: per-token rpm (moving window) and rpd (daily quota), and failed-auth lockouts.

rpm counters live in the `limits` storage: in process by default, Redis when several replicas
share them. rpd lives in the store itself (`personal_access_tokens.requests_today`), counted by
one atomic UPDATE: it survives restarts, resets at midnight UTC and is exact across replicas.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from limits import RateLimitItemPerHour, RateLimitItemPerMinute
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from pydantic import BaseModel, Field

from gazette.auth.models import GAZETTE_PROVIDER, Principal, TokenInfo
from gazette.errors import ConfigError, RateLimitedError
from gazette.settings import mask_url
from gazette.store import tokens as token_rows
from gazette.store.types import utcnow

if TYPE_CHECKING:
    from gazette.app import Gazette


USAGE_WRITE_SECONDS = 1.0


class Quota(BaseModel):
    """One limit as the caller sees it after this request."""

    name: str  # rpm or rpd
    limit: int
    remaining: int
    reset_seconds: int
    window_seconds: int


class Usage(BaseModel):
    """A token's use against its limits, for `gazette auth limits`."""

    token: TokenInfo
    rpm_limit: int | None
    rpm_used: int | None = Field(description="None when counters are in another process (no shared storage).")
    rpd_limit: int | None
    rpd_used: int


class RateLimits:
    def __init__(self, gz: Gazette) -> None:
        self._gz = gz
        self._settings = gz.settings.rate_limit
        self._limiter: MovingWindowRateLimiter | None = None
        self._lock = threading.Lock()
        # Requests of tokens without a daily limit, counted in memory and written behind.
        self._unwritten: dict[int, int] = {}
        self._usage_lock = threading.Lock()
        self._usage_written = time.monotonic()

    @property
    def limiter(self) -> MovingWindowRateLimiter:
        """Created on first use.

        Raises:
            ConfigError: an unusable storage URL.
        """
        with self._lock:
            if self._limiter is None:
                self._limiter = MovingWindowRateLimiter(self._storage())
            return self._limiter

    def consume(self, principal: Principal) -> list[Quota]:
        """Count one request for the principal; return its quotas after it.

        Raises:
            RateLimitedError: a limit is reached (nothing more is counted); `quotas` and
                `retry_after` tell the caller when to come back.
        """
        if principal.kind == "local":
            return []
        try:
            return self._consume(principal)
        except RateLimitedError as exc:
            self._gz.audit.record(
                "rate_limit.denied", principal=principal, outcome="rate_limited", payload=dict(exc.details)
            )
            raise

    def _consume(self, principal: Principal) -> list[Quota]:
        quotas: list[Quota] = []
        rpm = principal.rate_limit_rpm or self._settings.default_rpm
        key = f"token:{principal.token_id}" if principal.token_id is not None else f"user:{principal.user}"
        if rpm:
            quotas.append(self._per_minute(key, rpm, "requests"))
        if principal.token_id is not None:
            daily = self._per_day(principal.token_id, principal.rate_limit_rpd, "requests")
            if daily is not None:
                quotas.append(daily)
        return quotas

    def consume_credential(self, credential_id: int, *, rpm: int | None, rpd: int | None, label: str) -> list[Quota]:
        """Count one outbound call against a provider credential's own limits.

        Raises:
            RateLimitedError: the credential's per-minute or per-day limit is reached.
        """
        quotas = []
        if rpm:
            quotas.append(self._per_minute(f"credential:{credential_id}", rpm, f"{label} calls"))
        daily = self._per_day(credential_id, rpd, f"{label} calls")
        if daily is not None:
            quotas.append(daily)
        return quotas

    def usage(self, principal: Principal) -> list[Usage]:
        """Every active token the principal may see, with its use against its limits."""
        shared = bool(self._settings.url)
        self.flush_usage()
        result = []
        for token in self._gz.auth.list_tokens(principal):
            if token.provider != GAZETTE_PROVIDER:
                continue
            rpm = token.rate_limit_rpm or self._settings.default_rpm or None
            used = None
            if rpm and shared:
                stats = self.limiter.get_window_stats(RateLimitItemPerMinute(rpm), "gazette-rpm", f"token:{token.id}")
                used = rpm - stats.remaining
            result.append(
                Usage(
                    token=token,
                    rpm_limit=rpm,
                    rpm_used=used,
                    rpd_limit=token.rate_limit_rpd,
                    rpd_used=token.requests_today,
                )
            )
        return result

    def check_client(self, client: str) -> None:
        """Refuse a client that failed to authenticate too often.

        Raises:
            RateLimitedError: the client is locked out for now.
        """
        per_minute, per_hour = self._failure_items()
        hour = self.limiter.get_window_stats(per_hour, "gazette-auth-failures", client)
        if hour.remaining == per_hour.amount:
            return  # no failures this hour: nothing to check in the shorter window either
        for item in (per_minute, per_hour):
            if not self.limiter.test(item, "gazette-auth-failures", client):
                reset = self._reset_seconds(item, "gazette-auth-failures", client)
                raise RateLimitedError(
                    f"too many failed authentications from {client}; locked out for {reset}s",
                    retry_after=reset,
                    details={"client": client, "window": item.get_expiry()},
                )

    def record_failure(self, client: str) -> None:
        for item in self._failure_items():
            self.limiter.hit(item, "gazette-auth-failures", client)

    def _per_minute(self, key: str, rpm: int, what: str) -> Quota:
        item = RateLimitItemPerMinute(rpm)
        allowed = self.limiter.hit(item, "gazette-rpm", key)
        stats = self.limiter.get_window_stats(item, "gazette-rpm", key)
        quota = Quota(
            name="rpm",
            limit=rpm,
            remaining=stats.remaining,
            reset_seconds=max(1, math.ceil(stats.reset_time - time.time())),
            window_seconds=60,
        )
        if not allowed:
            raise _limited(quota, f"rate limit of {rpm} {what} per minute reached")
        return quota

    def flush_usage(self) -> None:
        """Write the request counts of tokens without a daily limit."""
        with self._usage_lock:
            unwritten, self._unwritten = self._unwritten, {}
            self._usage_written = time.monotonic()
        if not unwritten:
            return
        now = utcnow()
        with self._gz.store.begin() as conn:
            for token_id, count in unwritten.items():
                token_rows.add_requests(conn, token_id, count, now=now)

    def _per_day(self, token_id: int, rpd: int | None, what: str) -> Quota | None:
        if rpd is None:
            # No quota to enforce: count in memory, write at most once a second.
            with self._usage_lock:
                self._unwritten[token_id] = self._unwritten.get(token_id, 0) + 1
                due = time.monotonic() - self._usage_written >= USAGE_WRITE_SECONDS
            if due:
                self.flush_usage()
            return None
        now = utcnow()
        with self._gz.store.begin() as conn:
            count = token_rows.count_request(conn, token_id, now=now)
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        reset = max(1, math.ceil((midnight - now).total_seconds()))
        quota = Quota(
            name="rpd", limit=rpd, remaining=max(0, rpd - (count or rpd)), reset_seconds=reset, window_seconds=86400
        )
        if count is None:
            raise _limited(quota, f"daily limit of {rpd} {what} reached; it resets at midnight UTC")
        return quota

    def _failure_items(self) -> tuple[RateLimitItemPerMinute, RateLimitItemPerHour]:
        return (
            RateLimitItemPerMinute(self._settings.failed_auth_per_minute),
            RateLimitItemPerHour(self._settings.failed_auth_per_hour),
        )

    def _reset_seconds(self, item: RateLimitItemPerMinute | RateLimitItemPerHour, *keys: str) -> int:
        stats = self.limiter.get_window_stats(item, *keys)
        return max(1, math.ceil(stats.reset_time - time.time()))

    def _storage(self) -> Storage:
        url = self._settings.url or "memory://"
        try:
            storage = storage_from_string(url)
        except Exception as exc:  # limits raises several kinds for a bad URL or a missing driver
            raise ConfigError(
                f"cannot use rate-limit storage {mask_url(url)}: {exc}; expected redis://host:6379/0 "
                "(with gazette[redis]) or leave GAZETTE_RATE_LIMIT__URL unset"
            ) from None
        assert isinstance(storage, Storage), "an async storage URL was given to the sync limiter"
        return storage


def _limited(quota: Quota, message: str) -> RateLimitedError:
    error = RateLimitedError(
        f"{message}; retry in {quota.reset_seconds}s",
        retry_after=quota.reset_seconds,
        details={"limit": quota.limit, "window": quota.name},
    )
    error.quotas = [quota]
    return error
