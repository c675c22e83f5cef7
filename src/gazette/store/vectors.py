"""Chunk vectors keyed by chunk id, cosine distance: plain SQLite tables or pgvector (HNSW).

SQLite keeps three tables, created for the embedding size of the model in use:

- `chunk_vectors(chunk_id, embedding)`: each vector as float32 bytes, read by primary key to
  score candidates exactly;
- `chunk_vector_signs(chunk_id, signs)`: the sign of each dimension, one bit each (48 bytes for
  384 dimensions), which the candidate pass scores against the query (`vector_search`);
- `chunk_vector_state`: one row, the size and a generation that every write moves on.

Both vector tables cascade from `chunks`; `vector_search.VectorSearch` reads them. sqlite-vec's
`vec0` table, the earlier layout, scanned every float of every vector per query (~120 ms at
100,000 × 384); a store with it is copied over on first use.

A model of another size replaces the tables (every repository then re-embeds, as their
`embedding_model` no longer matches). On PostgreSQL the `vector` extension must be available
(pgvector); without it `supported` says no and search stays BM25-only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, text, update
from sqlalchemy.exc import DBAPIError

from gazette.errors import StoreUnavailableError
from gazette.logs import get_logger
from gazette.store.tables import repos

TABLE = "chunk_vectors"
SIGNS = "chunk_vector_signs"
STATE = "chunk_vector_state"
_LOCK_KEY = 0x6761_7A76  # "gazv": one replica creates or replaces the table at a time
_COPY_BATCH = 10_000
_log = get_logger("gazette.store.vectors")


def supported(conn: Connection) -> bool:
    """Whether this store can hold vectors (always on SQLite; with pgvector on PostgreSQL)."""
    if conn.dialect.name == "sqlite":
        return True
    return bool(conn.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).first())


def dimensions(conn: Connection) -> int | None:
    """The size of the stored vectors, None before any."""
    if conn.dialect.name == "sqlite":
        layout = _sqlite_layout(conn)
        return layout[1] if layout else None
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
    """Create the vector tables for `size`, replacing those of another size (and the old layout).

    Raises:
        StoreUnavailableError: PostgreSQL without a usable pgvector extension.
    """
    if conn.dialect.name != "sqlite":
        _ensure_postgres(conn, size)
        return
    current = upgrade(conn)
    if current == size:
        return
    _begin(conn)
    if current is not None:
        conn.execute(update(repos).values(embedding_model=None))
    _create_sqlite(conn, size)


def upgrade(conn: Connection) -> int | None:
    """SQLite: copy the vectors of sqlite-vec's `vec0` table (the earlier layout) into the current
    tables, once; returns the size of the stored vectors (None before any)."""
    layout = _sqlite_layout(conn)
    if layout is None or layout[0] == "tables":
        return layout[1] if layout else None
    size = layout[1]
    _begin(conn)
    # A vec0 table cannot be renamed: its rows go through a temporary table while it is replaced.
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE {TABLE}_vec0 AS SELECT rowid AS chunk_id, embedding FROM main.{TABLE}"  # noqa: S608
    )
    conn.exec_driver_sql(f"DROP TABLE main.{TABLE}")
    _create_sqlite(conn, size)
    conn.exec_driver_sql(
        f"INSERT INTO main.{TABLE} (chunk_id, embedding) SELECT chunk_id, embedding FROM temp.{TABLE}_vec0 "  # noqa: S608
        "WHERE chunk_id IN (SELECT id FROM chunks)"  # vec0 did not follow deleted chunks by itself
    )
    conn.exec_driver_sql(f"DROP TABLE temp.{TABLE}_vec0")
    copied = 0
    last = 0
    while True:
        batch = conn.exec_driver_sql(
            f"SELECT chunk_id, embedding FROM {TABLE} WHERE chunk_id > ? ORDER BY chunk_id LIMIT ?",  # noqa: S608
            (last, _COPY_BATCH),
        ).all()
        if not batch:
            break
        block = np.frombuffer(b"".join(row[1] for row in batch), dtype=np.float32).reshape(len(batch), size)
        _insert_signs(conn, [int(row[0]) for row in batch], block)
        last = int(batch[-1][0])
        copied += len(batch)
    _log.info("vectors moved from sqlite-vec's vec0 table to plain tables", vectors=copied, dimensions=size)
    return size


def insert(conn: Connection, chunk_ids: Sequence[int], vectors: Sequence[Sequence[float]]) -> None:
    if not chunk_ids:
        return
    if conn.dialect.name == "sqlite":
        block = np.asarray(vectors, dtype=np.float32)
        conn.exec_driver_sql(
            f"INSERT INTO {TABLE} (chunk_id, embedding) VALUES (?, ?)",  # noqa: S608 - constant table name
            [(int(chunk_id), row.tobytes()) for chunk_id, row in zip(chunk_ids, block, strict=True)],
        )
        _insert_signs(conn, chunk_ids, block)
        _bump(conn)
        return
    conn.execute(
        text(f"INSERT INTO {TABLE} (chunk_id, embedding) VALUES (:id, CAST(:vector AS vector))"),  # noqa: S608
        [{"id": chunk_id, "vector": pg_literal(vector)} for chunk_id, vector in zip(chunk_ids, vectors, strict=True)],
    )


def forget_deleted(conn: Connection) -> None:
    """Before chunks are deleted: their vectors cascade away with them, and searches reload the signs."""
    # vec0 rows did not cascade: the earlier layout is moved over first, or it would keep them.
    if conn.dialect.name == "sqlite" and upgrade(conn) is not None:
        _bump(conn)


def word_count(size: int) -> int:
    """64-bit words holding one bit for each of `size` dimensions."""
    return (size + 63) // 64


def pack_bits(bits: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint64]:
    """Rows of bits packed into whole 64-bit words (zero padded)."""
    padded = np.zeros((bits.shape[0], word_count(bits.shape[1]) * 64), dtype=bool)
    padded[:, : bits.shape[1]] = bits
    return np.packbits(padded, axis=1, bitorder="little").view(np.uint64)


def _insert_signs(conn: Connection, chunk_ids: Sequence[int], block: npt.NDArray[np.float32]) -> None:
    packed = pack_bits(block > 0)
    conn.exec_driver_sql(
        f"INSERT INTO {SIGNS} (chunk_id, signs) VALUES (?, ?)",  # noqa: S608 - constant table name
        [(int(chunk_id), row.tobytes()) for chunk_id, row in zip(chunk_ids, packed, strict=True)],
    )


def _begin(conn: Connection) -> None:
    """Python's sqlite3 runs DDL outside any transaction unless one is begun: without this an
    interrupted move could drop the vec0 table before its rows were copied."""
    if not getattr(conn.connection.dbapi_connection, "in_transaction", True):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _bump(conn: Connection) -> None:
    conn.exec_driver_sql(f"UPDATE {STATE} SET generation = generation + 1")  # noqa: S608


def _sqlite_layout(conn: Connection) -> tuple[str, int] | None:
    """("tables", size) for the current layout, ("vec0", size) for the earlier one, None before any vectors."""
    sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = ?", (TABLE,)).scalar()
    if sql is None:
        return None
    if "vec0" in sql:
        match = re.search(r"float\[(\d+)\]", sql)
        return ("vec0", int(match.group(1)) if match else 0)
    size = conn.exec_driver_sql(f"SELECT dimensions FROM {STATE}").scalar_one()  # noqa: S608
    return ("tables", int(size))


def _create_sqlite(conn: Connection, size: int) -> None:
    _drop_sqlite(conn)
    for table, column in ((TABLE, "embedding"), (SIGNS, "signs")):
        conn.exec_driver_sql(
            f"CREATE TABLE {table} (chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE, "
            f"{column} BLOB NOT NULL)"
        )
    # The state row outlives a replacement: its generation only ever grows, so no search can
    # mistake new tables for the ones it loaded.
    conn.exec_driver_sql(
        f"CREATE TABLE IF NOT EXISTS {STATE} (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "dimensions INTEGER NOT NULL, generation INTEGER NOT NULL)"
    )
    conn.exec_driver_sql(
        f"INSERT INTO {STATE} (id, dimensions, generation) VALUES (1, ?, 1) "  # noqa: S608
        "ON CONFLICT (id) DO UPDATE SET dimensions = excluded.dimensions, generation = generation + 1",
        (int(size),),
    )


def _drop_sqlite(conn: Connection) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {SIGNS}")


def _ensure_postgres(conn: Connection, size: int) -> None:
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    current = dimensions(conn)
    if current == size:
        return
    if current is not None:
        conn.exec_driver_sql(f"DROP TABLE {TABLE}")
        conn.execute(update(repos).values(embedding_model=None))
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


def pg_literal(vector: Sequence[float]) -> str:
    """pgvector's text form, `[x,y,...]`, exact for float32 values."""
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"
