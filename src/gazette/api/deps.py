"""Typed dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gazette.app import Gazette
from gazette.auth import Principal
from gazette.errors import RateLimitedError


async def _gazette(request: Request) -> Gazette:
    # async: no I/O here, and a sync dependency would cost a thread-pool hop on every request.
    gz: Gazette = request.app.state.gazette
    return gz


GazetteDep = Annotated[Gazette, Depends(_gazette)]


def _principal(request: Request, gz: GazetteDep) -> Principal:
    # A sync dependency: FastAPI runs it in the thread pool, as the token lookup touches the store.
    client = request.client.host if request.client else None
    principal = gz.authenticator.authenticate(request.headers.get, surface="http", client=client)
    request.state.principal = principal
    try:
        request.state.quotas = gz.rate_limits.consume(principal)
    except RateLimitedError as exc:
        request.state.quotas = exc.quotas
        raise
    return principal


PrincipalDep = Annotated[Principal, Depends(_principal)]
