"""Reading Simon Willison's `llm` log database (logs.db), read-only, for the dialog import.

Its `responses` table holds one prompt and response per row (id, model, prompt, system, response,
conversation_id, datetime_utc, input_tokens, output_tokens, duration_ms); `conversations` names them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from gazette.errors import InvalidInputError

RESPONSE_COLUMNS = (
    "id",
    "model",
    "prompt",
    "system",
    "response",
    "conversation_id",
    "datetime_utc",
    "input_tokens",
    "output_tokens",
    "duration_ms",
)


def read_responses(path: Path) -> list[dict[str, Any]]:
    """Every response, oldest first, with its conversation's name as `conversation_name`.

    Raises:
        InvalidInputError: the file is missing, is not SQLite, or has no `llm` responses table.
    """
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such file (llm keeps it at `llm logs path`)")
    try:
        # mode=ro: the other tool's database is never written, not even its journal.
        conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InvalidInputError(f"{path}: cannot open it as SQLite ({exc})") from None
    try:
        conn.row_factory = sqlite3.Row
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "responses" not in tables:
            raise InvalidInputError(f"{path} is not an llm log database: it has no responses table")
        columns = {row[1] for row in conn.execute("PRAGMA table_info(responses)")}
        missing = [name for name in RESPONSE_COLUMNS if name not in columns]
        if missing:
            raise InvalidInputError(f"{path}: the responses table lacks {', '.join(missing)}: not an llm log database")
        selected = ", ".join(f"r.{name}" for name in RESPONSE_COLUMNS)
        name = "c.name" if "conversations" in tables else "NULL"
        join = "LEFT JOIN conversations c ON c.id = r.conversation_id" if "conversations" in tables else ""
        query = (
            f"SELECT {selected}, {name} AS conversation_name FROM responses r {join} ORDER BY r.datetime_utc, r.rowid"  # noqa: S608  # fixed names
        )
        return [dict(row) for row in conn.execute(query)]
    except sqlite3.DatabaseError as exc:
        raise InvalidInputError(f"{path} is not an llm log database ({exc})") from None
    finally:
        conn.close()
