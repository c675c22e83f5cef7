"""`/v1/auth`: who am I, and token management for admins."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from gazette.api.deps import GazetteDep, PrincipalDep
from gazette.auth import Principal, Role, TokenInfo

router = APIRouter(prefix="/v1/auth", tags=["auth"])


class NewToken(BaseModel):
    name: str
    scopes: list[str] | None = Field(default=None, description="Default: memory:read.")
    role: Role = Role.personal
    expires: str | None = Field(default=None, description="90d, 12h, 2w or never (admin role only). Default 90d.")
    rpm: int | None = None
    rpd: int | None = None
    user: str | None = Field(default=None, description="User the token acts as. Default: the caller.")
    allow_operator_llm: bool = Field(default=False, description="May use the operator's model keys.")


@router.get("/whoami", summary="The principal behind the presented credential")
def whoami(principal: PrincipalDep) -> Principal:
    return principal


@router.get("/tokens", summary="Tokens of the workspace (admins) or the caller's own")
def list_tokens(gz: GazetteDep, principal: PrincipalDep, include_revoked: bool = False) -> list[TokenInfo]:
    return gz.auth.list_tokens(principal, include_revoked=include_revoked)


@router.post("/tokens", status_code=status.HTTP_201_CREATED, summary="Mint a token (shown once; admins)")
def add_token(gz: GazetteDep, principal: PrincipalDep, body: NewToken) -> dict[str, Any]:
    minted = gz.auth.add_token(principal, **body.model_dump())
    return {"token": minted.token, **minted.info.model_dump(mode="json")}


@router.delete("/tokens/{name_or_prefix}", summary="Revoke a token by name or prefix")
def revoke_token(gz: GazetteDep, principal: PrincipalDep, name_or_prefix: str) -> TokenInfo:
    return gz.auth.revoke_token(principal, name_or_prefix)
