"""Importing `llm` log databases and ChatGPT exports through `gz.dialogs.import_dialogs` and
`gazette training import`, on SQLite and PostgreSQL, from real files built here."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gazette.app import Gazette
from gazette.cli import main
from gazette.errors import InvalidInputError
from gazette.settings import load_settings
from tests.test_dialog_export import export

LLM_SCHEMA = """
CREATE TABLE conversations (id TEXT PRIMARY KEY, name TEXT, model TEXT);
CREATE TABLE responses (
    id TEXT PRIMARY KEY, model TEXT, prompt TEXT, system TEXT, prompt_json TEXT, options_json TEXT,
    response TEXT, response_json TEXT, conversation_id TEXT REFERENCES conversations(id),
    duration_ms INTEGER, datetime_utc TEXT, input_tokens INTEGER, output_tokens INTEGER, token_details TEXT
);
"""


@pytest.fixture
def gz(store_url: str) -> Iterator[Gazette]:
    loaded = load_settings(store={"url": store_url}, training={"capture": False})
    gazette = Gazette(loaded.settings, loaded=loaded)
    yield gazette
    gazette.close()


def llm_logs(path: Path, responses: list[dict[str, Any]]) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(LLM_SCHEMA)
    conn.execute("INSERT INTO conversations VALUES ('c1', 'sky', 'gpt-4o-mini')")
    for response in responses:
        conn.execute(
            "INSERT INTO responses (id, model, prompt, system, response, conversation_id, duration_ms, datetime_utc,"
            " input_tokens, output_tokens) VALUES (:id, :model, :prompt, :system, :response, :conversation_id,"
            " :duration_ms, :datetime_utc, :input_tokens, :output_tokens)",
            {
                "model": "gpt-4o-mini",
                "system": None,
                "conversation_id": "c1",
                "duration_ms": 900,
                "input_tokens": 12,
                "output_tokens": 30,
                **response,
            },
        )
    conn.commit()
    conn.close()
    return path


LLM_RESPONSES = [
    {"id": "r1", "prompt": "Why is the sky blue?", "system": "Be brief.", "response": "Rayleigh scattering.",
     "datetime_utc": "2025-03-01T10:00:00.000001"},
    {"id": "r2", "prompt": "And red at dusk? token=hunter22", "system": "Be brief.", "response": "Longer path.",
     "datetime_utc": "2025-03-01T10:01:00"},
    {"id": "r3", "prompt": "Alone", "response": "yes", "conversation_id": None, "datetime_utc": "2025-03-02T09:00:00"},
    {"id": "r4", "prompt": "no answer", "response": "", "conversation_id": None, "datetime_utc": "2025-03-02T09:05:00"},
]  # fmt: skip


def test_an_llm_log_database_becomes_sessions_of_questions_and_answers(gz: Gazette, tmp_path: Path) -> None:
    path = llm_logs(tmp_path / "logs.db", LLM_RESPONSES)
    before = path.read_bytes()
    report = gz.dialogs.import_dialogs(gz.local_owner(), "llm-logs", path)
    assert (report.sessions, report.turns, report.existing) == (2, 7, 0)
    assert report.skipped == {"empty prompt or response": 1}
    assert path.read_bytes() == before  # opened read-only
    sessions = gz.dialogs.list_sessions(gz.local_owner())
    assert [s.title for s in sessions] == ["Alone", "Why is the sky blue?"]
    turns = gz.dialogs.get_session(gz.local_owner(), sessions[1].id).turns
    assert [(t.role, t.content) for t in turns] == [
        ("system", "Be brief."),
        ("user", "Why is the sky blue?"),
        ("assistant", "Rayleigh scattering."),
        ("user", "And red at dusk? token=***"),  # redacted like a captured turn
        ("assistant", "Longer path."),
    ]
    assert (turns[2].model, turns[2].tokens_used, turns[2].latency_ms) == ("gpt-4o-mini", 30, 900)
    assert turns[1].timestamp.isoformat() == "2025-03-01T10:00:00.000001+00:00"
    lines, _ = export(gz)
    assert [len(line["messages"]) for line in lines] == [5, 2]


def test_importing_the_same_file_again_adds_only_new_conversations(gz: Gazette, tmp_path: Path) -> None:
    path = llm_logs(tmp_path / "logs.db", LLM_RESPONSES[:1])
    gz.dialogs.import_dialogs(gz.local_owner(), "llm-logs", path)
    again = gz.dialogs.import_dialogs(gz.local_owner(), "llm-logs", path)
    assert (again.sessions, again.turns, again.existing) == (0, 0, 1)
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO responses (id, model, prompt, response, conversation_id, datetime_utc)"
        " VALUES ('r9', 'm', 'new one', 'new answer', NULL, '2025-04-01T00:00:00')"
    )
    conn.commit()
    conn.close()
    third = gz.dialogs.import_dialogs(gz.local_owner(), "llm-logs", path)
    assert (third.sessions, third.turns, third.existing) == (1, 2, 1)
    assert gz.dialogs.capture_state(gz.local_owner()).sessions == 2


def chatgpt_conversation(conversation_id: str) -> dict[str, Any]:
    """A conversation with an empty root system message, a tool call, an image part and an edited branch."""

    def node(node_id: str, parent: str | None, children: list[str], role: str | None, *parts: Any) -> dict[str, Any]:
        message = None
        if role is not None:
            content_type = "text" if all(isinstance(p, str) for p in parts) else "multimodal_text"
            message = {
                "author": {"role": role},
                "content": {"content_type": content_type, "parts": list(parts)},
                "create_time": 1_700_000_000 + len(node_id),
                "metadata": {"model_slug": "gpt-4o"} if role == "assistant" else {},
            }
        return {"id": node_id, "message": message, "parent": parent, "children": children}

    mapping = {
        "root": node("root", None, ["sys"], None),
        "sys": node("sys", "root", ["u1"], "system", ""),
        "u1": node("u1", "sys", ["a1-old", "a1"], "user", "Plot this", {"content_type": "image_asset_pointer"}),
        "a1-old": node("a1-old", "u1", [], "assistant", "the old branch"),
        "a1": node("a1", "u1", ["t1"], "assistant", "Let me run code."),
        "t1": node("t1", "a1", ["a2"], "tool", "exit 0"),
        "a2": node("a2", "t1", ["u2"], "assistant", "Here it is, ada@example.org."),
        "u2": node("u2", "a2", [], "user", "Thanks"),
    }
    return {
        "title": "Plotting",
        "create_time": 1_700_000_000.5,
        "conversation_id": conversation_id,
        "current_node": "u2",
        "mapping": mapping,
    }


def test_a_chatgpt_export_follows_the_current_branch_and_keeps_only_text(gz: Gazette, tmp_path: Path) -> None:
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([chatgpt_conversation("abc")]))
    report = gz.dialogs.import_dialogs(gz.local_owner(), "openai-export", path)
    assert (report.sessions, report.turns) == (1, 3)
    assert report.skipped == {"empty message": 1, "non-text part": 1, "tool message": 1}
    [session] = gz.dialogs.list_sessions(gz.local_owner())
    turns = gz.dialogs.get_session(gz.local_owner(), session.id).turns
    assert [(t.role, t.content) for t in turns] == [
        ("user", "Plot this"),
        ("assistant", "Let me run code.\n\nHere it is, ada@example.org."),
        ("user", "Thanks"),
    ]
    assert turns[1].model == "gpt-4o"
    again = gz.dialogs.import_dialogs(gz.local_owner(), "openai-export", path)
    assert (again.sessions, again.existing) == (0, 1)
    [line], report = export(gz, anonymize=True)
    assert line["messages"][1]["content"].endswith("Here it is, <email>.")
    assert report.dropped["unanswered question"].count == 1


def bad_files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "text.db").write_text("not a database at all, just text " * 10)
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE notes (id INTEGER)")
    other.commit()
    other.close()
    old = sqlite3.connect(tmp_path / "old.db")
    old.execute("CREATE TABLE responses (id TEXT, prompt TEXT)")
    old.commit()
    old.close()
    (tmp_path / "broken.json").write_text('[{"mapping": ')
    (tmp_path / "dict.json").write_text('{"conversations": []}')
    return {name: tmp_path / name for name in ("text.db", "other.db", "old.db", "broken.json", "dict.json")}


@pytest.mark.parametrize(
    ("source", "name", "message"),
    [
        ("llm-logs", "missing.db", "no such file"),
        ("llm-logs", "text.db", "is not an llm log database"),
        ("llm-logs", "other.db", "has no responses table"),
        ("llm-logs", "old.db", "the responses table lacks model, system, response"),
        ("openai-export", "missing.json", "no such file"),
        ("openai-export", "broken.json", "is not valid JSON"),
        ("openai-export", "dict.json", "expected a list of conversations"),
    ],
)
def test_a_bad_file_is_refused_with_one_clear_error_and_nothing_imported(
    gz: Gazette, tmp_path: Path, source: Any, name: str, message: str
) -> None:
    bad_files(tmp_path)
    with pytest.raises(InvalidInputError, match=message):
        gz.dialogs.import_dialogs(gz.local_owner(), source, tmp_path / name)
    assert gz.dialogs.capture_state(gz.local_owner()).turns == 0


def test_the_cli_imports_and_reports_and_refuses_a_bad_file_in_one_line(
    gz: Gazette, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAZETTE_STORE__URL", store_url)
    path = llm_logs(tmp_path / "logs.db", LLM_RESPONSES)
    assert run(["training", "import", "--from", "llm-logs", str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["sessions"] == 2
    assert run(["training", "import", "--from", "llm-logs", str(path)]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith(f"Imported 0 sessions (0 turns) from {path}; 2 sessions imported before")
    assert run(["training", "import", "--from", "openai-export", str(path)]) != 0
    out, err = capsys.readouterr()
    assert (out, err.count("\n")) == ("", 1)
    assert err.startswith(f"error: {path} is not valid JSON")


def run(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0
