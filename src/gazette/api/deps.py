"""Typed dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gazette.app import Gazette


def _gazette(request: Request) -> Gazette:
    gz: Gazette = request.app.state.gazette
    return gz


GazetteDep = Annotated[Gazette, Depends(_gazette)]
