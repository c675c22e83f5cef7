"""Server-sent events (the wire format of OpenAI and Anthropic streams), read from lines."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerEvent:
    event: str  # "message" unless the server named it
    data: str


def server_events(lines: Iterable[str]) -> Iterator[ServerEvent]:
    """Events as the SSE spec assembles them: `event:` and `data:` fields up to a blank line."""
    name = ""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield ServerEvent(event=name or "message", data="\n".join(data))
            name, data = "", []
            continue
        if line.startswith(":"):  # a comment, used as a keep-alive
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    if data:  # a server that ends without the final blank line
        yield ServerEvent(event=name or "message", data="\n".join(data))
