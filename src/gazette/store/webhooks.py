"""Queries on `webhooks` and `webhook_deliveries`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from gazette.store.tables import webhook_deliveries as deliveries
from gazette.store.tables import webhooks


def insert_webhook(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(webhooks).values(**values).returning(webhooks.c.id)).scalar_one())


def update_webhook(conn: Connection, webhook_id: int, **values: Any) -> None:
    conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(**values))


def list_webhooks(conn: Connection, workspace_id: int) -> list[Any]:
    return list(conn.execute(select(webhooks).where(webhooks.c.workspace_id == workspace_id).order_by(webhooks.c.id)))


def find_webhook(conn: Connection, workspace_id: int, webhook_id: int) -> Any:
    query = select(webhooks).where(webhooks.c.workspace_id == workspace_id, webhooks.c.id == webhook_id)
    return conn.execute(query).first()


def delete_webhook(conn: Connection, webhook_id: int) -> None:
    conn.execute(delete(deliveries).where(deliveries.c.webhook_id == webhook_id))
    conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id))


def insert_delivery(conn: Connection, *, webhook_id: int, event: str, body: str, now: datetime) -> None:
    conn.execute(
        insert(deliveries).values(
            webhook_id=webhook_id, event=event, body=body, status="pending", next_attempt_at=now, created_at=now
        )
    )


def due_deliveries(conn: Connection, now: datetime, *, limit: int = 50) -> list[Any]:
    query = (
        select(deliveries, webhooks.c.url, webhooks.c.key_id, webhooks.c.nonce, webhooks.c.ciphertext)
        .join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
        .where(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now)
        .order_by(deliveries.c.next_attempt_at)
        .limit(limit)
    )
    return list(conn.execute(query))


def record_attempt(conn: Connection, delivery_id: int, **values: Any) -> None:
    conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(**values))


def list_deliveries(conn: Connection, workspace_id: int, *, webhook_id: int | None, limit: int) -> list[Any]:
    query = (
        select(deliveries, webhooks.c.url)
        .join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
        .where(webhooks.c.workspace_id == workspace_id)
    )
    if webhook_id is not None:
        query = query.where(deliveries.c.webhook_id == webhook_id)
    return list(conn.execute(query.order_by(deliveries.c.id.desc()).limit(limit)))
