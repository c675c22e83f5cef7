"""Nearest chunks by cosine distance over the tables of `store.vectors`.

SQLite: `VectorSearch` holds every vector's signs in memory (with its chunk's workspace and
repository) and reloads them when the store's vector generation has moved. A query keeps its own
workspace's (or repository's) vectors, scores the float query against their signs, takes the
best `oversample` × the wanted count, reads those floats by primary key and ranks them exactly.
PostgreSQL: pgvector's HNSW index, its rows then filtered to the workspace.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, text

from gazette.store.vectors import SIGNS, STATE, TABLE, dimensions, pack_bits, pg_literal, upgrade, word_count

# HNSW returns at most ef_search candidates; it is raised per query to the number wanted.
_EF_SEARCH_MAX = 1000
# PostgreSQL: nearest rows fetched per row wanted before the workspace filter.
_POSTGRES_OVERFETCH = 4
# Levels of the query in the candidate scan: on SciFact 4 bits kept the recall of the float query.
_QUERY_BITS = 4


@dataclass(frozen=True)
class _Signs:
    """Every stored vector's signs at one generation, laid out for the scan."""

    generation: int
    ids: npt.NDArray[np.int64]
    workspaces: npt.NDArray[np.int64]
    repos: npt.NDArray[np.int64]
    # words[j] holds the j-th 64 sign bits of every vector: each scan step reads contiguous memory.
    words: npt.NDArray[np.uint64]
    ones: npt.NDArray[np.int64]  # positive signs of each vector


class VectorSearch:
    """Nearest chunks by cosine distance. On SQLite a scan of the signs kept in memory finds
    candidates, scored exactly from `chunk_vectors`; on PostgreSQL pgvector's HNSW index."""

    def __init__(self, *, oversample: int) -> None:
        self._oversample = oversample  # candidates scored exactly per chunk wanted; 0: every vector
        self._signs: _Signs | None = None
        self._lock = threading.Lock()

    def nearest(
        self, conn: Connection, vector: Sequence[float], *, limit: int, workspace_id: int, repo_id: int | None = None
    ) -> list[tuple[int, float]]:
        """(chunk id, cosine distance) of the `limit` nearest chunks of the workspace (or repo), nearest first."""
        if conn.dialect.name != "sqlite":
            return _nearest_postgres(conn, vector, limit=limit, workspace_id=workspace_id, repo_id=repo_id)
        if upgrade(conn) != len(vector):
            return []  # no vectors yet, or those of another model: the next index run replaces them
        state = conn.exec_driver_sql(f"SELECT generation FROM {STATE}").scalar_one()  # noqa: S608
        signs = self._loaded(conn, int(state), len(vector))
        query = np.asarray(vector, dtype=np.float32)
        candidates = self._candidates(signs, query, limit=limit, workspace_id=workspace_id, repo_id=repo_id)
        return _scored(conn, query, candidates, limit=limit)

    def _candidates(
        self, signs: _Signs, query: npt.NDArray[np.float32], *, limit: int, workspace_id: int, repo_id: int | None
    ) -> npt.NDArray[np.int64]:
        mine = signs.workspaces == workspace_id
        if repo_id is not None:
            mine &= signs.repos == repo_id
        ids = signs.ids if bool(mine.all()) else signs.ids[mine]
        wanted = limit * self._oversample
        if self._oversample == 0 or wanted >= len(ids):
            return ids
        everyone = len(ids) == len(signs.ids)
        words = signs.words if everyone else signs.words[:, mine]
        ones = signs.ones if everyone else signs.ones[mine]
        estimates = _estimates(words, ones, query)
        return ids[np.argpartition(-estimates, wanted)[:wanted]]

    def _loaded(self, conn: Connection, generation: int, size: int) -> _Signs:
        current = self._signs
        if current is not None and current.generation == generation:
            return current
        with self._lock:  # one thread reloads; the others wait for its result
            current = self._signs
            if current is not None and current.generation == generation:
                return current
            # The generation was read first: what is loaded is at least that recent.
            rows = conn.exec_driver_sql(
                f"SELECT s.chunk_id, c.workspace_id, c.repo_id, s.signs FROM {SIGNS} s "  # noqa: S608
                "JOIN chunks c ON c.id = s.chunk_id ORDER BY s.chunk_id"
            ).all()
            width = word_count(size)
            packed = np.frombuffer(b"".join(row[3] for row in rows), dtype=np.uint64).reshape(len(rows), width)
            words = np.ascontiguousarray(packed.T)
            ones = np.zeros(len(rows), dtype=np.int64)
            for column in words:
                ones += np.bitwise_count(column)
            loaded = _Signs(
                generation=generation,
                ids=np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows)),
                workspaces=np.fromiter((row[1] for row in rows), dtype=np.int64, count=len(rows)),
                repos=np.fromiter((row[2] for row in rows), dtype=np.int64, count=len(rows)),
                words=words,
                ones=ones,
            )
            self._signs = loaded
            return loaded


