"""Principals, roles, scopes and token metadata."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from gazette.store.database import Viewer


class Role(StrEnum):
    personal = "personal"
    admin = "admin"
    cos_internal = "cos_internal"


SCOPES: dict[str, str] = {
    "memory:read": "search and read indexed repositories",
    "memory:write": "index repositories and change what is indexed",
    "board:write": "change kanban boards",
    "models:use": "call models through Gazette (and record your own dialogs with them)",
    "dialogs:read": "read your captured dialogs and their context blocks",
    "dialogs:write": "delete your captured dialogs and turn capture on or off",
    "admin": "manage tokens, keys and workspaces",
}

DEFAULT_SCOPES = ("memory:read",)
GAZETTE_PROVIDER = "gazette"


class Principal(BaseModel):
    """Who is calling: resolved once per call by the authenticator, checked by the services."""

    user: str
    workspace: str
    role: Role
    scopes: frozenset[str] = Field(default_factory=frozenset)
    kind: str = Field(description="token, jwt or local")
    token_id: int | None = None
    allow_operator_llm: bool = False
    rate_limit_rpm: int | None = None
    rate_limit_rpd: int | None = None

    @classmethod
    def local_owner(cls, workspace: str) -> Principal:
        """The local CLI and stdio MCP: the owner of this machine's data."""
        return cls(
            user="local",
            workspace=workspace,
            role=Role.admin,
            scopes=frozenset(SCOPES),
            kind="local",
            allow_operator_llm=True,
        )

    def viewer(self) -> Viewer:
        """What the store's Row-Level Security sees of this principal."""
        return Viewer(user=self.user, workspace=self.workspace, admin=self.has_scope("admin"))

    def has_scope(self, scope: str) -> bool:
        return self.role is Role.admin or "admin" in self.scopes or scope in self.scopes


class TokenInfo(BaseModel):
    """What may be shown about a token or credential: never the secret."""

    id: int
    name: str
    provider: str
    prefix: str
    user: str
    workspace: str
    role: Role
    scopes: list[str]
    rate_limit_rpm: int | None
    rate_limit_rpd: int | None
    requests_today: int
    last_request_at: datetime | None
    expires_at: datetime | None
    created_at: datetime
    revoked_at: datetime | None


class MintedToken(BaseModel):
    """A new Gazette token: `token` is shown once and never stored."""

    token: str
    info: TokenInfo
