"""Retrieval quality on a BEIR-format dataset: Gazette's BM25 beside the `bm25s` library, one run.

    .venv/bin/python benchmarks/retrieval_quality.py ../shared/eval/scifact [--split test]

Gazette's side is the real pipeline: every document becomes a Markdown file (its title as the
heading, then the text),
indexed with `gazette.index` (FTS5 with porter stemming on SQLite, code-aware terms), and each
query goes through `Index.search` (k=100). A document's rank is that of its best chunk.
Reports nDCG@10 and Recall@100 (binary relevance, as BEIR's qrels are). Nothing is copied into
the repository: the dataset is read where it lies.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import shutil
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path


def load(directory: Path, split: str) -> tuple[dict[str, str], dict[str, str], dict[str, set[str]]]:
    corpus = {}
    with (directory / "corpus.jsonl").open() as handle:
        for line in handle:
            doc = json.loads(line)
            title = doc.get("title", "").strip()
            corpus[doc["_id"]] = f"# {title}\n\n{doc['text']}" if title else doc["text"]
    qrels: dict[str, set[str]] = defaultdict(set)
    with (directory / "qrels" / f"{split}.tsv").open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if int(row["score"]) > 0:
                qrels[row["query-id"]].add(row["corpus-id"])
    queries = {}
    with (directory / "queries.jsonl").open() as handle:
        for line in handle:
            query = json.loads(line)
            if query["_id"] in qrels:
                queries[query["_id"]] = query["text"]
    return corpus, queries, qrels


def ndcg_at(ranked: list[str], relevant: set[str], k: int = 10) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, doc in enumerate(ranked[:k]) if doc in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal if ideal else 0.0


def recall_at(ranked: list[str], relevant: set[str], k: int = 100) -> float:
    return len(set(ranked[:k]) & relevant) / len(relevant) if relevant else 0.0


def gazette_runs(corpus: dict[str, str], queries: dict[str, str]) -> tuple[dict[str, list[str]], float, float]:
    from gazette.app import Gazette
    from gazette.settings import load_settings

    work = Path(tempfile.mkdtemp(prefix="gazette-quality-"))
    docs = work / "corpus"
    docs.mkdir()
    for doc_id, text in corpus.items():
        (docs / f"{doc_id}.md").write_text(text)
    gz = Gazette(load_settings(home=str(work / "home"), log={"level": "warning"}).settings)
    owner = gz.local_owner()
    started = time.perf_counter()
    gz.index.index_repo(owner, docs, "corpus")
    index_seconds = time.perf_counter() - started
    runs: dict[str, list[str]] = {}
    started = time.perf_counter()
    for query_id, text in queries.items():
        ranked: list[str] = []
        for hit in gz.index.search(owner, text, repo="corpus", k=100):
            doc_id = hit.path.removesuffix(".md")
            if doc_id not in ranked:
                ranked.append(doc_id)
        runs[query_id] = ranked
    query_ms = (time.perf_counter() - started) / max(1, len(queries)) * 1000
    gz.close()
    shutil.rmtree(work, ignore_errors=True)
    return runs, index_seconds, query_ms


def ranked_docs(paths: list[str], limit: int = 100) -> list[str]:
    """Document ids in order of their best chunk."""
    ranked: list[str] = []
    for path in paths:
        doc_id = path.removesuffix(".md")
        if doc_id not in ranked:
            ranked.append(doc_id)
    return ranked[:limit]


def local_runs(
    corpus: dict[str, str], queries: dict[str, str], keep: Path | None = None
) -> dict[str, tuple[dict[str, list[str]], float, float]]:
    """Dense-only and hybrid with the `local` embedder (all-MiniLM-L6-v2), all from one index: the
    default vector pass (a sign scan, then exact scores for its candidates) beside an exact scan
    of every vector (`embeddings.oversample=0`), with the candidates' recall of the exact ranking."""
    from gazette.app import Gazette
    from gazette.settings import load_settings
    from gazette.store import memory, vector_search

    work = keep or Path(tempfile.mkdtemp(prefix="gazette-quality-local-"))
    docs = work / "corpus"
    docs.mkdir(parents=True, exist_ok=True)
    for doc_id, body in corpus.items():
        path = docs / f"{doc_id}.md"
        if not path.exists() or path.read_text() != body:
            path.write_text(body)

    def open_gazette(**embeddings: object) -> Gazette:
        settings = load_settings(
            home=str(work / "home"), log={"level": "warning"}, embeddings={"provider": "local", **embeddings}
        )
        return Gazette(settings.settings)

    gz = open_gazette()
    owner = gz.local_owner()
    started = time.perf_counter()
    gz.index.index_repo(owner, docs, "corpus")
    index_seconds = time.perf_counter() - started
    embedder = gz.index.embedder
    assert embedder is not None
    query_vectors = {query_id: embedder.embed([query])[0] for query_id, query in queries.items()}
    results: dict[str, tuple[dict[str, list[str]], float, float]] = {}
    nearest_of: dict[str, dict[str, list[int]]] = {}
    for label, oversample in (("sign scan", gz.settings.embeddings.oversample), ("exact scan", 0)):
        search = vector_search.VectorSearch(oversample=oversample)
        dense: dict[str, list[str]] = {}
        nearest_of[label] = {}
        started = time.perf_counter()
        for query_id, vector in query_vectors.items():
            with gz.store.begin() as conn:
                nearest = search.nearest(conn, vector, limit=300, workspace_id=1)
                by_id = {
                    row.id: row.path
                    for row in memory.chunks_by_ids(conn, [i for i, _ in nearest], workspace_id=1, repo_id=None)
                }
            nearest_of[label][query_id] = [chunk_id for chunk_id, _ in nearest]
            dense[query_id] = ranked_docs([by_id[chunk_id] for chunk_id, _ in nearest])
        seconds = (time.perf_counter() - started) / max(1, len(queries)) * 1000
        results[f"gazette dense (MiniLM, {label}, 300 nearest)"] = (dense, index_seconds, seconds)
    for top in (10, 100, 300):
        recall = [
            len(set(nearest_of["sign scan"][q][:top]) & set(nearest_of["exact scan"][q][:top])) / top for q in queries
        ]
        print(f"dense: the sign scan's {top} nearest hold {sum(recall) / len(recall):.3f} of the exact {top}")
    gz.close()
    for label, embeddings in (
        ("convex 0.6/0.4", {}),
        ("convex 0.6/0.4, exact scan", {"oversample": 0}),
        ("RRF k=60", {"fusion": "rrf"}),
    ):
        gz = open_gazette(**embeddings)
        hybrid: dict[str, list[str]] = {}
        started = time.perf_counter()
        for query_id, query in queries.items():
            hybrid[query_id] = ranked_docs([hit.path for hit in gz.index.search(owner, query, repo="corpus", k=100)])
        seconds = (time.perf_counter() - started) / max(1, len(queries)) * 1000
        results[f"gazette hybrid (BM25 + MiniLM, {label})"] = (hybrid, index_seconds, seconds)
        gz.close()
    if keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return results


