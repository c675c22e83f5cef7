"""Queries on `repos`, `files`, `chunks` and full text (a contentless FTS5 index on SQLite, tsvector on PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, text, update

from gazette.store import vectors
from gazette.store.tables import chunks, files, repos

# A term in a heading (or a document's title) counts this much more than in the body (FTS5 bm25
# column weight; on PostgreSQL headings carry weight A). SciFact nDCG@10 rose by ~0.005 at 2.0.
HEADING_WEIGHT = 2.0


def find_repo(conn: Connection, workspace_id: int, name: str) -> Any:
    return conn.execute(select(repos).where(repos.c.workspace_id == workspace_id, repos.c.name == name)).first()


def find_repo_by_id(conn: Connection, repo_id: int) -> Any:
    return conn.execute(select(repos).where(repos.c.id == repo_id)).one()


def list_repos(conn: Connection, workspace_id: int) -> list[Any]:
    return list(conn.execute(select(repos).where(repos.c.workspace_id == workspace_id).order_by(repos.c.name)))


def insert_repo(conn: Connection, *, workspace_id: int, name: str, root: str, now: datetime) -> int:
    values = {"workspace_id": workspace_id, "name": name, "root_path": root, "status": "indexing", "created_at": now}
    return int(conn.execute(insert(repos).values(**values).returning(repos.c.id)).scalar_one())


def update_repo(conn: Connection, repo_id: int, **values: Any) -> None:
    conn.execute(update(repos).where(repos.c.id == repo_id).values(**values))


def delete_repo(conn: Connection, repo_id: int) -> None:
    vectors.forget_deleted(conn)
    if conn.dialect.name == "sqlite":
        conn.execute(
            text("DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE repo_id = :repo)"),
            {"repo": repo_id},
        )
    conn.execute(delete(chunks).where(chunks.c.repo_id == repo_id))
    conn.execute(delete(files).where(files.c.repo_id == repo_id))
    conn.execute(delete(repos).where(repos.c.id == repo_id))


def known_files(conn: Connection, repo_id: int) -> dict[str, Any]:
    """path -> row (id, sha256, size, mtime, status) of every file recorded for the repo."""
    rows = conn.execute(
        select(files.c.id, files.c.path, files.c.sha256, files.c.size, files.c.mtime, files.c.status).where(
            files.c.repo_id == repo_id
        )
    )
    return {row.path: row for row in rows}


def find_file(conn: Connection, repo_id: int, path: str) -> Any:
    return conn.execute(select(files).where(files.c.repo_id == repo_id, files.c.path == path)).first()


def replace_files(
    conn: Connection,
    *,
    repo_id: int,
    workspace_id: int,
    entries: Sequence[tuple[dict[str, Any], Sequence[dict[str, Any]], int | None]],
) -> list[list[int]]:
    """Write files' rows and chunks, replacing what was there (inside the caller's transaction).

    `entries` are (file row, chunk rows, id of the file's existing row or None). One statement
    per table for the whole batch. Returns each file's new chunk ids, in order.
    """
    if not entries:
        return []
    _delete_chunks(conn, [existing for _, _, existing in entries if existing is not None])
    file_ids: list[int | None] = [existing for _, _, existing in entries]
    updates = [
        {**file, "chunk_count": len(chunk_rows), "target": existing}
        for file, chunk_rows, existing in entries
        if existing is not None
    ]
    if updates:
        statement = update(files).where(files.c.id == bindparam("target"))
        conn.execute(statement, updates)
    fresh = [number for number, (_, _, existing) in enumerate(entries) if existing is None]
    if fresh:
        values = [{**entries[n][0], "repo_id": repo_id, "chunk_count": len(entries[n][1])} for n in fresh]
        for number, new_id in zip(fresh, _insert_many(conn, files, values, repo_id), strict=True):
            file_ids[number] = new_id
    rows = [
        {**row, "file_id": file_id, "repo_id": repo_id, "workspace_id": workspace_id}
        for file_id, (_, chunk_rows, _) in zip(file_ids, entries, strict=True)
        for row in chunk_rows
    ]
    if not rows:
        return [[] for _ in entries]
    ids = (
        _insert_chunks_sqlite(conn, rows, repo_id)
        if conn.dialect.name == "sqlite"
        else _insert_many(conn, chunks, rows, repo_id)
    )
    grouped: list[list[int]] = []
    offset = 0
    for _, chunk_rows, _ in entries:
        grouped.append(ids[offset : offset + len(chunk_rows)])
        offset += len(chunk_rows)
    return grouped


def _insert_many(conn: Connection, table: Any, values: list[dict[str, Any]], repo_id: int) -> list[int]:
    """Insert rows, returning their ids in order.

    SQLite cannot promise the order of RETURNING over a multi-row insert, so SQLAlchemy would send
    the rows one statement at a time (3.6 of 5.4 s indexing the stdlib). Instead the ids are
    taken after the current largest, under the write lock this transaction holds from its first
    write on (the repository row is touched first to be sure), and the rows go in one executemany.
    """
    if conn.dialect.name != "sqlite":
        returning = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return [int(new_id) for new_id in conn.execute(returning, values).scalars()]
    start = _first_free_id(conn, table, repo_id)
    ids = list(range(start, start + len(values)))
    conn.execute(insert(table), [{**row, "id": new_id} for row, new_id in zip(values, ids, strict=True)])
    return ids


_INSERT_CHUNKS = (
    "INSERT INTO chunks (id, file_id, repo_id, workspace_id, ordinal, start_line, end_line, heading, text, "
    "token_estimate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_FTS = "INSERT INTO chunks_fts (rowid, search_text, heading) VALUES (?, ?, ?)"


def _insert_chunks_sqlite(conn: Connection, rows: list[dict[str, Any]], repo_id: int) -> list[int]:
    """Insert chunk rows and their full-text rows, returning the chunks' ids in order.

    The search text goes only into the contentless FTS5 index (migration 0016): written once.
    Plain tuples through the driver's executemany: SQLAlchemy's per-row parameter processing
    was a visible share of the indexing process's time.
    """
    first = _first_free_id(conn, chunks, repo_id)
    ids = list(range(first, first + len(rows)))
    conn.exec_driver_sql(
        _INSERT_CHUNKS,
        [
            (
                chunk_id,
                row["file_id"],
                row["repo_id"],
                row["workspace_id"],
                row["ordinal"],
                row["start_line"],
                row["end_line"],
                row["heading"],
                row["text"],
                row["token_estimate"],
            )
            for chunk_id, row in zip(ids, rows, strict=True)
        ],
    )
    conn.exec_driver_sql(
        _INSERT_FTS,
        [(chunk_id, row["search_text"], row["heading"] or "") for chunk_id, row in zip(ids, rows, strict=True)],
    )
    return ids


def _first_free_id(conn: Connection, table: Any, repo_id: int) -> int:
    """The id after `table`'s largest, with this transaction holding SQLite's write lock (see `_insert_many`)."""
    conn.execute(update(repos).where(repos.c.id == repo_id).values(status="indexing"))
    return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1


def delete_files(conn: Connection, file_ids: Sequence[int]) -> None:
    if file_ids:
        _delete_chunks(conn, file_ids)
        conn.execute(delete(files).where(files.c.id.in_(file_ids)))


def count_repo(conn: Connection, repo_id: int) -> tuple[int, int, int]:
    """(indexed files, chunks, files in error)."""
    indexed = conn.execute(
        select(func.count()).select_from(files).where(files.c.repo_id == repo_id, files.c.status == "indexed")
    ).scalar_one()
    errors = conn.execute(
        select(func.count()).select_from(files).where(files.c.repo_id == repo_id, files.c.status == "error")
    ).scalar_one()
    chunk_total = conn.execute(select(func.count()).select_from(chunks).where(chunks.c.repo_id == repo_id)).scalar_one()
    return int(indexed), int(chunk_total), int(errors)


def file_errors(conn: Connection, repo_id: int, *, limit: int = 50) -> list[Any]:
    query = select(files.c.path, files.c.error).where(files.c.repo_id == repo_id, files.c.status == "error")
    return list(conn.execute(query.order_by(files.c.path).limit(limit)))


def search(
    conn: Connection,
    *,
    workspace_id: int,
    repo_id: int | None,
    terms: list[str],
    limit: int,
    common_after: int | None = None,
) -> list[Any]:
    """Best chunks for any of `terms` (already reduced to plain words), best first, with `score`.

    The time of a query grows with the length of its terms' posting lists. Terms found in more
    than `common_after` chunks (None: no limit) therefore only score: the chunks considered are
    those holding at least one rarer term, and each of them gets its exact score over every
    term. A chunk holding only such frequent terms is not found unless no term is rarer.
    """
    rare, common = _split_common(conn, terms, common_after) if common_after is not None else (terms, [])
    params: dict[str, Any] = {"workspace": workspace_id, "limit": limit}
    if repo_id is not None:
        params["repo"] = repo_id
    if conn.dialect.name != "sqlite":
        return _search_postgres(conn, params, match=rare, rank=terms)
    if not common:
        return _search_sqlite(conn, params, fts5_match(rare))
    # BM25 sums a weight per query term present in a chunk, and FTS5 scores every chunk its
    # expression matches. A chunk holding no common term scores the same by the rare terms
    # alone; chunks holding both are scored in full by `rare AND common`, which FTS5 walks along
    # the short posting lists. A chunk of the first kind that belongs in the best `limit` is
    # among the first pass's best `limit` (each chunk above it there scores at least as much in
    # full), and one of the second kind among the second pass's: the merged best are exact.
    alone = _search_sqlite(conn, params, fts5_match(rare))
    both = _search_sqlite(conn, params, f"({fts5_match(rare)}) AND ({fts5_match(common)})")
    merged = {row.id: row for row in alone} | {row.id: row for row in both}
    return sorted(merged.values(), key=lambda row: -row.score)[:limit]


def _search_sqlite(conn: Connection, params: dict[str, Any], match: str) -> list[Any]:
    # Rank in FTS5 alone first, then join the few best: joining every match before sorting costs
    # 3x the query. Other workspaces' (or repos') chunks may crowd the first window; when fewer
    # than `limit` survive the filter, the exact query runs.
    params = {**params, "match": match}
    repo_id = params.get("repo")
    found = list(conn.execute(_sqlite_statement(repo_id, windowed=True), {**params, "window": params["limit"] * 4}))
    if len(found) < params["limit"]:
        found = list(conn.execute(_sqlite_statement(repo_id, windowed=False), params))
    return found


_COLUMNS = "c.id, c.start_line, c.end_line, c.heading, c.text, f.path, r.name AS repo"
_RANK = f"bm25(chunks_fts, 1.0, {HEADING_WEIGHT})"


def _sqlite_statement(repo_id: int | None, *, windowed: bool) -> Any:
    # Only constant fragments are formatted in; every value is a bound parameter.
    repo_filter = "AND c.repo_id = :repo" if repo_id is not None else ""
    if windowed:
        return text(
            f"SELECT {_COLUMNS}, -top.rank AS score FROM "  # noqa: S608
            f"(SELECT rowid AS id, {_RANK} AS rank FROM chunks_fts WHERE chunks_fts MATCH :match "
            "ORDER BY rank LIMIT :window) top "
            "JOIN chunks c ON c.id = top.id JOIN files f ON f.id = c.file_id JOIN repos r ON r.id = c.repo_id "
            f"WHERE c.workspace_id = :workspace {repo_filter} ORDER BY top.rank LIMIT :limit"
        )
    return text(
        f"SELECT {_COLUMNS}, -{_RANK} AS score FROM chunks_fts "  # noqa: S608
        "JOIN chunks c ON c.id = chunks_fts.rowid JOIN files f ON f.id = c.file_id "
        "JOIN repos r ON r.id = c.repo_id "
        f"WHERE chunks_fts MATCH :match AND c.workspace_id = :workspace {repo_filter} "
        f"ORDER BY {_RANK} LIMIT :limit"
    )


def _split_common(conn: Connection, terms: list[str], cap: int) -> tuple[list[str], list[str]]:
    """(`terms` in at most `cap` chunks, the others); all of them rare if none is."""
    if len(terms) < 2:
        return terms, []
    # Counting stops at cap + 1, so the cost is bounded whatever the term (and the index stems it).
    if conn.dialect.name == "sqlite":
        count = text("SELECT count(*) FROM (SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH :match LIMIT :stop)")
        matches = [fts5_match([term]) for term in terms]
    else:
        count = text(
            "SELECT count(*) FROM (SELECT 1 FROM chunks WHERE tsv @@ to_tsquery('english', :match) LIMIT :stop) hits"
        )
        matches = [tsquery([term]) for term in terms]
    rare: list[str] = []
    common: list[str] = []
    for term, match in zip(terms, matches, strict=True):
        frequent = bool(match) and conn.execute(count, {"match": match, "stop": cap + 1}).scalar_one() > cap
        (common if frequent else rare).append(term)
    return (rare, common) if rare else (terms, [])


def _search_postgres(conn: Connection, params: dict[str, Any], *, match: list[str], rank: list[str]) -> list[Any]:
    # The chunks holding a rare term, ranked by every term: ts_rank_cd takes its own query. The
    # best are picked from `chunks` alone and only they are joined: joining (and carrying the
    # text of) every match before sorting took a third of the time at 100,000 chunks.
    repo_filter = "AND c.repo_id = :repo" if "repo" in params else ""
    statement = text(
        f"SELECT {_COLUMNS}, top.score FROM "  # noqa: S608
        "(SELECT c.id, ts_rank_cd(c.tsv, ranked) AS score "
        "FROM chunks c, to_tsquery('english', :match) q, to_tsquery('english', :rank) ranked "
        f"WHERE c.tsv @@ q AND c.workspace_id = :workspace {repo_filter} ORDER BY score DESC LIMIT :limit) top "
        "JOIN chunks c ON c.id = top.id JOIN files f ON f.id = c.file_id JOIN repos r ON r.id = c.repo_id "
        "ORDER BY top.score DESC"
    )
    return list(conn.execute(statement, {**params, "match": tsquery(match), "rank": tsquery(rank)}))


def fts5_match(terms: Sequence[str]) -> str:
    """An FTS5 MATCH expression: each term quoted (a phrase of its tokens), any of them."""
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


def tsquery(terms: Sequence[str]) -> str:
    """A to_tsquery expression: word terms only, joined with | (any of them)."""
    return " | ".join(term for term in terms if _TSQUERY_WORD.fullmatch(term))


_TSQUERY_WORD = re.compile(r"\w+")


def chunks_by_ids(conn: Connection, ids: Sequence[int], *, workspace_id: int, repo_id: int | None) -> list[Any]:
    """The same columns as `search` (without score) for the given chunk ids, within the workspace (and repo)."""
    if not ids:
        return []
    repo_filter = "AND c.repo_id = :repo" if repo_id is not None else ""
    statement = text(
        f"SELECT {_COLUMNS} FROM chunks c "  # noqa: S608
        "JOIN files f ON f.id = c.file_id JOIN repos r ON r.id = c.repo_id "
        f"WHERE c.id IN :ids AND c.workspace_id = :workspace {repo_filter}"
    ).bindparams(bindparam("ids", expanding=True))
    params: dict[str, Any] = {"ids": list(ids), "workspace": workspace_id}
    if repo_id is not None:
        params["repo"] = repo_id
    return list(conn.execute(statement, params))


def chunk_texts(conn: Connection, repo_id: int) -> list[tuple[int, str]]:
    """(chunk id, text) of every chunk of a repository, for re-embedding."""
    rows = conn.execute(select(chunks.c.id, chunks.c.heading, chunks.c.text).where(chunks.c.repo_id == repo_id))
    return [(row.id, embedding_text(row.heading, row.text)) for row in rows]


def embedding_text(heading: str | None, body: str) -> str:
    return f"{heading}\n{body}" if heading else body


def _delete_chunks(conn: Connection, file_ids: Sequence[int]) -> None:
    if not file_ids:
        return
    vectors.forget_deleted(conn)
    if conn.dialect.name == "sqlite":
        # The index is contentless: its rows go by rowid, looked up before the chunks go.
        conn.execute(
            text("DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE file_id IN :ids)").bindparams(
                bindparam("ids", expanding=True)
            ),
            {"ids": list(file_ids)},
        )
    conn.execute(delete(chunks).where(chunks.c.file_id.in_(file_ids)))
