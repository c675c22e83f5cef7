"""`/v1/webhooks`: register, list, remove, and see deliveries (admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from gazette.api.deps import GazetteDep, PrincipalDep
from gazette.webhooks import Delivery, Webhook

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


class NewWebhookRequest(BaseModel):
    url: str
    events: list[str] = Field(default_factory=list, description="Default: every event.")


@router.post("", status_code=status.HTTP_201_CREATED, summary="Register a webhook (its secret is shown once)")
def add(gz: GazetteDep, principal: PrincipalDep, body: NewWebhookRequest) -> dict[str, Any]:
    created = gz.webhooks.add(principal, body.url, body.events)
    return {"secret": created.secret, **created.webhook.model_dump(mode="json")}


@router.get("", summary="Webhooks of the workspace")
def list_webhooks(gz: GazetteDep, principal: PrincipalDep) -> list[Webhook]:
    return gz.webhooks.list_webhooks(principal)


@router.delete("/{webhook_id}", summary="Remove a webhook")
def remove(gz: GazetteDep, principal: PrincipalDep, webhook_id: int) -> Webhook:
    return gz.webhooks.remove(principal, webhook_id)


@router.get("/{webhook_id}/deliveries", summary="Deliveries of a webhook, newest first")
def deliveries(gz: GazetteDep, principal: PrincipalDep, webhook_id: int) -> list[Delivery]:
    return gz.webhooks.deliveries(principal, webhook_id=webhook_id)
