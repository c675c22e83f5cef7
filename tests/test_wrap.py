"""`gz.dialogs.wrap`: a tiny scripted chat program run on a real pseudo-terminal (or with piped
input), its turns and transcript recorded on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gazette.app import Gazette
from gazette.dialogs import ExportOptions, WrapReport
from gazette.errors import InvalidInputError, NotFoundError
from gazette.store.tables import dialog_transcripts
from tests.terminal_user import PROMPT, REPL_COMMAND, Script, Step, TerminalUser

KEY = "sk-abcdefghijklmnop1234"


@pytest.fixture
def user() -> Iterator[TerminalUser]:
    terminal = TerminalUser(columns=100, rows=30)
    yield terminal
    terminal.close()


def on_terminal(gz: Gazette, user: TerminalUser, steps: list[Step], *args: str, **options: object) -> WrapReport:
    script = Script(user, steps)
    script.start()
    try:
        return gz.dialogs.wrap(
            gz.local_owner(), [*REPL_COMMAND, *args], stdin_fd=user.terminal, stdout_fd=user.terminal, **options
        )  # type: ignore[arg-type]
    finally:
        script.stop()


def piped(
    gz: Gazette, tmp_path: Path, lines: str, *args: str, program: list[str] = REPL_COMMAND, **options: object
) -> tuple[WrapReport, str]:
    """Run `program` with stdin read from a file and stdout written to one; (report, what was shown)."""
    source, shown = tmp_path / "in.txt", tmp_path / "out.txt"
    source.write_text(lines)
    with source.open("rb") as stdin, shown.open("wb") as stdout:
        report = gz.dialogs.wrap(
            gz.local_owner(), [*program, *args], stdin_fd=stdin.fileno(), stdout_fd=stdout.fileno(), **options
        )  # type: ignore[arg-type]
    return report, shown.read_bytes().decode()


def dialog(gz: Gazette, session: str) -> list[tuple[str, str]]:
    return [(turn.role, turn.content) for turn in gz.dialogs.get_session(gz.local_owner(), session).turns]


ANSWER = "You said: {}\nSecond line of the answer.\n\n  indented last line"


def test_a_terminal_session_passes_through_and_its_turns_and_transcript_are_recorded(
    gz: Gazette, user: TerminalUser
) -> None:
    before = termios.tcgetattr(user.terminal)
    steps = [
        (PROMPT, b"hello there\r"),
        (PROMPT, f"my key is {KEY}\r".encode()),
        (PROMPT, b"/bye\r"),
    ]
    report = on_terminal(gz, user, steps, "5")
    assert termios.tcgetattr(user.terminal) == before  # the user's terminal is as it was
    assert b"\x1b[36mYou said: hello there\x1b[0m" in user.shown  # the answer showed, colours and all
    assert (report.exit_code, report.turns, report.captured, report.new_session) == (5, 4, True, True)
    assert report.model == os.path.basename(REPL_COMMAND[0])  # the program's name
    assert report.session is not None
    assert dialog(gz, report.session) == [
        ("user", "hello there"),
        ("assistant", ANSWER.format("hello there")),
        ("user", "my key is ***"),
        ("assistant", ANSWER.format("my key is ***")),
    ]
    turns = gz.dialogs.get_session(gz.local_owner(), report.session).turns
    assert all(turn.latency_ms is not None and turn.latency_ms >= 0 for turn in turns if turn.role == "assistant")
    assert not any(turn.interrupted for turn in turns)
    [transcript] = gz.dialogs.list_transcripts(gz.local_owner(), report.session)
    assert transcript.command == [*REPL_COMMAND, "5"]
    assert (transcript.exit_code, transcript.bytes) == (5, report.transcript_bytes)
    assert "\x1b[1;32m>>> \x1b[0mhello there" in transcript.transcript  # raw: escapes and echo kept
    assert "my key is ***" in transcript.transcript
    assert KEY not in transcript.transcript
    assert transcript.started_at <= turns[0].timestamp <= turns[-1].timestamp <= transcript.ended_at


def test_the_window_size_is_copied_and_followed(gz: Gazette, user: TerminalUser) -> None:
    def resize_then_ask() -> bytes:
        user.resize(120, 40)
        os.kill(os.getpid(), signal.SIGWINCH)  # what the terminal sends its foreground when resized
        return b"/size\r"

    steps = [(PROMPT, b"/size\r"), (b"size 100x30", resize_then_ask), (b"size 120x40", b""), (PROMPT, b"/bye\r")]
    report = on_terminal(gz, user, steps)
    assert report.exit_code == 0


def test_piped_input_is_typed_a_line_at_a_time_and_recorded(gz: Gazette, tmp_path: Path) -> None:
    report, shown = piped(gz, tmp_path, "first question\nsecond question\n", "7")
    assert report.exit_code == 7  # at the end of input the program got Ctrl-D and exited
    assert "You said: first question" in shown
    assert report.session is not None
    assert dialog(gz, report.session) == [
        ("user", "first question"),
        ("assistant", ANSWER.format("first question")),
        ("user", "second question"),
        ("assistant", ANSWER.format("second question")),
    ]


def test_the_wrapped_program_sees_a_terminal_even_when_gazettes_are_files(gz: Gazette, tmp_path: Path) -> None:
    program = ["sh", "-c", "test -t 0 && test -t 1 && test -t 2 && echo terminal"]
    report, shown = piped(gz, tmp_path, "", program=program)
    assert (report.exit_code, shown) == (0, "terminal\r\n")
    assert (report.session, report.turns, report.model) == (None, 0, "sh")  # no question: nothing recorded


def test_a_program_that_crashes_mid_answer_has_the_answer_recorded_interrupted(gz: Gazette, tmp_path: Path) -> None:
    report, shown = piped(gz, tmp_path, "hi\n/crash\nnever sent\n")
    assert (report.exit_code, report.interrupted) == (3, True)
    assert shown.endswith("\x1b[33mhalf an ans")
    assert report.session is not None
    turns = gz.dialogs.get_session(gz.local_owner(), report.session).turns
    assert [(turn.content, turn.interrupted) for turn in turns[2:]] == [("/crash", False), ("half an ans", True)]


def test_ctrl_c_during_an_answer_records_it_interrupted(gz: Gazette, user: TerminalUser) -> None:
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a foreground shell job
    try:
        report = on_terminal(gz, user, [(PROMPT, b"a slow one\r"), (b"answer ", b"\x03")])
    finally:
        signal.signal(signal.SIGINT, inherited)
    assert report.exit_code == 128 + signal.SIGINT  # the program died of the Ctrl-C it was sent
    assert report.session is not None
    [question, answer] = gz.dialogs.get_session(gz.local_owner(), report.session).turns
    assert question.content == "a slow one"
    assert answer.interrupted
    assert answer.content.startswith("this answer")


def test_a_signal_to_gazette_goes_to_the_program_and_what_was_seen_is_recorded(gz: Gazette, user: TerminalUser) -> None:
    def terminate() -> bytes:
        os.kill(os.getpid(), signal.SIGTERM)  # as `kill` would: Gazette passes it on and waits
        return b""

    report = on_terminal(gz, user, [(PROMPT, b"hello\r"), (PROMPT, terminate)])
    assert report.exit_code == 128 + signal.SIGTERM
    assert report.session is not None
    assert dialog(gz, report.session) == [("user", "hello"), ("assistant", ANSWER.format("hello"))]
    assert not report.interrupted  # the program was back at its prompt


def test_a_passphrase_typed_without_echo_is_not_recorded(gz: Gazette, tmp_path: Path) -> None:
    report, _ = piped(gz, tmp_path, "correct horse battery\nhello\n", "--secret")
    assert report.session is not None
    assert dialog(gz, report.session) == [("user", "hello"), ("assistant", ANSWER.format("hello"))]
    [transcript] = gz.dialogs.list_transcripts(gz.local_owner(), report.session)
    assert "unlocked" in transcript.transcript
    assert "horse" not in transcript.transcript


def test_capture_off_runs_the_program_and_records_nothing(gz: Gazette, tmp_path: Path) -> None:
    report, shown = piped(gz, tmp_path, "hi\n", capture=False)
    assert "You said: hi" in shown
    assert (report.captured, report.capture_source, report.session, report.turns) == (False, "--no-capture", None, 0)
    gz.dialogs.set_capture(gz.local_owner(), enabled=False)
    report, _ = piped(gz, tmp_path, "hi\n")
    assert (report.captured, report.capture_source) == (False, "chosen with gazette training capture")
    assert gz.dialogs.list_sessions(gz.local_owner()) == []


def test_session_continues_one_and_delete_removes_its_transcripts(gz: Gazette, tmp_path: Path) -> None:
    first, _ = piped(gz, tmp_path, "one\n")
    assert first.session is not None
    again, _ = piped(gz, tmp_path, "two\n", session=first.session[:8], model="ollama:llama3.2")
    assert (again.session, again.new_session, again.model) == (first.session, False, "ollama:llama3.2")
    turns = gz.dialogs.get_session(gz.local_owner(), first.session).turns
    assert [(turn.turn_number, turn.content) for turn in turns if turn.role == "user"] == [(1, "one"), (3, "two")]
    assert len(gz.dialogs.list_transcripts(gz.local_owner(), first.session)) == 2
    gz.dialogs.delete_session(gz.local_owner(), first.session)
    with gz.store.begin() as conn:
        assert conn.execute(select(func.count()).select_from(dialog_transcripts)).scalar_one() == 0
    with pytest.raises(NotFoundError):
        gz.dialogs.list_transcripts(gz.local_owner(), first.session)


def test_wrapped_turns_are_exported_as_training_data(gz: Gazette, tmp_path: Path) -> None:
    piped(gz, tmp_path, "why is the sky blue?\n")
    out = io.StringIO()
    report = gz.dialogs.export(gz.local_owner(), ExportOptions(), out=out)
    assert (report.sessions, report.turns) == (1, 2)
    assert json.loads(out.getvalue())["messages"] == [
        {"role": "user", "content": "why is the sky blue?"},
        {"role": "assistant", "content": ANSWER.format("why is the sky blue?")},
    ]


def test_mistakes_are_refused_before_anything_runs(gz: Gazette, tmp_path: Path) -> None:
    owner = gz.local_owner()
    with pytest.raises(InvalidInputError, match="no command to wrap"):
        gz.dialogs.wrap(owner, [])
    with pytest.raises(InvalidInputError, match="exclude each other"):
        gz.dialogs.wrap(owner, REPL_COMMAND, session="abc", new=True)
    with pytest.raises(NotFoundError, match="no dialog session"):
        gz.dialogs.wrap(owner, REPL_COMMAND, session="abc")
    with pytest.raises(NotFoundError, match="no-such-program: command not found") as missing:
        gz.dialogs.wrap(owner, ["no-such-program", "--flag"])
    assert missing.value.details["exit_code"] == 127
    with pytest.raises(NotFoundError, match="no such file"):
        gz.dialogs.wrap(owner, [str(tmp_path / "missing")])
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(InvalidInputError, match="not an executable file") as refused:
        gz.dialogs.wrap(owner, [str(script)])
    assert refused.value.details["exit_code"] == 126
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    script.write_text("no shebang line\x00")
    with pytest.raises(InvalidInputError, match="cannot be executed") as failed:
        gz.dialogs.wrap(owner, [str(script)])
    assert failed.value.details["exit_code"] == 126
