"""`savant-context`: the seed's container contract over the same services."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.test_index import make_repo


def savant(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gazette.cli.savant", *args], capture_output=True, text=True, timeout=60
    )


def test_the_seeds_commands_work_end_to_end(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "project")
    assert savant("--version").stdout.startswith("savant-context 0.1.0")
    indexed = savant("index", "repo", str(root), "--name", "project")
    assert indexed.returncode == 0, indexed.stderr
    status = json.loads(savant("status", "--json").stdout)
    assert status["project"]["status"] == "indexed"
    hits = json.loads(savant("memory", "search", "refunds", "--repo", "project", "--json").stdout)
    assert hits[0]["repo"] == "project"
    assert savant("memory", "read", "project", "notes.txt").stdout == "Plain notes about refunds.\n"


def test_mistakes_are_one_line_and_exit_1(tmp_path: Path) -> None:
    result = savant("memory", "read", "project", "../etc/passwd")
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
