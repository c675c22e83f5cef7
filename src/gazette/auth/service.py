"""`Auth`: Gazette tokens and the principals they resolve to."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row

from gazette.auth import tokens
from gazette.auth.expiry import parse_expiry
from gazette.auth.models import (
    DEFAULT_SCOPES,
    GAZETTE_PROVIDER,
    SCOPES,
    MintedToken,
    Principal,
    Role,
    TokenInfo,
)
from gazette.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from gazette.private_files import write_private_file
from gazette.store import tokens as token_rows
from gazette.store.types import utcnow
from gazette.store.workspaces import require_workspace_id

if TYPE_CHECKING:
    from gazette.app import Gazette
    from gazette.vault import Rotation

ADMIN_TOKEN_FILE = "admin-token"  # noqa: S105 - a file name, not a secret
# How long a verified token is trusted without another lookup. A revocation in this process takes
# effect at once; one made by another replica within this many seconds.
CACHE_SECONDS = 5.0
_CACHE_MAX_ENTRIES = 10_000
_PROVIDER = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
_PROVIDER_SCOPE = re.compile(r"^[A-Za-z0-9:._/-]{1,100}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class Auth:
    def __init__(self, gz: Gazette) -> None:
        self._gz = gz
        # token digest -> (valid until, monotonic seconds; principal; token expiry)
        self._cache: dict[str, tuple[float, Principal, datetime | None]] = {}

    def add_token(
        self,
        principal: Principal,
        *,
        name: str,
        scopes: Iterable[str] | None = None,
        role: Role | str = Role.personal,
        expires: str | None = None,
        rpm: int | None = None,
        rpd: int | None = None,
        user: str | None = None,
        allow_operator_llm: bool = False,
    ) -> MintedToken:
        """Mint a Gazette token; the returned `token` is the only time it is ever shown.

        Raises:
            PermissionDeniedError: the principal may not manage tokens.
            InvalidInputError: bad name, scope, role, limit or expiry.
            ConflictError: an active token with this name exists.
        """
        require_scope(principal, "admin")
        role = _role(role)
        clean_scopes = _scopes(scopes)
        _check_name(name)
        _check_limit("rpm", rpm)
        _check_limit("rpd", rpd)
        lifetime = parse_expiry(expires)
        if lifetime is None and role is not Role.admin:
            raise InvalidInputError("only admin tokens may never expire; give --expires, e.g. 90d")
        secret = tokens.mint()
        now = utcnow()
        with self._gz.store.begin() as conn:
            row = token_rows.insert_token(
                conn,
                {
                    "workspace_id": require_workspace_id(conn, principal.workspace),
                    "user_id": user or principal.user,
                    "name": name,
                    "provider": GAZETTE_PROVIDER,
                    "token_hash": tokens.digest(secret),
                    "token_prefix": tokens.visible_prefix(secret),
                    "scopes": clean_scopes,
                    "role": role.value,
                    "allow_operator_llm": allow_operator_llm,
                    "rate_limit_rpm": rpm,
                    "rate_limit_rpd": rpd,
                    "expires_at": now + lifetime if lifetime else None,
                    "created_at": now,
                },
            )
        info = _info(row)
        self._gz.audit.record(
            "token.created",
            principal=principal,
            target=info.prefix,
            payload={"name": name, "provider": info.provider, "role": role.value, "scopes": clean_scopes},
            durable=True,
        )
        return MintedToken(token=secret, info=info)

    def bootstrap_admin(self) -> MintedToken | None:
        """On a store where no Gazette token was ever minted, mint the first admin token.

        It is written to `<data dir>/admin-token` (mode 0600) for the local owner, and returned
        so that the caller can show it once. Returns None when tokens exist already.
        """
        with self._gz.store.begin() as conn:
            if token_rows.count_tokens(conn, GAZETTE_PROVIDER):
                return None
        owner = self._gz.local_owner()
        try:
            minted = self.add_token(owner, name="admin", scopes=SCOPES, role=Role.admin, expires="never", user="admin")
        except ConflictError:  # another replica minted it first
            return None
        write_private_file(self.admin_token_path, minted.token)
        return minted

    @property
    def admin_token_path(self) -> Path:
        return self._gz.settings.data_dir / ADMIN_TOKEN_FILE

    def add_credential(
        self,
        principal: Principal,
        *,
        provider: str,
        name: str,
        secret: str,
        scopes: Iterable[str] | None = None,
        rpm: int | None = None,
        rpd: int | None = None,
        user: str | None = None,
    ) -> TokenInfo:
        """Store an outbound provider credential: ciphertext in the vault, hash and first 8 characters here.

        Raises:
            InvalidInputError: bad provider, name, scope or limit, or an empty secret.
            ConflictError: the name is taken, or this very secret is stored already.
            PermissionDeniedError: storing for another user without the admin scope.
            ConfigError: the vault key is unusable.
        """
        provider = provider.strip().lower()
        if not _PROVIDER.match(provider) or provider == GAZETTE_PROVIDER:
            raise InvalidInputError(
                f"invalid provider {provider!r}: a short lowercase name such as github, openai, anthropic, deepseek"
            )
        _check_name(name)
        _check_limit("rpm", rpm)
        _check_limit("rpd", rpd)
        secret = secret.strip()
        if not secret:
            raise InvalidInputError("the secret is empty: paste it at the prompt or pipe it on stdin")
        provider_scopes = sorted({scope.strip() for scope in scopes or () if scope.strip()})
        bad = [scope for scope in provider_scopes if not _PROVIDER_SCOPE.match(scope)]
        if bad:
            raise InvalidInputError(f"invalid scope {', '.join(bad)}: letters, digits and : . _ - only")
        owner = user or principal.user
        if owner != principal.user:
            require_scope(principal, "admin")
        with self._gz.store.begin() as conn:
            existing = token_rows.find_by_hash(conn, tokens.digest(secret))
            if existing is not None:
                raise ConflictError(f"this secret is stored already, as {existing.provider}/{existing.name}")
            row = token_rows.insert_token(
                conn,
                {
                    "workspace_id": require_workspace_id(conn, principal.workspace),
                    "user_id": owner,
                    "name": name,
                    "provider": provider,
                    "token_hash": tokens.digest(secret),
                    "token_prefix": secret[:8],
                    "scopes": provider_scopes,
                    "role": principal.role.value,
                    "rate_limit_rpm": rpm,
                    "rate_limit_rpd": rpd,
                    "created_at": utcnow(),
                },
            )
            self._gz.vault.store(conn, row.id, secret)
        info = _info(row)
        self._gz.audit.record(
            "credential.created",
            principal=principal,
            target=f"{provider}/{name}",
            payload={"user": owner},
            durable=True,
        )
        return info

    def provider_secret(self, principal: Principal, provider: str) -> str | None:
        """The principal's own newest credential for `provider`, decrypted; None when there is none.

        Raises:
            ConfigError: the vault key cannot open it.
        """
        with self._gz.store.begin(principal.viewer()) as conn:
            row = token_rows.find_active_credential(
                conn, require_workspace_id(conn, principal.workspace), principal.user, provider
            )
            if row is None:
                return None
            return self._gz.vault.reveal(conn, row.id, label=f"{provider}/{row.name}")

    def rotate_vault_key(self, principal: Principal, *, reencrypt: bool = False) -> Rotation:
        """Add a new vault key; old rows re-encrypt lazily on read, or now with `reencrypt`.

        Raises:
            PermissionDeniedError: the principal lacks the admin scope.
            ConfigError: the key comes from GAZETTE_VAULT_KEY.
        """
        require_scope(principal, "admin")
        rotation = self._gz.vault.rotate(reencrypt=reencrypt)
        self._gz.audit.record(
            "vault.rotated", principal=principal, target=rotation.key_id, payload=rotation.model_dump(), durable=True
        )
        return rotation

    def list_tokens(self, principal: Principal, *, include_revoked: bool = False) -> list[TokenInfo]:
        """Tokens and credentials of the workspace (admins) or of the caller (everyone else)."""
        mine_only = None if principal.has_scope("admin") else principal.user
        with self._gz.store.begin(principal.viewer()) as conn:
            rows = token_rows.list_tokens(
                conn,
                require_workspace_id(conn, principal.workspace),
                user=mine_only,
                include_revoked=include_revoked,
            )
        return [_info(row) for row in rows]

    def revoke_token(self, principal: Principal, name_or_prefix: str) -> TokenInfo:
        """Revoke by name or visible prefix; the row stays as history.

        Raises:
            NotFoundError: no active token matches.
            ConflictError: several match (name shared across providers): use the prefix.
            PermissionDeniedError: not the caller's token and the caller is not an admin.
        """
        with self._gz.store.begin(principal.viewer()) as conn:
            matches = token_rows.find_active_by_name_or_prefix(
                conn, require_workspace_id(conn, principal.workspace), name_or_prefix
            )
            if not principal.has_scope("admin"):
                matches = [row for row in matches if row.user_id == principal.user]
            if not matches:
                raise NotFoundError(f"no active token named or prefixed {name_or_prefix!r}")
            if len(matches) > 1:
                prefixes = ", ".join(f"{row.token_prefix} ({row.provider})" for row in matches)
                raise ConflictError(f"{name_or_prefix!r} matches several tokens: {prefixes}; revoke one by its prefix")
            row = token_rows.mark_revoked(conn, matches[0].id, utcnow())
        self._cache.clear()  # revoked here: refused at once; other replicas within CACHE_SECONDS
        info = _info(row)
        self._gz.audit.record(
            "token.revoked",
            principal=principal,
            target=info.prefix,
            payload={"name": info.name, "provider": info.provider},
            durable=True,
        )
        return info

    def authenticate(self, secret: str) -> Principal:
        """Resolve a presented Gazette token to its principal.

        Raises:
            AuthenticationError: malformed, unknown, revoked or expired.
        """
        if not tokens.well_formed(secret):
            raise AuthenticationError(
                "malformed token: expected gzt_ followed by 36 letters and digits with a valid checksum",
                details={"reason": "malformed"},
            )
        digest = tokens.digest(secret)
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > time.monotonic():
            _, principal, expires_at = cached
            if expires_at is None or expires_at > utcnow():
                return principal
        with self._gz.store.begin() as conn:
            row = token_rows.find_by_hash(conn, digest)
        if row is None or row.provider != GAZETTE_PROVIDER:
            raise AuthenticationError("unknown token", details={"reason": "unknown"})
        if row.revoked_at is not None:
            raise AuthenticationError(f"token {row.token_prefix} was revoked", details={"reason": "revoked"})
        if row.expires_at is not None and row.expires_at <= utcnow():
            raise AuthenticationError(
                f"token {row.token_prefix} expired at {row.expires_at:%Y-%m-%d %H:%M} UTC",
                details={"reason": "expired"},
            )
        principal = Principal(
            user=row.user_id,
            workspace=row.workspace,
            role=Role(row.role),
            scopes=frozenset(row.scopes),
            kind="token",
            token_id=row.id,
            allow_operator_llm=row.allow_operator_llm,
            rate_limit_rpm=row.rate_limit_rpm,
            rate_limit_rpd=row.rate_limit_rpd,
        )
        if len(self._cache) >= _CACHE_MAX_ENTRIES:
            self._cache.clear()
        self._cache[digest] = (time.monotonic() + CACHE_SECONDS, principal, row.expires_at)
        return principal


def require_scope(principal: Principal, scope: str) -> None:
    """Raises PermissionDeniedError unless the principal holds `scope` (admins hold every scope)."""
    if not principal.has_scope(scope):
        raise PermissionDeniedError(
            f"this needs the {scope!r} scope; the credential has {', '.join(sorted(principal.scopes)) or 'none'}",
            details={"required_scope": scope},
        )


def require_workspace(principal: Principal, workspace: str) -> None:
    """Raises PermissionDeniedError unless the principal works in `workspace` (admins see all)."""
    if workspace != principal.workspace and not principal.has_scope("admin"):
        raise PermissionDeniedError(
            f"this credential is for workspace {principal.workspace!r}, not {workspace!r}",
            details={"workspace": workspace},
        )


def _info(row: Row[Any]) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        name=row.name,
        provider=row.provider,
        prefix=row.token_prefix,
        user=row.user_id,
        workspace=row.workspace,
        role=Role(row.role),
        scopes=list(row.scopes),
        rate_limit_rpm=row.rate_limit_rpm,
        rate_limit_rpd=row.rate_limit_rpd,
        requests_today=row.requests_today if row.requests_day == utcnow().date() else 0,
        last_request_at=row.last_request_at,
        expires_at=row.expires_at,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidInputError(f"unknown role {role!r}: use {', '.join(r.value for r in Role)}") from None


def _scopes(scopes: Iterable[str] | None) -> list[str]:
    chosen = sorted({scope.strip() for scope in (scopes or DEFAULT_SCOPES) if scope.strip()})
    unknown = [scope for scope in chosen if scope not in SCOPES]
    if unknown:
        raise InvalidInputError(
            f"unknown scope {', '.join(unknown)}: known scopes are {', '.join(SCOPES)}", details={"unknown": unknown}
        )
    if not chosen:
        raise InvalidInputError("a token needs at least one scope")
    return chosen


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise InvalidInputError(
            f"invalid name {name!r}: 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )


def _check_limit(label: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise InvalidInputError(f"--{label} must be a positive number of requests, got {value}")
