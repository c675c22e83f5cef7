"""Does `index.boost_context_files` help? Questions about this repository, boost off and on.

    .venv/bin/python benchmarks/context_boost.py [--repo .] [--queries benchmarks/data/context_boost_queries.json]

Indexes the repository (BM25 only) once, then asks each hand-labelled question through
`Index.search` (k=10) with the boost off and on, and reports MRR@10 and nDCG@10 of the files
that answer it (a file ranks as its best chunk). Half of the questions are answered by the
files context-first agents read first (README.md, docs/architecture.md), half only elsewhere,
so the figure shows what the boost costs as well as what it gains.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def ranked_files(gz: Any, owner: Any, query: str) -> list[str]:
    files: list[str] = []
    for hit in gz.index.search(owner, query, repo="self", k=10):
        if hit.path not in files:
            files.append(hit.path)
    return files


def scores(ranked: list[str], relevant: set[str]) -> tuple[float, float]:
    rr = next((1 / rank for rank, path in enumerate(ranked, start=1) if path in relevant), 0.0)
    dcg = sum(1 / math.log2(i + 2) for i, path in enumerate(ranked[:10]) if path in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(10, len(relevant))))
    return rr, dcg / ideal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, default=HERE.parent, help="repository to index (default: this one)")
    parser.add_argument("--queries", type=Path, default=HERE / "data" / "context_boost_queries.json")
    args = parser.parse_args()

    from gazette.app import Gazette
    from gazette.settings import load_settings

    questions = json.loads(args.queries.read_text())["queries"]
    work = Path(tempfile.mkdtemp(prefix="gazette-boost-"))
    home, copy = work / "home", work / "repo"
    queries_file = args.queries.resolve()

    def leave_out(folder: str, names: list[str]) -> set[str]:
        # The questions themselves would answer every question: index the repository without them.
        skipped = {".git", ".venv", ".tools", "node_modules", "__pycache__"}
        return {name for name in names if name in skipped or Path(folder, name).resolve() == queries_file}

    shutil.copytree(args.repo, copy, ignore=leave_out)
    results: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for boost in (False, True):
        loaded = load_settings(home=str(home), log={"level": "warning"}, index={"boost_context_files": boost})
        gz = Gazette(loaded.settings)
        owner = gz.local_owner()
        gz.index.index_repo(owner, copy, "self")  # the second run finds everything unchanged
        per_group: dict[str, list[tuple[float, float]]] = {"context files": [], "elsewhere": []}
        for question in questions:
            relevant = set(question["relevant"])
            group = "context files" if relevant & {"README.md", "docs/architecture.md"} else "elsewhere"
            per_group[group].append(scores(ranked_files(gz, owner, question["q"]), relevant))
        results["on" if boost else "off"] = per_group
        gz.close()

    print(f"{datetime.now(UTC):%Y-%m-%d} · {os.cpu_count()} cores · {len(questions)} questions · BM25 only\n")
    print("| boost | answered by | questions | MRR@10 | nDCG@10 |")
    print("|---|---|---:|---:|---:|")
    for state, per_group in results.items():
        everything = [pair for pairs in per_group.values() for pair in pairs]
        for group, pairs in [*per_group.items(), ("all", everything)]:
            mrr = sum(rr for rr, _ in pairs) / len(pairs)
            ndcg = sum(n for _, n in pairs) / len(pairs)
            print(f"| {state} | {group} | {len(pairs)} | {mrr:.3f} | {ndcg:.3f} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
