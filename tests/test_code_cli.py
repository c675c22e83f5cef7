"""`gazette code` as a user meets it: in a real git repository, with a real index, against a real local
Ollama-speaking server; what the model received is read back from the server."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.model_servers import ANSWER, ModelServer
from tests.test_ask_cli import run, sessions
from tests.test_index import make_repo


@pytest.fixture
def ollama(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelServer]:
    server = ModelServer("ollama").listen()
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    yield server
    server.stop()


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository with two commits, the second adding `refund`; the current directory."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    root = make_repo(tmp_path / "project")
    (root / "big.txt").unlink()
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    with (root / "src" / "payments.py").open("a") as payments:
        payments.write("\n\ndef refund(amount):\n    return -amount\n")
    git(root, "commit", "-q", "-am", "add refund")
    monkeypatch.chdir(root)
    return root


def system_sent(server: ModelServer) -> str:
    first = server.chats()[-1].body["messages"][0]
    assert first["role"] == "system"
    return str(first["content"])


def test_files_diff_and_search_hits_are_sent_cited_reported_and_recorded(
    capsys: pytest.CaptureFixture[str], ollama: ModelServer, project: Path
) -> None:
    assert run(capsys, "index", "repo", str(project), "--name", "project")[0] == 0
    code, out, err = run(
        capsys,
        "code",
        "add a refund endpoint",
        "-m",
        "llama3.2",
        "--file",
        "notes.txt",
        "-f",
        "docs/architecture.md",
        "--diff",
        "HEAD~1",
        "--search",
        "charge card",
        "--repo",
        "project",
    )
    assert (code, out) == (0, f"{ANSWER}\n"), err
    system = system_sent(ollama)
    assert "### notes.txt\n```\nPlain notes about refunds.\n```" in system
    assert "### docs/architecture.md\n```\n# Architecture\n" in system
    assert "### git diff HEAD~1\n```\ndiff --git a/src/payments.py b/src/payments.py" in system
    assert "+def refund(amount):" in system
    assert "### project/src/payments.py:1-" in system
    assert "def charge_card(amount):" in system
    # Files first, then the diff, then the hits.
    assert system.index("### notes.txt") < system.index("### git diff") < system.index("### project/")
    lines = err.splitlines()
    assert lines[0].startswith("context: notes.txt (")
    assert lines[0].endswith(" tokens)")
    assert lines[2].startswith("context: git diff HEAD~1 (")
    assert lines[3].startswith("context: project/src/payments.py:1-")
    assert lines[-1].endswith(" of 6000 tokens")
    [session] = sessions(capsys)
    code, out, _ = run(capsys, "dialogs", "show", str(session["id"]), "--json")
    turns = json.loads(out)["turns"]
    assert [turn["role"] for turn in turns] == ["system", "user", "assistant"]
    assert turns[1]["content"] == "add a refund endpoint"
    assert "### notes.txt" in turns[0]["content"]


def test_the_budget_trims_at_a_line_and_leaves_out_what_does_not_fit_saying_why(
    capsys: pytest.CaptureFixture[str], ollama: ModelServer, project: Path
) -> None:
    (project / "long.py").write_text("".join(f"line_{n} = {n}\n" for n in range(200)))
    code, out, err = run(
        capsys, "code", "tidy", "-m", "llama3.2", "-f", "long.py", "-f", "notes.txt", "--budget", "60", "--json"
    )
    assert code == 0, err
    answer = json.loads(out)
    assert answer["answer"] == ANSWER
    context = answer["context"]
    assert context["budget"] == 60
    assert context["tokens"] <= 60
    [part] = context["parts"]
    assert (part["kind"], part["source"], part["trimmed"]) == ("file", "long.py", True)
    [left] = context["left_out"]
    assert left["source"] == "notes.txt"
    assert left["reason"].startswith("does not fit: ")
    assert left["reason"].endswith(" left of the 60-token budget")
    system = system_sent(ollama)
    assert "line_0 = 0\n" in system
    assert "\n[… trimmed]\n```" in system
    assert "line_199" not in system
    code, out, err = run(capsys, "code", "tidy", "-m", "llama3.2", "-f", "long.py", "-f", "notes.txt", "--budget", "60")
    assert "context: long.py (" in err
    assert ", trimmed)" in err
    assert "left out: notes.txt: does not fit: " in err


def test_json_lists_the_parts_and_an_empty_diff_is_reported(
    capsys: pytest.CaptureFixture[str], ollama: ModelServer, project: Path
) -> None:
    code, out, err = run(capsys, "code", "explain", "-m", "llama3.2", "-f", "README.md", "--diff", "", "--json")
    assert code == 0, err
    context = json.loads(out)["context"]
    assert [(p["kind"], p["source"], p["trimmed"]) for p in context["parts"]] == [("file", "README.md", False)]
    assert context["parts"][0]["tokens"] > 0
    assert context["left_out"] == [{"kind": "diff", "source": "git diff", "reason": "no changes"}]
    (project / "notes.txt").write_text("Changed notes.\n")
    run(capsys, "code", "explain", "-m", "llama3.2", "--diff", "", "--no-capture")
    assert "+Changed notes." in system_sent(ollama)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-f", "missing.py"), "error: --file missing.py: no such file\n"),
        (("-f", "src"), "error: --file src: not a regular file\n"),
        (("-f", "latin1.txt"), "error: --file latin1.txt: not UTF-8 text\n"),
        (("--diff", "nope"), "error: git diff nope: fatal: bad revision 'nope'\n"),
        (("--repo", "project"), "error: --repo narrows --search: give --search QUERY too\n"),
        (("--search", "card", "--repo", "unknown"), None),
        (("-f", "notes.txt", "--budget", "10"), "error: --budget must be at least 50 tokens, not 10\n"),
    ],
)
def test_bad_input_is_one_line_exit_1_and_nothing_is_sent(
    capsys: pytest.CaptureFixture[str],
    ollama: ModelServer,
    project: Path,
    args: tuple[str, ...],
    message: str | None,
) -> None:
    (project / "latin1.txt").write_bytes("café".encode("latin-1"))
    code, out, err = run(capsys, "code", "write it", "-m", "llama3.2", *args)
    assert (code, out) == (1, "")
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err
    if message is not None:
        assert err == message
    assert ollama.chats() == []


def test_diff_outside_a_git_repository_says_so(
    capsys: pytest.CaptureFixture[str], ollama: ModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    monkeypatch.chdir(outside)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    code, out, err = run(capsys, "code", "write it", "-m", "llama3.2", "--diff", "HEAD")
    assert (code, out) == (1, "")
    assert err == f"error: git diff HEAD: {outside} is not in a git repository\n"
    assert err.count("\n") == 1
    assert ollama.chats() == []


def test_the_cli_default_budget_is_the_service_default() -> None:
    from gazette.cli import code_cmd
    from gazette.dialogs import code_context

    assert code_cmd.DEFAULT_BUDGET == code_context.DEFAULT_BUDGET