def bm25s_runs(corpus: dict[str, str], queries: dict[str, str]) -> tuple[dict[str, list[str]], float, float]:
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    ids = list(corpus)
    started = time.perf_counter()
    retriever = bm25s.BM25()
    retriever.index(
        bm25s.tokenize([corpus[i] for i in ids], stopwords="en", stemmer=stemmer, show_progress=False),
        show_progress=False,
    )
    index_seconds = time.perf_counter() - started
    started = time.perf_counter()
    query_ids = list(queries)
    tokens = bm25s.tokenize([queries[q] for q in query_ids], stopwords="en", stemmer=stemmer, show_progress=False)
    results, _ = retriever.retrieve(tokens, k=100, show_progress=False)
    query_ms = (time.perf_counter() - started) / max(1, len(queries)) * 1000
    return {q: [ids[i] for i in row] for q, row in zip(query_ids, results, strict=True)}, index_seconds, query_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", type=Path, help="BEIR-format directory (corpus.jsonl, queries.jsonl, qrels/)")
    parser.add_argument("--split", default="test", help="qrels split (default test)")
    parser.add_argument(
        "--local", action="store_true", help="also dense-only and hybrid with the `local` extra (MiniLM on the CPU)"
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="with --local: index into this directory and keep it; a later run re-embeds nothing "
        "(the embedding takes 5-20 minutes on 2 cores)",
    )
    args = parser.parse_args()
    corpus, queries, qrels = load(args.dataset, args.split)
    systems = {"gazette BM25 (FTS5, porter)": gazette_runs, "bm25s (reference, stemmed, stopwords)": bm25s_runs}
    print(f"{datetime.now(UTC):%Y-%m-%d} · {args.dataset.name} · {len(corpus)} docs · {len(queries)} queries\n")
    print("| system | nDCG@10 | Recall@100 | index s | query ms |")
    print("|---|---:|---:|---:|---:|")
    results = {name: run(corpus, queries) for name, run in systems.items()}
    if args.local:
        results.update(local_runs(corpus, queries, args.keep))
    for name, (ranked, index_seconds, query_ms) in results.items():
        ndcg = sum(ndcg_at(ranked[q], qrels[q]) for q in queries) / len(queries)
        recall = sum(recall_at(ranked[q], qrels[q]) for q in queries) / len(queries)
        print(f"| {name} | {ndcg:.3f} | {recall:.3f} | {index_seconds:.1f} | {query_ms:.1f} |")


if __name__ == "__main__":
    main()
