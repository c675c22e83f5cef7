"""Chunk vectors keyed by chunk id, cosine distance: sqlite-vec (`vec0`) or pgvector (HNSW).

The table is created for the embedding size of the model in use; a model of another size
replaces it (every repository then re-embeds, as their `embedding_model` no longer matches).
On PostgreSQL the `vector` extension must be available (pgvector); without it `supported`
says no and search stays BM25-only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import Connection, bindparam, text, update
from sqlalchemy.exc import DBAPIError

from gazette.errors import StoreUnavailableError
from gazette.store.tables import repos

TABLE = "chunk_vectors"
# HNSW returns at most ef_search candidates; it is raised per query to the number wanted.
_EF_SEARCH_MAX = 1000
_LOCK_KEY = 0x6761_7A76  # "gazv": one replica creates or replaces the table at a time


def supported(conn: Connection) -> bool:
    """Whether this store can hold vectors (always on SQLite; with pgvector on PostgreSQL)."""
    if conn.dialect.name == "sqlite":
        return True
    return bool(conn.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).first())


def dimensions(conn: Connection) -> int | None:
    if conn.dialect.name == "sqlite":
        sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = ?", (TABLE,)).scalar()
        match = re.search(r"float\[(\d+)\]", sql or "")
    else:
        kind = conn.execute(
            text(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = to_regclass(:table) AND attname = 'embedding'"
            ),
            {"table": TABLE},
        ).scalar()
        match = re.search(r"vector\((\d+)\)", kind or "")
    return int(match.group(1)) if match else None


def ensure_table(conn: Connection, size: int) -> None:
    """Create the vector table for `size`, replacing one of another size.

    Raises:
        StoreUnavailableError: PostgreSQL without a usable pgvector extension.
    """
    if conn.dialect.name != "sqlite":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    current = dimensions(conn)
    if current == size:
        return
    if current is not None:
        conn.exec_driver_sql(f"DROP TABLE {TABLE}")
        conn.execute(update(repos).values(embedding_model=None))
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(
            f"CREATE VIRTUAL TABLE {TABLE} USING vec0(embedding float[{int(size)}] distance_metric=cosine)"
        )
        return
    _create_extension(conn)
    conn.exec_driver_sql(
        f"CREATE TABLE {TABLE} (chunk_id bigint PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE, "
        f"embedding vector({int(size)}) NOT NULL)"
    )
    conn.exec_driver_sql(f"CREATE INDEX ix_{TABLE}_hnsw ON {TABLE} USING hnsw (embedding vector_cosine_ops)")


def _create_extension(conn: Connection) -> None:
    installed = conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'vector'")).first()
    if installed:
        return
    try:
        with conn.begin_nested():
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS vector")
    except DBAPIError as exc:  # a role without the privilege: one actionable message
        reason = str(exc.orig).strip().splitlines()[0]
        raise StoreUnavailableError(
            f"cannot enable pgvector in this database ({reason}); run `CREATE EXTENSION vector` as a superuser "
            "or set GAZETTE_EMBEDDINGS__PROVIDER=none"
        ) from None


def insert(conn: Connection, chunk_ids: Sequence[int], vectors: Sequence[Sequence[float]]) -> None:
    pairs = list(zip(chunk_ids, vectors, strict=True))
    if conn.dialect.name == "sqlite":
        import sqlite_vec

        conn.exec_driver_sql(
            f"INSERT INTO {TABLE}(rowid, embedding) VALUES (?, ?)",  # noqa: S608 - constant table name
            [(chunk_id, sqlite_vec.serialize_float32(list(vector))) for chunk_id, vector in pairs],
        )
        return
    conn.execute(
        text(f"INSERT INTO {TABLE} (chunk_id, embedding) VALUES (:id, CAST(:vector AS vector))"),  # noqa: S608
        [{"id": chunk_id, "vector": _literal(vector)} for chunk_id, vector in pairs],
    )


def delete_for_files(conn: Connection, file_ids: Sequence[int]) -> None:
    # PostgreSQL: the foreign key cascades from chunks.
    if file_ids and conn.dialect.name == "sqlite" and dimensions(conn) is not None:
        statement = text(f"DELETE FROM {TABLE} WHERE rowid IN (SELECT id FROM chunks WHERE file_id IN :ids)")  # noqa: S608
        conn.execute(statement.bindparams(bindparam("ids", expanding=True)), {"ids": list(file_ids)})


def delete_for_repo(conn: Connection, repo_id: int) -> None:
    if conn.dialect.name == "sqlite" and dimensions(conn) is not None:
        statement = text(f"DELETE FROM {TABLE} WHERE rowid IN (SELECT id FROM chunks WHERE repo_id = :repo)")  # noqa: S608
        conn.execute(statement, {"repo": repo_id})


def nearest(conn: Connection, vector: Sequence[float], *, limit: int) -> list[tuple[int, float]]:
    """(chunk id, cosine distance) of the `limit` nearest chunks, nearest first."""
    size = dimensions(conn)
    if size is None:
        return []
    if size != len(vector):
        return []  # vectors of another model; the next index run replaces them
    if conn.dialect.name == "sqlite":
        import sqlite_vec

        rows = conn.exec_driver_sql(
            f"SELECT rowid, distance FROM {TABLE} WHERE embedding MATCH ? AND k = ? ORDER BY distance",  # noqa: S608
            (sqlite_vec.serialize_float32(list(vector)), int(limit)),
        )
    else:
        conn.execute(text("SELECT set_config('hnsw.ef_search', :ef, true)"), {"ef": str(_ef_search(limit))})
        rows = conn.execute(
            text(
                f"SELECT chunk_id, embedding <=> CAST(:vector AS vector) AS distance FROM {TABLE} "  # noqa: S608
                "ORDER BY distance LIMIT :limit"
            ),
            {"vector": _literal(vector), "limit": int(limit)},
        )
    return [(int(row[0]), float(row[1])) for row in rows]


def _ef_search(limit: int) -> int:
    return max(40, min(int(limit), _EF_SEARCH_MAX))


def _literal(vector: Sequence[float]) -> str:
    """pgvector's text form, `[x,y,...]`, exact for float32 values."""
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"
