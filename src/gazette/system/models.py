"""Plain models returned by the system capability."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class WorkspaceInfo(BaseModel):
    slug: str
    name: str


class Info(BaseModel):
    """What a client learns from `gazette_info`."""

    name: str = "gazette"
    version: str
    workspace: WorkspaceInfo
    store: str = Field(description="Store backend: sqlite or postgresql.")
    capabilities: list[str] = Field(description="Capabilities enabled in this process.")


CheckStatus = Literal["ok", "warn", "fail", "skip"]


class Check(BaseModel):
    """One diagnostic: `fail` on a required check makes the whole report fail."""

    name: str
    status: CheckStatus
    detail: str
    required: bool = True


class Report(BaseModel):
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return not any(check.status == "fail" and check.required for check in self.checks)