def _scored(
    conn: Connection, query: npt.NDArray[np.float32], candidates: npt.NDArray[np.int64], *, limit: int
) -> list[tuple[int, float]]:
    """Exact cosine distances of the candidates (read by primary key), the `limit` nearest first."""
    if len(candidates) == 0:
        return []
    rows = conn.exec_driver_sql(
        f"SELECT chunk_id, embedding FROM {TABLE} WHERE chunk_id IN (SELECT value FROM json_each(?))",  # noqa: S608
        (json.dumps(candidates.tolist()),),
    ).all()
    if not rows:
        return []
    matrix = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32).reshape(len(rows), len(query))
    norms = np.linalg.norm(matrix, axis=1) * float(np.linalg.norm(query))
    similarities = np.divide(matrix @ query, norms, out=np.zeros(len(rows), dtype=np.float32), where=norms > 0)
    order = np.argsort(-similarities, kind="stable")[:limit]
    return [(int(rows[i][0]), float(1.0 - similarities[i])) for i in order]


def _estimates(
    words: npt.NDArray[np.uint64], ones: npt.NDArray[np.int64], query: npt.NDArray[np.float32]
) -> npt.NDArray[np.float64]:
    """For each vector, its signs s (±1) dotted with the query, up to a shared offset and scale.

    q·s = 2·Σ q_i b_i − Σ q_i, with b the sign bits. The query is cut into 16 levels,
    q_i ≈ low + step·u_i, so Σ q_i b_i ≈ low·ones + step·Σ_p 2^p·popcount(plane_p & b), where
    plane_p holds bit p of every u_i: a few AND + bit counts per word, like a Hamming distance.
    Scoring the float query against the signs finds far more of the exact nearest than
    comparing the query's own signs (SciFact, 50 nearest among 200: 0.97 against 0.89).
    """
    low, high = float(query.min()), float(query.max())
    if high <= low:
        return ones.astype(np.float64)
    step = (high - low) / (2**_QUERY_BITS - 1)
    levels = np.rint((query - low) / step).astype(np.int64)
    total = np.zeros(len(ones), dtype=np.int32)
    part = np.empty(len(ones), dtype=np.uint16)  # at most one count per dimension
    scratch = np.empty(len(ones), dtype=np.uint64)
    for bit in range(_QUERY_BITS):
        plane = pack_bits((((levels >> bit) & 1) == 1)[np.newaxis, :])[0]
        part.fill(0)
        for column, word in zip(words, plane, strict=True):
            np.bitwise_and(column, word, out=scratch)
            np.add(part, np.bitwise_count(scratch), out=part)
        total += part.astype(np.int32) << bit
    return np.asarray((low / step) * ones + total, dtype=np.float64)


def _nearest_postgres(
    conn: Connection, vector: Sequence[float], *, limit: int, workspace_id: int, repo_id: int | None
) -> list[tuple[int, float]]:
    size = dimensions(conn)
    if size is None or size != len(vector):
        return []
    fetch = int(limit) * _POSTGRES_OVERFETCH
    conn.execute(text("SELECT set_config('hnsw.ef_search', :ef, true)"), {"ef": str(_ef_search(fetch))})
    # The inner query alone is what the HNSW index answers; the workspace filter runs on its rows.
    repo_filter = "AND c.repo_id = :repo" if repo_id is not None else ""
    rows = conn.execute(
        text(
            "SELECT n.chunk_id, n.distance FROM "  # noqa: S608
            f"(SELECT chunk_id, embedding <=> CAST(:vector AS vector) AS distance FROM {TABLE} "
            "ORDER BY distance LIMIT :fetch) n JOIN chunks c ON c.id = n.chunk_id "
            f"WHERE c.workspace_id = :workspace {repo_filter} ORDER BY n.distance LIMIT :limit"
        ),
        {"vector": pg_literal(vector), "fetch": fetch, "limit": int(limit), "workspace": workspace_id, "repo": repo_id},
    )
    return [(int(row[0]), float(row[1])) for row in rows]


def _ef_search(limit: int) -> int:
    return max(40, min(int(limit), _EF_SEARCH_MAX))
