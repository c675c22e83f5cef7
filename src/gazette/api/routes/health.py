"""Liveness, readiness and metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from gazette.api.deps import GazetteDep

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="Readiness: store reachable and migrations current (503 otherwise)")
async def ready(gz: GazetteDep) -> dict[str, Any]:
    report = await run_in_threadpool(gz.system.require_ready)
    return {"status": "ready", "checks": [check.model_dump() for check in report.checks]}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics
    return Response(registry.render(), media_type=registry.content_type)
