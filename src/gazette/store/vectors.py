"""Chunk vectors in sqlite-vec (`vec0`, cosine distance), keyed by chunk id.

The table is created for the embedding size of the model in use; a model of another size
replaces it (every repository then re-embeds, as their `embedding_model` no longer matches).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import Connection, bindparam, text, update

from gazette.store.tables import repos

TABLE = "chunk_vectors"


def supported(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def dimensions(conn: Connection) -> int | None:
    sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = ?", (TABLE,)).scalar()
    match = re.search(r"float\[(\d+)\]", sql or "")
    return int(match.group(1)) if match else None


def ensure_table(conn: Connection, size: int) -> None:
    """Create the vector table for `size`, replacing one of another size."""
    current = dimensions(conn)
    if current == size:
        return
    if current is not None:
        conn.exec_driver_sql(f"DROP TABLE {TABLE}")
        conn.execute(update(repos).values(embedding_model=None))
    conn.exec_driver_sql(
        f"CREATE VIRTUAL TABLE {TABLE} USING vec0(embedding float[{int(size)}] distance_metric=cosine)"
    )


def insert(conn: Connection, chunk_ids: Sequence[int], vectors: Sequence[Sequence[float]]) -> None:
    import sqlite_vec

    conn.exec_driver_sql(
        f"INSERT INTO {TABLE}(rowid, embedding) VALUES (?, ?)",  # noqa: S608 - constant table name
        [
            (chunk_id, sqlite_vec.serialize_float32(list(vector)))
            for chunk_id, vector in zip(chunk_ids, vectors, strict=True)
        ],
    )


def delete_for_files(conn: Connection, file_ids: Sequence[int]) -> None:
    if file_ids and supported(conn) and dimensions(conn) is not None:
        statement = text(f"DELETE FROM {TABLE} WHERE rowid IN (SELECT id FROM chunks WHERE file_id IN :ids)")  # noqa: S608
        conn.execute(statement.bindparams(bindparam("ids", expanding=True)), {"ids": list(file_ids)})


def delete_for_repo(conn: Connection, repo_id: int) -> None:
    if supported(conn) and dimensions(conn) is not None:
        statement = text(f"DELETE FROM {TABLE} WHERE rowid IN (SELECT id FROM chunks WHERE repo_id = :repo)")  # noqa: S608
        conn.execute(statement, {"repo": repo_id})


def nearest(conn: Connection, vector: Sequence[float], *, limit: int) -> list[tuple[int, float]]:
    """(chunk id, cosine distance) of the `limit` nearest chunks, nearest first."""
    import sqlite_vec

    if dimensions(conn) is None:
        return []
    rows = conn.exec_driver_sql(
        f"SELECT rowid, distance FROM {TABLE} WHERE embedding MATCH ? AND k = ? ORDER BY distance",  # noqa: S608
        (sqlite_vec.serialize_float32(list(vector)), int(limit)),
    )
    return [(int(row[0]), float(row[1])) for row in rows]
