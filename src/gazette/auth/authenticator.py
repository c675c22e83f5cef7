"""`Authenticator`: one way to turn what a network caller presents into a `Principal`.

HTTP, MCP over HTTP and gRPC all call it with their headers or metadata. The local CLI and
the stdio MCP server do not: they act as the local owner.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from gazette.auth.jwt_tokens import JwtVerifier, looks_like_jwt
from gazette.auth.models import Principal
from gazette.auth.tokens import PREFIX, visible_prefix
from gazette.errors import AuthenticationError, RateLimitedError

if TYPE_CHECKING:
    from gazette.audit import Audit
    from gazette.auth.ratelimit import RateLimits
    from gazette.auth.service import Auth

HeaderLookup = Callable[[str], str | None]

MISSING = "missing credential: send 'Authorization: Bearer <token>' or 'X-API-Key: <token>'"


class Authenticator:
    def __init__(self, auth: Auth, audit: Audit, limits: RateLimits, jwts: JwtVerifier) -> None:
        self._auth = auth
        self._audit = audit
        self._limits = limits
        self._jwts = jwts

    def authenticate(self, header: HeaderLookup, *, surface: str = "http", client: str | None = None) -> Principal:
        """Resolve `Authorization: Bearer …` or `X-API-Key: …` (looked up case-insensitively).

        Success and failure are both audited; a failure records only the token's visible prefix
        and counts against the client address, which is locked out after too many.

        Raises:
            AuthenticationError: no credential, an unsupported scheme, or a bad token.
            RateLimitedError: the client is locked out after failed attempts.
        """
        if client:
            try:
                self._limits.check_client(client)
            except RateLimitedError:
                self._audit.record(
                    "auth.locked_out", actor_id=client, outcome="rate_limited", payload={"surface": surface}
                )
                raise
        presented = ""
        try:
            presented = self.credential(header)
            if looks_like_jwt(presented):
                principal = self._jwts.verify(presented)
            else:
                principal = self._auth.authenticate(presented)
        except AuthenticationError as exc:
            reason = str(exc.details.get("reason", "invalid"))
            if client:
                self._limits.record_failure(client)
            self._audit.record(
                "auth.failure",
                actor_id=visible_prefix(presented) if presented.startswith(PREFIX) else "-",
                outcome=reason,
                payload={"surface": surface, "reason": reason},
            )
            raise
        self._audit.tally("auth.success", principal=principal, payload={"surface": surface})
        return principal

    @staticmethod
    def credential(header: HeaderLookup) -> str:
        """The presented secret, without verifying it.

        Raises:
            AuthenticationError: none presented, or an unsupported scheme.
        """
        authorization = (header("authorization") or "").strip()
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise AuthenticationError(
                    f"unsupported authorization scheme {scheme!r}: use 'Authorization: Bearer <token>'",
                    details={"reason": "scheme"},
                )
            return value.strip()
        api_key = (header("x-api-key") or "").strip()
        if api_key:
            return api_key
        raise AuthenticationError(MISSING, details={"reason": "missing"})
