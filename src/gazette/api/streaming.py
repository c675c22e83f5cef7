"""A blocking event generator (`Dialogs.ask`) driven from async code without blocking the loop."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")

_END = object()


def _next(events: Generator[T, None, None]) -> object:
    # StopIteration cannot cross a thread hop (it would end the awaiting coroutine): use a sentinel.
    return next(events, _END)


async def iterate_in_thread(events: Generator[T, None, None]) -> AsyncGenerator[T, None]:
    """Yield `events`, each `next()` in a worker thread.

    However the consumer stops (cancelled when a client goes away, closed, an error), `events` is
    closed in a thread afterwards, so its own clean-up runs: `Dialogs.ask` records an answer that
    was stopped as interrupted. A cancellation waits for the `next()` in flight (anyio does not
    abandon the thread), so the generator is never closed while it runs.
    """
    try:
        while True:
            event = await anyio.to_thread.run_sync(_next, events)
            if event is _END:
                return
            yield event  # type: ignore[misc]  # not _END, so a T
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(events.close)
