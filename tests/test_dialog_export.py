"""Training export through `gz.dialogs.export` and `gazette training export`, on SQLite and PostgreSQL,
with turns captured by a real `ask` against a local Ollama-speaking server or recorded directly."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from gazette.app import Gazette
from gazette.auth import Principal
from gazette.cli import main
from gazette.dialogs import ExportOptions, ExportReport
from gazette.errors import ConflictError, InvalidInputError, NotFoundError
from gazette.store.tables import terminal_dialogs, training_datasets
from tests.model_servers import ANSWER, ModelServer
from tests.test_dialogs import ask, make_gazette


@pytest.fixture
def ollama() -> Iterator[ModelServer]:
    server = ModelServer("ollama").listen()
    yield server
    server.stop()


@pytest.fixture
def gz(store_url: str, ollama: ModelServer) -> Iterator[Gazette]:
    gazette = make_gazette(store_url, ollama, training={"capture": True})
    yield gazette
    gazette.close()


def session_of(gz: Gazette, *turns: tuple[str, str] | tuple[str, str, bool]) -> str:
    """Record (role, content[, interrupted]) turns as one new session; returns its id."""
    owner = gz.local_owner()
    session: str | None = None
    for role, content, *interrupted in turns:
        turn = gz.dialogs.record_turn(
            owner,
            role=role,  # type: ignore[arg-type]
            content=content,
            session=session,
            interrupted=bool(interrupted and interrupted[0]),
        )
        assert turn is not None
        session = turn.session
    assert session is not None
    return session


def export(gz: Gazette, principal: Principal | None = None, **options: Any) -> tuple[list[Any], ExportReport]:
    out = io.StringIO()
    report = gz.dialogs.export(principal or gz.local_owner(), ExportOptions(**options), out=out)
    return [json.loads(line) for line in out.getvalue().splitlines()], report


def move_session(gz: Gazette, session: str, when: datetime) -> None:
    with gz.store.begin() as conn:
        conn.execute(update(terminal_dialogs).where(terminal_dialogs.c.session_id == session).values(timestamp=when))


# --------------------------------------------------------------------------- acceptance


def test_turns_captured_by_ask_are_exported_as_chat_jsonl(gz: Gazette, tmp_path: Path) -> None:
    ask(gz, "Why is the sky blue?", new=True, system="Be brief.")
    ask(gz, "And at sunset?")
    target = tmp_path / "train.jsonl"
    report = gz.dialogs.export(gz.local_owner(), ExportOptions(format="jsonl"), path=target)
    [line] = target.read_text().splitlines()
    assert json.loads(line) == {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Why is the sky blue?"},
            {"role": "assistant", "content": ANSWER},
            {"role": "user", "content": "And at sunset?"},
            {"role": "assistant", "content": ANSWER},
        ]
    }
    assert (report.sessions, report.turns, report.skipped, report.dropped) == (1, 4, {}, {})
    assert report.path == str(target)
    with gz.store.begin() as conn:
        row = conn.execute(select(training_datasets)).one()
    assert (row.id, row.format, row.path, row.sessions, row.turns) == (report.dataset_id, "jsonl", str(target), 1, 4)
    assert row.session_ids == [gz.dialogs.list_sessions(gz.local_owner())[0].id]
    assert row.skipped == {"sessions": {}, "pairs": {}}
    assert row.user_id == gz.local_owner().user


def test_the_cli_writes_the_file_and_prints_the_summary_as_json(
    gz: Gazette, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    session_of(gz, ("user", "q"), ("assistant", "a"))
    monkeypatch.setenv("GAZETTE_STORE__URL", store_url)
    target = tmp_path / "out.jsonl"
    code = run(["training", "export", "--format", "jsonl", "-o", str(target), "--json"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    summary = json.loads(out)
    assert (summary["sessions"], summary["turns"], summary["path"]) == (1, 2, str(target))
    assert json.loads(target.read_text()) == {
        "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    }


def run(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "21/11/2026"], "error: --from '21/11/2026' is not a date: write YYYY-MM-DD"),
        (["--from", "2026-11-22", "--to", "2026-11-21"], "error: --from 2026-11-22 is after --to 2026-11-21"),
        (["--session", "nope"], "error: no dialog session 'nope'"),
    ],
)
def test_the_cli_refuses_bad_input_in_one_line(
    gz: Gazette,
    store_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("GAZETTE_STORE__URL", store_url)
    code = run(["training", "export", *args])
    out, err = capsys.readouterr()
    assert code != 0
    assert out == ""
    assert err.startswith(message)
    assert err.count("\n") == 1


# --------------------------------------------------------------------------- selecting


def test_sessions_are_taken_by_the_day_their_first_turn_was_written_inclusive(gz: Gazette) -> None:
    early = session_of(gz, ("user", "early"), ("assistant", "a"))
    middle = session_of(gz, ("user", "middle"), ("assistant", "a"))
    late = session_of(gz, ("user", "late"), ("assistant", "a"))
    move_session(gz, early, datetime(2026, 1, 1, 23, 59, tzinfo=UTC))
    move_session(gz, middle, datetime(2026, 1, 2, 0, 0, tzinfo=UTC))
    move_session(gz, late, datetime(2026, 1, 3, 23, 59, 59, tzinfo=UTC))
    questions = lambda lines: [line["messages"][0]["content"] for line in lines]  # noqa: E731
    assert questions(export(gz, date_from="2026-01-02")[0]) == ["middle", "late"]
    assert questions(export(gz, date_to="2026-01-02")[0]) == ["early", "middle"]
    assert questions(export(gz, date_from="2026-01-03", date_to="2026-01-03")[0]) == ["late"]
    assert export(gz, date_from="2026-02-01")[0] == []


def test_model_and_session_filters_pick_the_sessions(gz: Gazette) -> None:
    ask(gz, "asked llama", new=True)
    other = session_of(gz, ("user", "recorded"), ("assistant", "a"))
    for model in ("llama", "ollama:llama3.2"):  # the route or the provider:model
        lines, _ = export(gz, model=model)
        assert [line["messages"][0]["content"] for line in lines] == ["asked llama"]
    assert export(gz, model="gpt-4o")[0] == []
    lines, _ = export(gz, session=other[:8])
    assert [line["messages"][0]["content"] for line in lines] == ["recorded"]
    with pytest.raises(NotFoundError):
        export(gz, session="0" * 32)


def test_deleted_sessions_and_other_users_sessions_are_not_exported(gz: Gazette) -> None:
    from tests.test_dialogs import person

    gone = session_of(gz, ("user", "deleted"), ("assistant", "a"))
    gz.dialogs.delete_session(gz.local_owner(), gone)
    gz.dialogs.record_turn(person("bob"), role="user", content="bob's")
    assert export(gz)[0] == []
    assert export(gz, person("bob"))[1].skipped["no complete question and answer"].count == 1


# --------------------------------------------------------------------------- validation


def test_invalid_sessions_are_skipped_and_reported_by_reason_with_examples(gz: Gazette) -> None:
    good = session_of(gz, ("user", "q"), ("assistant", "a"))
    two_questions = session_of(gz, ("user", "q"), ("user", "q again"), ("assistant", "a"))
    answer_first = session_of(gz, ("assistant", "hello"), ("user", "q"), ("assistant", "a"))
    blank = session_of(gz, ("user", "   "), ("assistant", "a"))
    only_interrupted = session_of(gz, ("user", "q"), ("assistant", "half", True))
    systems = session_of(gz, ("system", "one"), ("user", "q"), ("assistant", "a"), ("system", "two"))
    lines, report = export(gz)
    assert len(lines) == report.sessions == 1
    assert report.skipped == {
        "roles do not alternate user/assistant": _skipped(two_questions, answer_first),
        "empty content": _skipped(blank),
        "no complete question and answer": _skipped(only_interrupted),
        "system prompt changes within the session": _skipped(systems),
    }
    with gz.store.begin() as conn:
        row = conn.execute(select(training_datasets)).one()
    assert row.session_ids == [good]
    assert row.skipped["sessions"]["empty content"] == {"count": 1, "examples": [blank]}


def _skipped(*sessions: str) -> Any:
    from gazette.dialogs import Skipped

    return Skipped(count=len(sessions), examples=list(sessions))


def test_an_interrupted_pair_and_a_last_unanswered_question_are_dropped_and_the_rest_kept(gz: Gazette) -> None:
    session = session_of(
        gz,
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2"),
        ("assistant", "half", True),
        ("user", "q3"),
        ("assistant", "a3"),
        ("user", "q4"),
    )
    [line], report = export(gz)
    assert [m["content"] for m in line["messages"]] == ["q1", "a1", "q3", "a3"]
    assert report.turns == 4
    assert {reason: entry.count for reason, entry in report.dropped.items()} == {
        "interrupted answer": 1,
        "unanswered question": 1,
    }
    assert report.dropped["interrupted answer"].examples == [session]


def test_a_repeated_system_prompt_is_written_once_and_system_replaces_or_removes_it(gz: Gazette) -> None:
    session_of(
        gz, ("system", "S"), ("user", "q1"), ("assistant", "a1"), ("system", "S"), ("user", "q2"), ("assistant", "a2")
    )
    [line], _ = export(gz)
    assert [m["role"] for m in line["messages"]] == ["system", "user", "assistant", "user", "assistant"]
    assert export(gz, system="You are terse.")[0][0]["messages"][0] == {"role": "system", "content": "You are terse."}
    assert export(gz, system="")[0][0]["messages"][0]["role"] == "user"


# --------------------------------------------------------------------------- formats and privacy


def test_sharegpt_names_the_speakers_human_and_gpt(gz: Gazette) -> None:
    session_of(gz, ("system", "S"), ("user", "q"), ("assistant", "a"))
    [line], _ = export(gz, format="sharegpt")
    assert line == {
        "conversations": [
            {"from": "system", "value": "S"},
            {"from": "human", "value": "q"},
            {"from": "gpt", "value": "a"},
        ]
    }


def test_parquet_holds_the_same_messages(gz: Gazette, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    session_of(gz, ("user", "q"), ("assistant", "a"))
    target = tmp_path / "train.parquet"
    gz.dialogs.export(gz.local_owner(), ExportOptions(format="parquet"), path=target)
    assert pq.read_table(target).to_pylist() == [
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    ]
    with pytest.raises(InvalidInputError, match="parquet is binary"):
        export(gz, format="parquet")


def test_secrets_never_leave_and_anonymize_masks_who_and_where(gz: Gazette) -> None:
    session_of(gz, ("user", "mail ada@example.org from 10.1.2.3 in /home/ada/src"), ("assistant", "ok"))
    # A secret stored before redaction knew its format: the export redacts again.
    with gz.store.begin() as conn:
        conn.execute(
            update(terminal_dialogs)
            .where(terminal_dialogs.c.role == "assistant")
            .values(content=f"key sk-proj-{'x' * 24}")
        )
    [plain], _ = export(gz)
    assert plain["messages"][1]["content"] == "key ***"
    assert plain["messages"][0]["content"] == "mail ada@example.org from 10.1.2.3 in /home/ada/src"
    [masked], _ = export(gz, anonymize=True)
    assert masked["messages"][0]["content"] == "mail <email> from <ip> in /home/<user>/src"


# --------------------------------------------------------------------------- writing


def test_an_existing_file_is_refused_without_force_and_replaced_with_it(gz: Gazette, tmp_path: Path) -> None:
    session_of(gz, ("user", "q"), ("assistant", "a"))
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "train.jsonl"
    target.write_text("keep me\n")
    with pytest.raises(ConflictError, match="pass --force"):
        gz.dialogs.export(gz.local_owner(), ExportOptions(), path=target)
    assert target.read_text() == "keep me\n"
    gz.dialogs.export(gz.local_owner(), ExportOptions(), path=target, force=True)
    assert json.loads(target.read_text())["messages"][0]["content"] == "q"
    assert [p.name for p in folder.iterdir()] == ["train.jsonl"]


def test_a_failure_while_writing_leaves_no_file_behind(gz: Gazette, tmp_path: Path) -> None:
    for i in range(3):
        session_of(gz, ("user", f"q{i}"), ("assistant", "a"))
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "train.jsonl"

    def fail_midway(done: int, total: int) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        gz.dialogs.export(gz.local_owner(), ExportOptions(), path=target, progress=fail_midway)
    assert list(folder.iterdir()) == []
    with gz.store.begin() as conn:
        assert conn.execute(select(training_datasets)).all() == []


def test_a_missing_directory_is_refused(gz: Gazette, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="is not a directory"):
        gz.dialogs.export(gz.local_owner(), ExportOptions(), path=tmp_path / "no" / "train.jsonl")
