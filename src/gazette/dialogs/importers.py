"""Importers: other tools' conversation logs as dialog sessions (`gz.dialogs.import_dialogs`).

- `llm-logs`: Simon Willison's `llm` log database. Each conversation becomes a session (a response
  without one, a session of its own); each response a user turn (the prompt) and an assistant turn
  (the response), preceded by a system turn when its system prompt differs from the one before.
- `openai-export`: the `conversations.json` of a ChatGPT data export. Each conversation becomes a
  session: the messages on the path from the root to `current_node` (the branch last shown), text
  parts of system, user and assistant messages; consecutive messages of one role are joined (an
  answer split by a tool call is one answer). Tool messages, non-text parts and empty messages are
  counted as skipped.

Session ids derive from the source's own ids (uuid5), so importing a file again adds only the new
conversations; a session deleted after its import is not brought back. The readers only read:
`Dialogs.import_dialogs` redacts secrets and stores everything in one transaction.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gazette.errors import InvalidInputError
from gazette.store import llm_logs
from gazette.store.types import utcnow

_NAMESPACE = uuid.UUID("5b0e3c4e-8f2a-4a51-9a57-2f1d7c0de5a1")  # fixed: the same source id, the same session


@dataclass
class Conversation:
    """One conversation read from a source, as rows for `terminal_dialogs` (content not yet redacted)."""

    session_id: str
    turns: list[dict[str, Any]] = field(default_factory=list)


Reader = Callable[[Path], tuple[list[Conversation], dict[str, int]]]


def session_id_for(source: str, source_id: str) -> str:
    """The session id an imported conversation gets: the same for the same source and id."""
    return uuid.uuid5(_NAMESPACE, f"{source}:{source_id}").hex


def _turn(role: str, content: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {"role": role, "content": content, "timestamp": at, **extra}


def _utc(value: Any) -> datetime | None:
    """A timestamp from a number (seconds since the epoch) or ISO text; None when absent or unreadable."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(float(value), UTC)
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# --------------------------------------------------------------------------- llm


def read_llm_logs(path: Path) -> tuple[list[Conversation], dict[str, int]]:
    """Conversations of an `llm` logs.db, and what was skipped by reason.

    Raises:
        InvalidInputError: missing, not SQLite, not an llm log database.
    """
    skipped: Counter[str] = Counter()
    conversations: dict[str, Conversation] = {}
    last_system: dict[str, str] = {}
    for response in llm_logs.read_responses(path):
        key = str(response["conversation_id"] or f"response:{response['id']}")
        conversation = conversations.setdefault(key, Conversation(session_id_for("llm-logs", key)))
        prompt = response["prompt"] or ""
        answer = response["response"] or ""
        if not prompt.strip() or not answer.strip():
            skipped["empty prompt or response"] += 1
            continue
        at = _utc(response["datetime_utc"]) or utcnow()
        model = response["model"] or None
        system = response["system"] or ""
        if system.strip() and last_system.get(key) != system:
            conversation.turns.append(_turn("system", system, at, model=model))
        last_system[key] = system
        conversation.turns.append(_turn("user", prompt, at, model=model, tokens_used=response["input_tokens"]))
        conversation.turns.append(
            _turn(
                "assistant",
                answer,
                at,
                model=model,
                tokens_used=response["output_tokens"],
                latency_ms=response["duration_ms"],
            )
        )
    return list(conversations.values()), dict(skipped)


# --------------------------------------------------------------------------- ChatGPT


def read_openai_export(path: Path) -> tuple[list[Conversation], dict[str, int]]:
    """Conversations of a ChatGPT export's conversations.json, and what was skipped by reason.

    Raises:
        InvalidInputError: missing, not JSON, not a list of conversations with a mapping.
    """
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such file (conversations.json is in the ChatGPT export's zip)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(data, list) or not all(isinstance(item, dict) and "mapping" in item for item in data):
        raise InvalidInputError(f"{path} is not a ChatGPT conversations.json: expected a list of conversations")
    skipped: Counter[str] = Counter()
    conversations = []
    for index, item in enumerate(data):
        source_id = str(item.get("conversation_id") or item.get("id") or f"{item.get('create_time')}:{index}")
        conversation = Conversation(session_id_for("openai-export", source_id))
        started = _utc(item.get("create_time")) or utcnow()
        for message in _main_path(item, skipped):
            _add_message(conversation, message, started, skipped)
        if not conversation.turns:
            skipped["conversation without text"] += 1
        conversations.append(conversation)
    return conversations, dict(skipped)


def _main_path(item: dict[str, Any], skipped: Counter[str]) -> list[dict[str, Any]]:
    """The messages from the root to `current_node` (else to the last child of each node), in order."""
    mapping = item.get("mapping")
    if not isinstance(mapping, dict) or not mapping:
        return []
    node_id = item.get("current_node")
    if node_id not in mapping:  # no current node recorded: follow the last child from the root
        roots = [key for key, node in mapping.items() if not (node or {}).get("parent")]
        node_id = roots[0] if roots else next(iter(mapping))
        while (mapping.get(node_id) or {}).get("children"):
            node_id = mapping[node_id]["children"][-1]
    path = []
    seen = set()
    while node_id in mapping and node_id not in seen:  # a cycle in a hand-edited file must not hang
        seen.add(node_id)
        node = mapping[node_id] or {}
        if node.get("message"):
            path.append(node["message"])
        node_id = node.get("parent")
    return list(reversed(path))


def _add_message(conversation: Conversation, message: dict[str, Any], started: datetime, skipped: Counter[str]) -> None:
    role = ((message.get("author") or {}).get("role")) or ""
    if role not in ("system", "user", "assistant"):
        skipped[f"{role or 'unknown'} message"] += 1
        return
    content = message.get("content") or {}
    if content.get("content_type") not in ("text", "multimodal_text"):
        skipped["non-text message"] += 1
        return
    texts = []
    for part in content.get("parts") or []:
        if isinstance(part, str):
            texts.append(part)
        else:
            skipped["non-text part"] += 1
    text = "\n".join(texts).strip()
    if not text:
        skipped["empty message"] += 1
        return
    at = _utc(message.get("create_time")) or started
    model = (message.get("metadata") or {}).get("model_slug") if role == "assistant" else None
    previous = conversation.turns[-1] if conversation.turns else None
    if previous is not None and previous["role"] == role:
        previous["content"] += "\n\n" + text
        return
    conversation.turns.append(_turn(role, text, at, model=model))


READERS: dict[str, Reader] = {"llm-logs": read_llm_logs, "openai-export": read_openai_export}
