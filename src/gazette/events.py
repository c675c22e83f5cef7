"""In-process events (`repo.created`, `index.completed`, `index.failed`, …) for whoever subscribes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from gazette.logs import get_logger
from gazette.store.types import utcnow

log = get_logger("gazette.events")


class Event(BaseModel):
    name: str
    workspace: str
    payload: dict[str, Any]
    at: str


Listener = Callable[[Event], None]


class Events:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def publish(self, name: str, *, workspace: str, payload: dict[str, Any]) -> Event:
        """Deliver to every listener; a failing listener is logged and never stops the others."""
        event = Event(name=name, workspace=workspace, payload=payload, at=utcnow().isoformat())
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed", event=name)
        return event
