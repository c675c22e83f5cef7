"""Typed dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gazette.app import Gazette
from gazette.auth import Principal


def _gazette(request: Request) -> Gazette:
    gz: Gazette = request.app.state.gazette
    return gz


GazetteDep = Annotated[Gazette, Depends(_gazette)]


def _principal(request: Request, gz: GazetteDep) -> Principal:
    # A sync dependency: FastAPI runs it in the thread pool, as the token lookup touches the store.
    principal = gz.authenticator.authenticate(request.headers.get)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(_principal)]
