"""`gazette ask`, `gazette dialogs`, `gazette training` as a user meets them: in process, as a subprocess,
on a pseudo-terminal, and stopped with Ctrl-C; against a real local Ollama-speaking server."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gazette.app import Gazette
from gazette.cli import main
from tests.model_servers import ANSWER, ModelServer
from tests.servers import gazette_command


@pytest.fixture
def ollama(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelServer]:
    server = ModelServer("ollama").listen()
    # The seed's variable, as a user sets it.
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    yield server
    server.stop()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> object:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def sessions(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    listed = run_json(capsys, "dialogs", "list")
    assert isinstance(listed, list)
    return listed


def test_ask_prints_the_answer_when_piped_and_records_both_turns(
    capsys: pytest.CaptureFixture[str], ollama: ModelServer, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAZETTE_STORE__URL", store_url)
    code, out, err = run(capsys, "ask", "explain git rebase", "--model", "llama3.2")
    assert (code, out, err) == (0, f"{ANSWER}\n", "")
    [session] = sessions(capsys)
    assert (session["turns"], session["title"], session["model"]) == (2, "explain git rebase", "ollama:llama3.2:latest")
    shown = run_json(capsys, "dialogs", "show", str(session["id"]))
    assert isinstance(shown, dict)
    assert [(turn["role"], turn["content"]) for turn in shown["turns"]] == [
        ("user", "explain git rebase"),
        ("assistant", ANSWER),
    ]


def test_ask_json_is_one_object_with_the_answer_usage_and_session(
    capsys: pytest.CaptureFixture[str], ollama: ModelServer
) -> None:
    answer = run_json(capsys, "ask", "explain git rebase", "-m", "llama3.2")
    assert isinstance(answer, dict)
    assert {key: answer[key] for key in ("answer", "model", "prompt_tokens", "completion_tokens", "captured")} == {
        "answer": ANSWER,
        "model": "ollama:llama3.2:latest",
        "prompt_tokens": 31,
        "completion_tokens": 10,
        "captured": True,
    }
    assert answer["new_session"] is True
    assert answer["latency_ms"] >= answer["first_token_ms"] >= 0
    again = run_json(capsys, "ask", "and merge?", "-m", "llama3.2")
    assert isinstance(again, dict)
    assert (again["session"], again["new_session"]) == (answer["session"], False)
    fresh = run_json(capsys, "ask", "something else", "-m", "llama3.2", "--new")
    assert isinstance(fresh, dict)
    assert fresh["session"] != answer["session"]


def test_no_capture_records_nothing(capsys: pytest.CaptureFixture[str], ollama: ModelServer) -> None:
    answer = run_json(capsys, "ask", "off the record", "-m", "llama3.2", "--no-capture")
    assert isinstance(answer, dict)
    assert (answer["answer"], answer["captured"]) == (ANSWER, False)
    assert sessions(capsys) == []


def test_training_capture_disable_status_and_enable(capsys: pytest.CaptureFixture[str], ollama: ModelServer) -> None:
    code, out, _ = run(capsys, "training", "capture", "--status")
    assert (code, out) == (0, "Capture is on (setting training.capture (default)); 0 sessions, 0 turns recorded.\n")
    code, out, _ = run(capsys, "training", "capture", "--disable")
    assert out.startswith("Capture is off (chosen with gazette training capture, ")
    assert run_json(capsys, "ask", "private", "-m", "llama3.2")["captured"] is False  # type: ignore[index]
    state = run_json(capsys, "training", "capture")
    assert isinstance(state, dict)
    assert (state["enabled"], state["source"], state["turns"]) == (False, "chosen with gazette training capture", 0)
    run(capsys, "training", "capture", "--enable")
    run(capsys, "ask", "recorded", "-m", "llama3.2")
    code, out, _ = run(capsys, "training", "capture", "--status")
    assert out.endswith("1 session, 2 turns recorded.\n")


def test_training_capture_takes_one_flag(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "training", "capture", "--enable", "--disable")
    assert code == 2
    assert "give one of --enable, --disable, --status" in err


def test_training_inject_prints_the_block_and_json_tells_the_counts(
    capsys: pytest.CaptureFixture[str], ollama: ModelServer
) -> None:
    code, out, err = run(capsys, "training", "inject")
    assert (code, out, err) == (0, "", "No captured turns fit: nothing to inject.\n")
    for question in ("first question", "second question"):
        run(capsys, "ask", question, "-m", "llama3.2")
    code, out, err = run(capsys, "training", "inject", "--last", "3", "--budget", "60")
    assert code == 0
    assert out.startswith("Earlier dialog, oldest first (")
    assert out.rstrip("\n").endswith(f"): {ANSWER}")
    assert "first question" not in out
    assert err.endswith("of 60 tokens\n")
    block = run_json(capsys, "training", "inject", "--last", "4", "--budget", "500")
    assert isinstance(block, dict)
    assert (block["considered"], block["included"], block["left_out"], block["budget"]) == (4, 4, 0, 500)
    session = sessions(capsys)[0]["id"]
    only = run_json(capsys, "training", "inject", "--session", str(session)[:8], "--last", "1")
    assert only["included"] == 1  # type: ignore[index]


def test_a_question_of_dash_is_read_from_stdin(ollama: ModelServer) -> None:
    piped = subprocess.run(
        gazette_command("ask", "-", "-m", "llama3.2", "--json"),
        input="explain git rebase\nin two lines\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout)["answer"] == ANSWER
    assert ollama.chats()[-1].body["messages"][-1]["content"] == "explain git rebase\nin two lines\n"
    empty = subprocess.run(gazette_command("ask", "-", "-m", "llama3.2"), input="", capture_output=True, text=True)
    assert empty.returncode == 1
    assert empty.stderr.startswith("error: the prompt is empty")


def test_training_distill_summarises_older_turns_that_inject_then_leads_with(
    capsys: pytest.CaptureFixture[str], ollama: ModelServer
) -> None:
    for question in ("first question", "second question", "third question"):
        run(capsys, "ask", question, "-m", "llama3.2")
    session = str(sessions(capsys)[0]["id"])
    code, out, err = run(capsys, "training", "distill", session[:8])
    assert code == 1
    assert "no distill model: give --model, or set training.distill_model" in err
    code, out, err = run(capsys, "training", "distill", session[:8], "--model", "qwen2.5:7b", "--budget", "60")
    assert (code, out) == (0, f"{ANSWER}\n"), err
    assert err.startswith("Distilled ")
    assert "by ollama:qwen2.5:7b" in err
    assert ollama.chats()[-1].body["model"] == "qwen2.5:7b"
    again = run_json(capsys, "training", "distill", session, "--model", "qwen2.5:7b", "--budget", "60")
    assert isinstance(again, dict)
    assert again["created"] is False
    assert again["summary"]["content"] == ANSWER
    block = run_json(capsys, "training", "inject", "--session", session, "--budget", "60")
    assert isinstance(block, dict)
    assert block["summary_through"] == again["summary"]["through_turn"]
    assert block["text"].startswith(f"Summary of turns 1–{block['summary_through']} (distilled by ollama:qwen2.5:7b")


def test_with_history_sends_the_block_to_the_model(capsys: pytest.CaptureFixture[str], ollama: ModelServer) -> None:
    run(capsys, "ask", "explain git rebase", "-m", "llama3.2")
    run(capsys, "ask", "and merge?", "-m", "llama3.2", "--with-history", "2", "--system", "Be brief.")
    system = ollama.chats()[-1].body["messages"][0]
    assert system["role"] == "system"
    assert system["content"].startswith("Be brief.\n\nEarlier dialog, oldest first (2 turns):")
    assert "): explain git rebase" in system["content"]


def test_dialogs_list_show_and_delete_as_text(capsys: pytest.CaptureFixture[str], ollama: ModelServer) -> None:
    code, out, _ = run(capsys, "dialogs", "list")
    assert out.startswith("No dialogs yet.")
    run(capsys, "ask", "explain git rebase, my token is ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z", "-m", "llama3.2")
    code, out, _ = run(capsys, "dialogs", "list")
    [session] = sessions(capsys)
    sid = str(session["id"])
    assert sid in out
    assert "explain git rebase, my token is ***" in out
    code, out, _ = run(capsys, "dialogs", "show", sid[:6])
    assert code == 0
    assert f"session {sid} · 2 turns" in out
    assert "#1 user · " in out
    assert "#2 assistant · " in out
    assert "· ollama:llama3.2:latest · 10 tokens · " in out
    assert "ghp_" not in out
    code, out, _ = run(capsys, "dialogs", "delete", sid[:6])
    assert (code, out) == (0, f"Deleted session {sid} (2 turns).\n")
    code, _, err = run(capsys, "dialogs", "show", sid)
    assert code == 1
    assert err.startswith(f"error: no dialog session '{sid}'")
    assert sessions(capsys) == []


BAD_ASKS = {
    "empty prompt": (
        ["ask", "  ", "-m", "llama3.2"],
        'error: the prompt is empty: write a question, e.g. gazette ask "',
    ),
    "unknown model": (["ask", "hi", "-m", "gpt-9"], "error: unknown model 'gpt-9': not a route"),
    "unknown session": (
        ["ask", "hi", "-m", "llama3.2", "--session", "feedbeef"],
        "error: no dialog session 'feedbeef'",
    ),
    "session and new": (["ask", "hi", "-m", "llama3.2", "--session", "a", "--new"], "error: --session and --new"),
    "no model, no default": (["ask", "hi"], "error: no model named and no default"),
    "tiny budget": (["training", "inject", "--budget", "5"], "error: --budget must be at least 50 tokens"),
    "unknown session to show": (["dialogs", "show", "nope"], "error: no dialog session 'nope'"),
}


@pytest.mark.parametrize("case", BAD_ASKS.values(), ids=BAD_ASKS.keys())
def test_mistakes_are_one_clear_line_and_exit_1(ollama: ModelServer, case: tuple[list[str], str]) -> None:
    args, expected = case
    result = subprocess.run(gazette_command(*args), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith(expected), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert ollama.chats() == []


def test_a_model_server_that_is_down_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    server = ModelServer("ollama")  # bound, never listening: connections are refused
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    monkeypatch.setenv("GAZETTE_PROVIDERS__RETRY_BACKOFF_SECONDS", "[]")
    result = subprocess.run(
        gazette_command("ask", "hi", "-m", "ollama:llama3.2"), capture_output=True, text=True, timeout=60
    )
    server.stop()
    assert result.returncode == 1
    assert result.stderr.startswith("error: ollama model 'llama3.2' at http://127.0.0.1:")
    assert "cannot connect" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def recorded_reply(home: Path) -> tuple[str, bool]:
    gz = Gazette.from_settings()
    try:
        owner = gz.local_owner()
        [session] = gz.dialogs.list_sessions(owner)
        reply = gz.dialogs.get_session(owner, session.id).turns[-1]
        assert reply.role == "assistant"
        return reply.content, reply.interrupted
    finally:
        gz.close()


def test_ctrl_c_stops_the_answer_keeps_what_arrived_and_exits_130(ollama: ModelServer, home: Path) -> None:
    ollama.delay = 0.5  # the server paces its frames: the answer is still arriving when Ctrl-C comes
    # A shell starts background jobs with SIGINT ignored, and children inherit that; a handled signal
    # is reset to the default in the child, where Python then turns it into KeyboardInterrupt.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(
            gazette_command("ask", "explain git rebase", "-m", "llama3.2"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    finally:
        signal.signal(signal.SIGINT, inherited)
    assert process.stdout is not None
    first = process.stdout.read1(100)  # the first piece of the answer
    process.send_signal(signal.SIGINT)
    rest, err = process.communicate(timeout=60)
    printed = (first + rest).decode()
    assert process.returncode == 130
    assert printed.startswith("The")
    assert printed.endswith("\n")  # the line is finished, the prompt comes back clean
    content, interrupted = recorded_reply(home)
    assert interrupted
    assert content.startswith(printed.removesuffix("\n"))
    assert ANSWER.startswith(content)
    assert len(content) < len(ANSWER)
    assert err.decode().startswith(f"stopped: {len(content)} characters of the answer arrived; recorded in session ")


class InterruptingStdout:
    """A terminal whose user presses Ctrl-C while the third piece of the answer is being shown."""

    def __init__(self) -> None:
        self.written: list[str] = []

    def write(self, text: str) -> int:
        if len(self.written) == 2:
            self.written.append("")
            raise KeyboardInterrupt
        self.written.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def test_ctrl_c_while_the_answer_is_shown_records_what_arrived(
    capsys: pytest.CaptureFixture[str], ollama: ModelServer, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdout = InterruptingStdout()
    monkeypatch.setattr("sys.stdout", stdout)
    code, _, err = run(capsys, "ask", "explain git rebase", "-m", "llama3.2")
    assert code == 130
    assert err.startswith("stopped: 10 characters of the answer arrived; recorded in session ")
    assert recorded_reply(home) == ("The sky is", True)  # the third piece had arrived, though not shown


def test_on_a_terminal_the_answer_is_rendered_and_the_session_named(ollama: ModelServer) -> None:
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        gazette_command("ask", "explain git rebase", "-m", "llama3.2", "--new"),
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, "COLUMNS": "100", "TERM": "xterm"},
    )
    os.close(terminal)
    chunks = []
    while True:
        try:
            data = os.read(controller, 4096)
        except OSError:  # the terminal closed: the command ended
            break
        if not data:
            break
        chunks.append(data)
    os.close(controller)
    assert process.wait(timeout=60) == 0
    shown = b"".join(chunks).decode()
    assert ANSWER in shown
    assert "\x1b[" in shown  # Rich drew it (cursor control), not a raw dump
    assert "session " in shown
    assert "(new) · ollama:llama3.2:latest · " in shown
