"""Indexing and query speed, each beside a raw FTS5 floor measured in the same run.

    .venv/bin/python benchmarks/index_speed.py [--runs 3] [--chunks 100000] [--queries 300] [--hybrid]
        [--skip-stdlib | --skip-query]

1. Index the Python standard library sources with `gazette.index` (BM25 only): files/s and MB/s,
   beside a raw FTS5 bulk insert of the very same chunks (goal: ≥ 0.5× that floor).
2. A synthetic corpus of ~100k chunks (Markdown files, 10 sections each, words drawn by Zipf from a
   30,000-word made-up vocabulary): query p50/p95 through
   `Index.search` (k=10) beside a raw FTS5 `MATCH ... ORDER BY bm25 LIMIT 10` on the same chunks
   (goals: ≤ 3× the floor, ≤ 20 ms p95).
3. Re-index after one changed file in a 10,000-file repository (goal: ≤ 1 s).
4. With --hybrid (needs the `local` extra): hybrid query p50/p95 at the same 100k chunks
   (goal: ≤ 60 ms p95), the query embedded by MiniLM on the CPU.

With --runs N each part runs N times and the median is reported with the range (min–max) and
the 1-minute load average, since one timing on a shared machine says little.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sysconfig
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STORE_URL: list[str] = []  # --store: the query part runs on this store instead of a SQLite file


def gazette(home: Path, **overrides: Any) -> Any:
    from gazette.app import Gazette
    from gazette.settings import load_settings

    return Gazette(load_settings(home=str(home), log={"level": "warning"}, **overrides).settings)


def raw_fts_floor(rows: list[tuple[str, str]], directory: Path) -> tuple[float, Any]:
    """Seconds to bulk-insert (text, search_text) rows into a fresh FTS5 file database; and the connection.

    The file goes in `directory`, which the caller removes.
    """
    import sqlean

    path = directory / "floor.db"
    conn = sqlean.connect(str(path))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(search_text, tokenize='porter unicode61')")
    started = time.perf_counter()
    with conn:
        conn.executemany("INSERT INTO t(search_text) VALUES (?)", [(search,) for _, search in rows])
    return time.perf_counter() - started, conn


def chunk_rows(gz: Any) -> list[tuple[str, str]]:
    """(text, search text) of every chunk, in id order: the search text is what Gazette's index got.

    On SQLite the search text lives only in the contentless FTS5 index, so it is computed again
    the way indexing computes it (`terms.search_text` of the text, heading and path).
    """
    from gazette.index.terms import search_text

    with gz.store.begin() as conn:
        found = conn.exec_driver_sql(
            "SELECT c.text, c.heading, f.path FROM chunks c JOIN files f ON f.id = c.file_id ORDER BY c.id"
        )
        return [(text, search_text(text, heading=heading, path=path)) for text, heading, path in found]


def stdlib_run() -> dict[str, Any]:
    source = Path(sysconfig.get_paths()["stdlib"])
    work = Path(tempfile.mkdtemp(prefix="gazette-speed-"))
    gz = gazette(work)
    # The store's tables exist before the clock starts, as the floor's FTS5 table does
    # (creating them on first use, ~0.2 s, was counted as indexing before 2026-11-21).
    gz.store.ensure_migrated()
    started = time.perf_counter()
    report = gz.index.index_repo(gz.local_owner(), source, "stdlib")
    seconds = time.perf_counter() - started
    with gz.store.begin() as conn:  # the bytes actually indexed (the walker skips site-packages, caches, …)
        size = conn.exec_driver_sql("SELECT sum(size) FROM files WHERE status = 'indexed'").scalar() / 1e6
    rows = chunk_rows(gz)
    floor_seconds, floor = raw_fts_floor(rows, work)
    floor.close()
    gz.close()
    shutil.rmtree(work, ignore_errors=True)
    return {
        "files": report.files,
        "chunks": report.chunks,
        "seconds": seconds,
        "mb": size,
        "floor_seconds": floor_seconds,
    }


SYLLABLES = ["ka", "lo", "mi", "ne", "ra", "tu", "vi", "so", "pe", "da", "gri", "fen", "mor", "tal", "bex", "quin"]


def vocabulary(size: int, rng: random.Random) -> list[str]:
    """Pronounceable made-up words, like a real vocabulary in size."""
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))))
    return sorted(words)


def synthetic_corpus(root: Path, chunks: int, rng: random.Random, words: list[str]) -> None:
    weights = [1 / (rank + 1) for rank in range(len(words))]  # Zipf: a few words are everywhere, most are rare
    files = chunks // 10
    for number in range(files):
        folder = root / f"part{number // 500}"
        folder.mkdir(parents=True, exist_ok=True)
        sections = []
        for section in range(10):
            text = rng.choices(words, weights, k=80)
            sections.append(f"## Section {section} {text[0]}\n\n" + " ".join(text) + "\n")
        (folder / f"doc{number}.md").write_text("\n".join(sections))


def hybrid_timings(work: Path, gz: Any, texts: list[str], rounds: int = 1) -> dict[str, Any]:
    """Hybrid query times at the same 100k chunks: the real MiniLM embeds each query; the chunks get
    random unit vectors (scanning costs the same whatever the values, and embedding 100k chunks on
    2 CPU cores would take an hour). Random vectors are the worst case for the sign scan's recall
    (real embeddings: docs/benchmarks.md); it is reported against an exact scan all the same."""
    import numpy as np
    from sqlalchemy import update

    from gazette.store import vector_search, vectors
    from gazette.store.tables import repos

    store = {"store": {"url": STORE_URL[0]}} if STORE_URL else {}
    hybrid = gazette(work / "home", embeddings={"provider": "local"}, **store)
    embedder = hybrid.index.embedder
    assert embedder is not None
    size = len(embedder.embed(["warm up"])[0])
    with gz.store.begin() as conn:
        ids = [row[0] for row in conn.exec_driver_sql("SELECT id FROM chunks ORDER BY id")]
    generator = np.random.default_rng(7)
    blocks = []
    for start in range(0, len(ids), 10_000):
        batch = ids[start : start + 10_000]
        block = generator.standard_normal((len(batch), size)).astype(np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        blocks.append(block)
        with hybrid.store.begin() as conn:
            vectors.ensure_table(conn, size)
            vectors.insert(conn, batch, block.tolist())
    with hybrid.store.begin() as conn:
        conn.execute(update(repos).values(embedding_model=embedder.model))
        workspace_id = int(conn.exec_driver_sql("SELECT workspace_id FROM chunks LIMIT 1").scalar_one())
    matrix, chunk_ids = np.vstack(blocks), np.asarray(ids)
    owner = hybrid.local_owner()
    # What `Index.search` asks of the vector pass at k=10 (its pool of 50), timed alone.
    search = vector_search.VectorSearch(oversample=hybrid.settings.embeddings.oversample)
    started = time.perf_counter()
    with hybrid.store.begin() as conn:
        search.nearest(conn, matrix[0].tolist(), limit=50, workspace_id=workspace_id)
    first_ms = (time.perf_counter() - started) * 1000  # loads the signs
    rounds_out = []
    for _ in range(rounds):
        total, embed_only, vector_only, recall = [], [], [], []
        for text in texts:
            started = time.perf_counter()
            query = embedder.embed([text])[0]
            embed_only.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            with hybrid.store.begin() as conn:
                found = search.nearest(conn, query, limit=50, workspace_id=workspace_id)
            vector_only.append((time.perf_counter() - started) * 1000)
            exact = set(chunk_ids[np.argpartition(-(matrix @ np.asarray(query, dtype=np.float32)), 50)[:50]].tolist())
            recall.append(len(exact & {chunk_id for chunk_id, _ in found}) / 50)
            started = time.perf_counter()
            hybrid.index.search(owner, text, k=10)
            total.append((time.perf_counter() - started) * 1000)
        rounds_out.append(
            {
                "p50": statistics.median(total),
                "p95": statistics.quantiles(total, n=100)[94],
                "embed_p50": statistics.median(embed_only),
                "embed_p95": statistics.quantiles(embed_only, n=100)[94],
                "vector_p50": statistics.median(vector_only),
                "vector_p95": statistics.quantiles(vector_only, n=100)[94],
                "recall": statistics.mean(recall),
            }
        )
    hybrid.close()
    return {"rounds": rounds_out, "first_ms": first_ms}


def query_run(chunks: int, queries: int, *, with_hybrid: bool = False, rounds: int = 1) -> dict[str, Any]:
    rng = random.Random(7)
    work = Path(tempfile.mkdtemp(prefix="gazette-query-"))
    words = vocabulary(30_000, rng)
    synthetic_corpus(work / "corpus", chunks, rng, words)
    gz = gazette(work / "home", **({"store": {"url": STORE_URL[0]}} if STORE_URL else {}))
    owner = gz.local_owner()
    gz.store.ensure_migrated()
    started = time.perf_counter()
    report = gz.index.index_repo(owner, work / "corpus", "synthetic")
    index_seconds = time.perf_counter() - started
    _, floor = raw_fts_floor(chunk_rows(gz), work)
    # Queries mix a frequent word with rarer ones, as people's do.
    texts = [
        " ".join([rng.choice(words[:200]), *rng.sample(words[200:5000], rng.randint(1, 4))]) for _ in range(queries)
    ]
    ours, raw = [], []
    for text in texts:  # alternate, so both see the same cache state
        started = time.perf_counter()
        gz.index.search(owner, text, k=10)
        ours.append((time.perf_counter() - started) * 1000)
        match = " OR ".join(f'"{word}"' for word in text.split())
        started = time.perf_counter()
        floor.execute("SELECT rowid, bm25(t) FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT 10", (match,)).fetchall()
        raw.append((time.perf_counter() - started) * 1000)

    floor.close()
    hybrid = hybrid_timings(work, gz, texts, rounds) if with_hybrid else None

    # one changed file in a 10,000-file repository
    big = work / "big"
    for number in range(10_000):
        folder = big / f"pkg{number // 200}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"m{number}.py").write_text(f"def f{number}(x):\n    return x + {number}\n" * 5)
    gz.index.index_repo(owner, big, "big")
    (big / "pkg3" / "m700.py").write_text("def changed():\n    pass\n")
    started = time.perf_counter()
    gz.index.index_repo(owner, big, "big")
    reindex_seconds = time.perf_counter() - started
    gz.close()
    shutil.rmtree(work, ignore_errors=True)

    def p(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=100)[int(q) - 1]

    return {
        "chunks": report.chunks,
        "index_seconds": index_seconds,
        "ours_p50": p(ours, 50),
        "ours_p95": p(ours, 95),
        "raw_p50": p(raw, 50),
        "raw_p95": p(raw, 95),
        "reindex_seconds": reindex_seconds,
        "hybrid": hybrid,
    }


QUERY_FIGURES = ("index_seconds", "ours_p50", "ours_p95", "raw_p50", "raw_p95", "reindex_seconds")


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(run[key] for run in runs))


def spread(runs: list[dict[str, Any]], key: str, digits: int = 2) -> str:
    values = [run[key] for run in runs]
    return f"{min(values):.{digits}f}–{max(values):.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=100_000, help="synthetic corpus size (default 100000)")
    parser.add_argument("--queries", type=int, default=300, help="queries to time (default 300)")
    parser.add_argument(
        "--hybrid", action="store_true", help="also time hybrid queries (needs the `local` extra: MiniLM on the CPU)"
    )
    parser.add_argument("--runs", type=int, default=1, help="repeat each part, report medians and ranges (default 1)")
    parser.add_argument("--rounds", type=int, default=1, help="with --hybrid: rounds of the hybrid queries (default 1)")
    parser.add_argument("--skip-stdlib", action="store_true", help="only the query and re-index parts")
    parser.add_argument("--skip-query", action="store_true", help="only the stdlib indexing part")
    parser.add_argument("--store", help="run the query part on this store URL (e.g. PostgreSQL with pgvector)")
    args = parser.parse_args()
    if args.store:
        STORE_URL.append(args.store)
    where = "query part on " + args.store.split("://")[0] if args.store else "SQLite store"
    print(f"{datetime.now(UTC):%Y-%m-%d} · {os.cpu_count()} cores · {where}\n")
    if not args.skip_stdlib:
        runs = []
        for _ in range(args.runs):
            runs.append({**stdlib_run(), "load": os.getloadavg()[0]})
        s = runs[0]
        seconds = median_of(runs, "seconds")
        floor = median_of(runs, "floor_seconds")
        for run in runs:
            run["ratio"] = run["floor_seconds"] / run["seconds"]
        print("| indexing the stdlib | files | chunks | MB | seconds | files/s | MB/s | raw FTS5 insert s | × floor |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        print(
            f"| gazette index | {s['files']} | {s['chunks']} | {s['mb']:.1f} | {seconds:.2f} | "
            f"{s['files'] / seconds:.0f} | {s['mb'] / seconds:.1f} | {floor:.2f} | "
            f"{median_of(runs, 'ratio'):.2f} |"
        )
        if len(runs) > 1:
            print(
                f"\n{len(runs)} runs, medians; range: index {spread(runs, 'seconds')} s, floor "
                f"{spread(runs, 'floor_seconds')} s, × floor {spread(runs, 'ratio')}; "
                f"load average {spread(runs, 'load', 1)}"
            )
    if args.skip_query:
        return
    queries = []
    for _ in range(args.runs):
        run = query_run(args.chunks, args.queries, with_hybrid=args.hybrid, rounds=args.rounds)
        queries.append({**run, "load": os.getloadavg()[0]})
    q = {**queries[0], **{key: median_of(queries, key) for key in QUERY_FIGURES}}
    for run in queries:
        run["ratio"] = run["ours_p95"] / run["raw_p95"]
    print(f"\n| query at {q['chunks']} chunks (k=10) | p50 ms | p95 ms |")
    print("|---|---:|---:|")
    print(f"| gazette `Index.search` | {q['ours_p50']:.2f} | {q['ours_p95']:.2f} |")
    print(f"| raw FTS5 MATCH … bm25 LIMIT 10 | {q['raw_p50']:.2f} | {q['raw_p95']:.2f} |")
    print(f"| × floor (p95) | | {median_of(queries, 'ratio'):.2f} |")
    if q["hybrid"]:
        vector_store = "pgvector HNSW" if STORE_URL else "sign scan + exact re-scoring"
        for number, h in enumerate(q["hybrid"]["rounds"], start=1):
            print(
                f"| round {number}: gazette hybrid (MiniLM query + {vector_store} + convex fusion) | "
                f"{h['p50']:.2f} | {h['p95']:.2f} |"
            )
            print(
                f"| round {number}: of which embedding the query (MiniLM, CPU) | "
                f"{h['embed_p50']:.2f} | {h['embed_p95']:.2f} |"
            )
            print(f"| round {number}: vector pass alone (50 nearest) | {h['vector_p50']:.2f} | {h['vector_p95']:.2f} |")
        rounds = q["hybrid"]["rounds"]
        if len(rounds) > 1:
            for key, name in (("p", "hybrid"), ("embed_p", "embedding"), ("vector_p", "vector pass")):
                p50s = [h[key + "50"] for h in rounds]
                p95s = [h[key + "95"] for h in rounds]
                print(
                    f"| median of {len(rounds)} rounds: {name} (range) | {statistics.median(p50s):.2f} "
                    f"({min(p50s):.1f}–{max(p50s):.1f}) | {statistics.median(p95s):.2f} "
                    f"({min(p95s):.1f}–{max(p95s):.1f}) |"
                )
        print(
            f"\nvector pass: first query (loads the signs) {q['hybrid']['first_ms']:.0f} ms; "
            f"recall of the exact 50 nearest on random vectors (the worst case) {rounds[0]['recall']:.3f}"
        )
    if len(queries) > 1:
        print(
            f"\n{len(queries)} runs, medians; range: p50 {spread(queries, 'ours_p50')} ms, p95 "
            f"{spread(queries, 'ours_p95')} ms, raw p95 {spread(queries, 'raw_p95')} ms, × floor "
            f"{spread(queries, 'ratio')}; load average {spread(queries, 'load', 1)}"
        )
    print(
        f"\nsynthetic corpus indexed in {q['index_seconds']:.1f} s; "
        f"re-index after one changed file in 10,000: {q['reindex_seconds']:.3f} s"
    )


if __name__ == "__main__":
    main()
