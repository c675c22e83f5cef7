"""Bring your own key: which secret a model call uses, its limits, and the record of the call.

The seed's rule: the caller's own vault entry for the provider; else, if the principal has
`allow_operator_llm`, the operator's key (a vault entry of the user `operator`, else the key in
settings); else 403 "No LLM key configured. Provide your own key or request operator access."
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal, overload

from pydantic import BaseModel, SecretStr

from gazette.auth.models import Principal
from gazette.auth.service import require_scope
from gazette.errors import PermissionDeniedError
from gazette.store import provider_calls as call_rows
from gazette.store import tokens as token_rows
from gazette.store.types import utcnow
from gazette.store.workspaces import find_workspace

if TYPE_CHECKING:
    from gazette.app import Gazette

OPERATOR_USER = "operator"
NO_KEY_MESSAGE = "No LLM key configured. Provide your own key or request operator access."


class ProviderKey(BaseModel):
    """The secret to use for one provider call, and whose it is."""

    provider: str
    source: Literal["own", "operator"]
    secret: SecretStr
    credential_id: int | None = None  # None: the operator key from settings
    workspace_id: int
    user: str
    rate_limit_rpm: int | None = None  # the credential's own limits
    rate_limit_rpd: int | None = None


class ProviderCall(BaseModel):
    provider: str
    endpoint: str
    status_code: int
    user: str
    token_id: int | None
    created_at: datetime


class ProviderKeys:
    def __init__(self, gz: Gazette) -> None:
        self._gz = gz

    @overload
    def acquire(self, principal: Principal, provider: str) -> ProviderKey: ...

    @overload
    def acquire(self, principal: Principal, provider: str, *, required: bool) -> ProviderKey | None: ...

    def acquire(self, principal: Principal, provider: str, *, required: bool = True) -> ProviderKey | None:
        """Resolve the key for a call to `provider` and count the call against its limits.

        With `required=False` (a local server that needs no key) a missing key is `None`, not a
        refusal; a stored key is still used and its limits still count.

        Raises:
            PermissionDeniedError: no `models:use` scope, or no key the principal may use.
            RateLimitedError: the credential's own rpm or rpd is reached.
            ConfigError: the vault cannot open the credential.
        """
        require_scope(principal, "models:use")
        key = self.find(principal, provider)
        if key is None:
            if not required:
                return None
            raise PermissionDeniedError(NO_KEY_MESSAGE, details={"provider": provider.lower()})
        if key.credential_id is not None:
            self._gz.rate_limits.consume_credential(
                key.credential_id, rpm=key.rate_limit_rpm, rpd=key.rate_limit_rpd, label=key.provider
            )
        return key

    def find(self, principal: Principal, provider: str) -> ProviderKey | None:
        """The key a call to `provider` would use, by the rule above, without counting a call.

        Raises:
            ConfigError: the vault cannot open the credential.
        """
        provider = provider.lower()
        with self._gz.store.begin() as conn:
            workspace = find_workspace(conn, principal.workspace)
            if workspace is None:
                return None
            owners = [(principal.user, "own")]
            if principal.allow_operator_llm:
                owners.append((OPERATOR_USER, "operator"))
            for owner, source in owners:
                row = token_rows.find_active_credential(conn, workspace.id, owner, provider)
                if row is not None:
                    secret = self._gz.vault.reveal(conn, row.id, label=f"{provider}/{row.name}")
                    return ProviderKey(
                        provider=provider,
                        source=source,
                        secret=SecretStr(secret),
                        credential_id=row.id,
                        workspace_id=workspace.id,
                        user=principal.user,
                        rate_limit_rpm=row.rate_limit_rpm,
                        rate_limit_rpd=row.rate_limit_rpd,
                    )
        configured = self._settings_key(provider) if principal.allow_operator_llm else None
        if configured is None:
            return None
        return ProviderKey(
            provider=provider, source="operator", secret=configured, workspace_id=workspace.id, user=principal.user
        )

    def record_call(self, key: ProviderKey, *, endpoint: str, status_code: int) -> None:
        """Write one `rate_limit_log` row for a call made with `key`."""
        with self._gz.store.begin() as conn:
            call_rows.insert_call(
                conn,
                workspace_id=key.workspace_id,
                token_id=key.credential_id,
                user=key.user,
                provider=key.provider,
                endpoint=endpoint,
                status_code=status_code,
                at=utcnow(),
            )

    def list_calls(self, principal: Principal, *, provider: str | None = None, limit: int = 50) -> list[ProviderCall]:
        """Newest first.

        Raises:
            PermissionDeniedError: the principal lacks the admin scope.
        """
        require_scope(principal, "admin")
        with self._gz.store.begin(principal.viewer()) as conn:
            workspace = find_workspace(conn, principal.workspace)
            if workspace is None:
                return []
            rows = call_rows.recent_calls(conn, workspace.id, provider=provider, limit=limit)
        return [
            ProviderCall(
                provider=row.provider,
                endpoint=row.endpoint,
                status_code=row.status_code,
                user=row.user_id,
                token_id=row.token_id,
                created_at=row.created_at,
            )
            for row in rows
        ]

    def _settings_key(self, provider: str) -> SecretStr | None:
        """The operator's key in settings (which the seeds' OPENAI_API_KEY etc. may fill)."""
        providers = self._gz.settings.providers
        keys = {
            "openai": providers.openai.api_key,
            "deepseek": providers.deepseek.api_key,
            "anthropic": providers.anthropic.api_key,
        }
        return keys.get(provider)
