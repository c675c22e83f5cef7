"""Training export speed: 100k captured turns written as chat JSONL.

    .venv/bin/python benchmarks/export_speed.py [--sessions 10000] [--turns 10] [--store-url URL] [--anonymize]

Inserts `sessions` × `turns` alternating user/assistant turns (~300 characters each) straight
through the store's dialog queries into a fresh SQLite file (or the PostgreSQL database given),
then times `gz.dialogs.export` to a JSONL file: seconds, turns/s, MB written. Prints a Markdown
table with the date and the machine's cores, for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

WORDS = [
    "the",
    "a",
    "model",
    "answer",
    "question",
    "rebase",
    "merge",
    "branch",
    "commit",
    "file",
    "test",
    "error",
    "python",
    "docker",
    "ssh",
    "key",
]


def text(rng: random.Random, chars: int = 300) -> str:
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < chars:
        words.append(rng.choice(WORDS))
    return " ".join(words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--turns", type=int, default=10, help="turns per session (even)")
    parser.add_argument("--store-url", default=None)
    parser.add_argument("--anonymize", action="store_true")
    args = parser.parse_args()

    from gazette.app import Gazette
    from gazette.dialogs import ExportOptions
    from gazette.settings import load_settings
    from gazette.store import dialogs as dialog_rows
    from gazette.store.workspaces import require_workspace_id

    work = Path(tempfile.mkdtemp(prefix="gazette-export-"))
    url = args.store_url or f"sqlite:///{work / 'gazette.db'}"
    gz = Gazette(load_settings(home=str(work), store={"url": url}, log={"level": "warning"}).settings)
    owner = gz.local_owner()
    rng = random.Random(5)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    started = time.perf_counter()
    with gz.store.begin(owner.viewer()) as conn:
        workspace_id = require_workspace_id(conn, owner.workspace)
        for s in range(args.sessions):
            at = start + timedelta(seconds=s)
            rows = [
                {"role": "user" if t % 2 == 0 else "assistant", "content": text(rng), "timestamp": at}
                for t in range(args.turns)
            ]
            dialog_rows.insert_turns(conn, workspace_id, owner.user, f"{s:032x}", rows)
    inserted = time.perf_counter() - started
    total = args.sessions * args.turns

    target = work / "train.jsonl"
    started = time.perf_counter()
    report = gz.dialogs.export(owner, ExportOptions(format="jsonl", anonymize=args.anonymize), path=target)
    seconds = time.perf_counter() - started
    gz.close()
    assert report.turns == total, report
    size = target.stat().st_size / 1e6
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"export_speed · {datetime.now(UTC):%Y-%m-%d} · {os.cpu_count()} cores · {platform.python_version()}")
    print()
    print("| store | turns | sessions | anonymize | insert (s) | export (s) | turns/s | MB |")
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {backend} | {total:,} | {args.sessions:,} | {'yes' if args.anonymize else 'no'} | {inserted:.1f} "
        f"| {seconds:.2f} | {total / seconds:,.0f} | {size:.1f} |"
    )


if __name__ == "__main__":
    main()
