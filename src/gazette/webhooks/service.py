"""`Webhooks`: signed HTTP callbacks for events, retried with backoff, every attempt recorded."""

from __future__ import annotations

import json
import secrets
import threading
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from gazette.auth.models import Principal
from gazette.auth.service import require_scope
from gazette.errors import InvalidInputError, NotFoundError
from gazette.events import Event
from gazette.logs import get_logger
from gazette.store import webhooks as hook_rows
from gazette.store.types import utcnow
from gazette.store.workspaces import find_workspace, require_workspace_id
from gazette.vault import Sealed
from gazette.webhooks.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

if TYPE_CHECKING:
    from gazette.app import Gazette

log = get_logger("gazette.webhooks")

EVENTS = ("repo.created", "index.completed", "index.failed")
POLL_SECONDS = 0.5


class Webhook(BaseModel):
    id: int
    url: str
    events: list[str]
    created_by: str
    created_at: datetime


class NewWebhook(BaseModel):
    """A new webhook and its signing secret, shown this once."""

    webhook: Webhook
    secret: str


class Delivery(BaseModel):
    id: int
    webhook_id: int
    url: str
    event: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None


class Webhooks:
    def __init__(self, gz: Gazette) -> None:
        self._gz = gz
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, principal: Principal, url: str, events: list[str]) -> NewWebhook:
        """Register `url` for `events` of the workspace; the returned secret signs every delivery.

        Raises:
            InvalidInputError: not an http(s) URL, or an unknown event.
            PermissionDeniedError: the admin scope is missing.
        """
        require_scope(principal, "admin")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidInputError(f"{url!r} is not an http(s) URL")
        chosen = sorted(set(events)) or list(EVENTS)
        unknown = [event for event in chosen if event not in EVENTS]
        if unknown:
            raise InvalidInputError(f"unknown event {', '.join(unknown)}: known events are {', '.join(EVENTS)}")
        secret = "gzwh_" + secrets.token_urlsafe(32)
        with self._gz.store.begin() as conn:
            # The row id is part of what the secret is sealed to: insert, then seal.
            webhook_id = hook_rows.insert_webhook(
                conn,
                {
                    "workspace_id": require_workspace_id(conn, principal.workspace),
                    "url": url,
                    "events": chosen,
                    "key_id": "",
                    "nonce": b"",
                    "ciphertext": b"",
                    "created_by": principal.user,
                    "created_at": utcnow(),
                },
            )
            sealed = self._gz.vault.seal(secret, context=f"webhook:{webhook_id}")
            hook_rows.update_webhook(
                conn, webhook_id, key_id=sealed.key_id, nonce=sealed.nonce, ciphertext=sealed.ciphertext
            )
            row = hook_rows.find_webhook(conn, require_workspace_id(conn, principal.workspace), webhook_id)
        self._gz.audit.record(
            "webhook.added", principal=principal, target=url, payload={"events": chosen}, durable=True
        )
        return NewWebhook(webhook=_webhook(row), secret=secret)

    def list_webhooks(self, principal: Principal) -> list[Webhook]:
        require_scope(principal, "admin")
        with self._gz.store.begin() as conn:
            return [
                _webhook(row) for row in hook_rows.list_webhooks(conn, require_workspace_id(conn, principal.workspace))
            ]

    def remove(self, principal: Principal, webhook_id: int) -> Webhook:
        """Raises NotFoundError when the workspace has no such webhook."""
        require_scope(principal, "admin")
        with self._gz.store.begin() as conn:
            row = hook_rows.find_webhook(conn, require_workspace_id(conn, principal.workspace), webhook_id)
            if row is None:
                raise NotFoundError(f"no webhook {webhook_id}")
            hook_rows.delete_webhook(conn, webhook_id)
        self._gz.audit.record("webhook.removed", principal=principal, target=row.url, durable=True)
        return _webhook(row)

    def deliveries(self, principal: Principal, *, webhook_id: int | None = None, limit: int = 50) -> list[Delivery]:
        require_scope(principal, "admin")
        with self._gz.store.begin() as conn:
            found = hook_rows.list_deliveries(
                conn, require_workspace_id(conn, principal.workspace), webhook_id=webhook_id, limit=limit
            )
        return [_delivery(row) for row in found]

    # ---------------------------------------------------------------- delivery

    def on_event(self, event: Event) -> None:
        """Queue a delivery for every webhook of the event's workspace that wants it."""
        body = json.dumps(
            {"event": event.name, "workspace": event.workspace, "at": event.at, "payload": event.payload},
            sort_keys=True,
            separators=(",", ":"),
        )
        with self._gz.store.begin() as conn:
            workspace = find_workspace(conn, event.workspace)
            if workspace is None:
                return
            targets = [row for row in hook_rows.list_webhooks(conn, workspace.id) if event.name in row.events]
            for row in targets:
                hook_rows.insert_delivery(conn, webhook_id=row.id, event=event.name, body=body, now=utcnow())
        if targets:
            self._wake.set()

    def deliver_due(self, client: httpx.Client | None = None) -> int:
        """Attempt every delivery that is due; returns how many were attempted."""
        with self._gz.store.begin() as conn:
            due = hook_rows.due_deliveries(conn, utcnow())
        if not due:
            return 0
        owned = client is None
        client = client or httpx.Client(timeout=self._gz.settings.webhooks.timeout_seconds)
        try:
            for row in due:
                self._attempt(client, row)
        finally:
            if owned:
                client.close()
        return len(due)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="gazette-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliver_due()
            except Exception:
                log.exception("webhook delivery loop failed")
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()

    def _attempt(self, client: httpx.Client, row: Any) -> None:
        secret = self._gz.vault.unseal(
            Sealed(key_id=row.key_id, nonce=bytes(row.nonce), ciphertext=bytes(row.ciphertext)),
            context=f"webhook:{row.webhook_id}",
            label=f"webhook {row.webhook_id}",
        )
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: row.event,
            DELIVERY_HEADER: str(row.id),
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, row.body),
        }
        attempts = row.attempts + 1
        status_code: int | None = None
        error: str | None = None
        try:
            response = client.post(row.url, content=row.body.encode(), headers=headers)
            status_code = response.status_code
            if response.is_success:
                with self._gz.store.begin() as conn:
                    hook_rows.record_attempt(
                        conn,
                        row.id,
                        status="delivered",
                        attempts=attempts,
                        last_status_code=status_code,
                        last_error=None,
                        delivered_at=utcnow(),
                        next_attempt_at=None,
                    )
                return
            error = f"answered {status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        backoff = self._gz.settings.webhooks.backoff_seconds
        failed = attempts > len(backoff)
        next_at = None if failed else utcnow() + timedelta(seconds=backoff[attempts - 1])
        with self._gz.store.begin() as conn:
            hook_rows.record_attempt(
                conn,
                row.id,
                status="failed" if failed else "pending",
                attempts=attempts,
                last_status_code=status_code,
                last_error=error,
                next_attempt_at=next_at,
            )
        log.warning("webhook delivery failed", delivery=row.id, attempts=attempts, error=error, final=failed)


def _webhook(row: Any) -> Webhook:
    return Webhook.model_validate(row._asdict())  # columns map 1:1 (extra ones ignored)


def _delivery(row: Any) -> Delivery:
    return Delivery.model_validate(row._asdict())  # columns map 1:1 (extra ones ignored)
