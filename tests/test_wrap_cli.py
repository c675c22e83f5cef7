"""`gazette training wrap` as a user meets it: the console command on a real pseudo-terminal and
with piped input, wrapping a tiny scripted chat program; `gazette dialogs show --transcript`."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from tests.servers import gazette_command
from tests.terminal_user import PROMPT, REPL_COMMAND, WAIT_SECONDS, TerminalUser
from tests.test_ask_cli import run

KEY = "sk-abcdefghijklmnop1234"
SUMMARY = re.compile(
    r"gazette: session (?P<session>[0-9a-f]{32}) \(new\) · (?P<turns>\d+) turns recorded · "
    r"transcript (?P<bytes>\d+) bytes\n"
)


def wrap_piped(*args: str, lines: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        gazette_command("training", "wrap", *args), input=lines, capture_output=True, timeout=WAIT_SECONDS
    )


def test_on_a_terminal_the_program_passes_through_and_one_summary_line_follows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    user = TerminalUser()
    try:
        process = subprocess.Popen(
            gazette_command("training", "wrap", "--", *REPL_COMMAND, "5"),
            stdin=user.terminal,
            stdout=user.terminal,
            stderr=subprocess.PIPE,
            env={**os.environ, "TERM": "xterm"},
        )
        for line in (b"hello there\r", f"my key is {KEY}\r".encode(), b"/bye\r"):
            user.expect(PROMPT)
            user.type(line)
        _, err = process.communicate(timeout=WAIT_SECONDS)
        assert process.returncode == 5  # the program's exit code
    finally:
        user.close()
    assert b"\x1b[36mYou said: hello there\x1b[0m" in user.shown
    summary = SUMMARY.fullmatch(err.decode())
    assert summary is not None, err
    assert summary["turns"] == "4"
    session = summary["session"]

    code, out, err = run(capsys, "dialogs", "show", session, "--transcript")
    assert code == 0
    assert "\x1b[1;32m>>> \x1b[0mhello there" in out  # raw, as the program showed it
    assert "my key is ***" in out
    assert KEY not in out
    assert err.startswith(f"# {' '.join(REPL_COMMAND)} 5 · ")
    assert err.endswith(f" · exit 5 · {summary['bytes']} bytes\n")
    shown = json.loads(run(capsys, "dialogs", "show", session, "--transcript", "--json")[1])
    assert [(item["exit_code"], item["bytes"]) for item in shown] == [(5, int(summary["bytes"]))]

    assert run(capsys, "dialogs", "delete", session)[0] == 0
    assert run(capsys, "dialogs", "list", "--json")[1] == "[]\n"


def test_piped_input_works_and_json_summarises_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    result = wrap_piped("--json", "--model", "my-model", "--", *REPL_COMMAND, lines=b"why is the sky blue?\n")
    assert result.returncode == 0
    assert b"You said: why is the sky blue?" in result.stdout
    report = json.loads(result.stderr)
    assert {key: report[key] for key in ("model", "turns", "captured", "exit_code", "new_session")} == {
        "model": "my-model",
        "turns": 2,
        "captured": True,
        "exit_code": 0,
        "new_session": True,
    }
    code, out, _ = run(capsys, "training", "export")
    assert code == 0
    assert [message["content"] for message in json.loads(out)["messages"]][:1] == ["why is the sky blue?"]


def test_capture_off_runs_the_program_and_says_so_once(capsys: pytest.CaptureFixture[str]) -> None:
    # Without --, options after the program are the program's own (--secret asks for a passphrase).
    result = wrap_piped("--no-capture", *REPL_COMMAND, "--secret", lines=b"pass phrase\nhi\n")
    assert result.returncode == 0
    assert b"passphrase: " in result.stdout
    assert b"You said: hi" in result.stdout
    assert result.stderr == b"gazette: nothing recorded: capture is off (--no-capture).\n"
    assert run(capsys, "dialogs", "list", "--json")[1] == "[]\n"


def test_a_session_without_a_transcript_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    from gazette.app import Gazette

    gz = Gazette.from_settings()
    try:
        turn = gz.dialogs.record_turn(gz.local_owner(), role="user", content="typed elsewhere")
    finally:
        gz.close()
    assert turn is not None
    code, out, err = run(capsys, "dialogs", "show", turn.session, "--transcript")
    assert (code, out) == (0, "")
    assert err == "This session has no transcript: only gazette training wrap keeps one.\n"


def test_help_explains_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "training", "wrap", "--help")
    assert code == 0
    assert "gazette training wrap -- ollama run llama3.2" in out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([], 1, "error: no command to wrap: give one after --, e.g. gazette training wrap -- ollama run llama3.2\n"),
        (["--", "no-such-program", "-x"], 127, "error: no-such-program: command not found (not on PATH)\n"),
        (["--", "/etc"], 126, "error: /etc: not an executable file\n"),
        (["--session", "abc", "--new", "--", "true"], 1, "error: --session and --new exclude each other: "),
    ],
    ids=["no command", "not found", "not executable", "session and new"],
)
def test_mistakes_are_one_line_with_a_shells_exit_code(
    capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str
) -> None:
    exit_code, out, err = run(capsys, "training", "wrap", *args)
    assert (exit_code, out) == (code, "")
    assert err.startswith(message)
    assert len(err.splitlines()) == 1
