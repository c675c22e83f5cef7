"""`/v1/info`: the HTTP face of `gazette_info`."""

from __future__ import annotations

from fastapi import APIRouter

from gazette.api.deps import GazetteDep, PrincipalDep
from gazette.system import Info

router = APIRouter(prefix="/v1", tags=["system"])


@router.get("/info", summary="Version, workspace and enabled capabilities")
def info(gz: GazetteDep, principal: PrincipalDep, workspace: str | None = None) -> Info:
    return gz.system.info(principal, workspace)
