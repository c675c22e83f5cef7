"""Turning one file into rows: read, hash, chunk, expand terms. Pure and picklable.

Runs in the indexing process or, for large jobs, in worker processes (`prepare_all`), so the
Python work of many files spreads over the cores while the parent writes to the store.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import multiprocessing
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from gazette.index import terms as code_terms
from gazette.index.chunking import Chunk, chunk_pages, chunk_text, language_of
from gazette.index.walker import Candidate

# Below this many files to read, worker processes cost more to start than they save.
PARALLEL_MIN_FILES = 200
_CHUNKSIZE = 16
WORKER_NICENESS = 10
_WINDOW = 1024


@dataclass(frozen=True)
class Prepared:
    """What became of one file: `indexed` or `error` (rows to write), or `unchanged` (same sha256)."""

    path: str
    outcome: Literal["indexed", "error", "unchanged"]
    file_row: dict[str, Any] = field(default_factory=dict)
    chunk_rows: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    unreadable: bool = False


def prepare_file(candidate: Candidate, known_sha256: str | None) -> Prepared:
    """Read and chunk `candidate`; `unchanged` when its sha256 equals `known_sha256`."""
    try:
        data = candidate.absolute.read_bytes()
    except OSError as exc:
        reason = str(exc.strerror or exc)
        return Prepared(
            candidate.path, "error", file_row(candidate, "", "error", reason), [], f"unreadable: {reason}", True
        )
    digest = hashlib.sha256(data).hexdigest()
    if digest == known_sha256:
        return Prepared(candidate.path, "unchanged")
    language = language_of(candidate.path)
    try:
        pieces = file_chunks(language, data)
    except ValueError as exc:
        return Prepared(candidate.path, "error", file_row(candidate, digest, "error", str(exc)), [], str(exc))
    chunk_rows = [
        {
            "ordinal": piece.ordinal,
            "start_line": piece.start_line,
            "end_line": piece.end_line,
            "heading": piece.heading,
            "text": piece.text,
            "token_estimate": max(1, len(piece.text) // 4),
            "search_terms": code_terms.search_terms(piece.text, path=candidate.path),
        }
        for piece in pieces
    ]
    return Prepared(candidate.path, "indexed", file_row(candidate, digest, "indexed", None), chunk_rows)


def prepare_all(work: Sequence[tuple[Candidate, str | None]], *, workers: int) -> Iterator[Prepared]:
    """`prepare_file` over `work`, in order; on `workers` processes when there is enough of it."""
    if workers <= 1 or len(work) < PARALLEL_MIN_FILES:
        for candidate, known in work:
            yield prepare_file(candidate, known)
        return
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_context(), initializer=_yield_to_writer)
    try:
        # A window at a time, so finished files wait in memory only until the caller takes them;
        # the next window is queued before this one is handed out, so the workers never idle
        # while the caller writes the end of a window.
        queued: Iterator[Prepared] = iter(())
        for start in range(0, len(work), _WINDOW):
            window = work[start : start + _WINDOW]
            candidates = [candidate for candidate, _ in window]
            shas = [sha for _, sha in window]
            following = pool.map(prepare_file, candidates, shas, chunksize=_CHUNKSIZE)
            yield from queued
            queued = following
        yield from queued
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _yield_to_writer() -> None:
    """A worker runs at a lower priority than the process that writes what it prepares.

    The writer is the pipeline's critical path; at equal priority the workers took a third of
    its core on 2 cores. Lower, they use what the writer leaves (and leave a server's requests alone).
    """
    with contextlib.suppress(OSError, AttributeError):  # no os.nice on Windows
        os.nice(WORKER_NICENESS)


def _context() -> multiprocessing.context.BaseContext:
    """fork when this process runs one thread (the CLI, a script): workers start at once.

    Beside other threads (a server's), forking could copy a lock some thread holds; forkserver
    starts workers from a small, clean, preloaded process instead (about a second slower).
    """
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["gazette.index.prepare"])
    return context


def default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def file_row(candidate: Candidate, digest: str, status: str, error: str | None) -> dict[str, Any]:
    return {
        "path": candidate.path,
        "sha256": digest,
        "size": candidate.size,
        "mtime": candidate.mtime,
        "language": language_of(candidate.path),
        "status": status,
        "error": error,
    }


def file_chunks(language: str, data: bytes) -> list[Chunk]:
    """Raises ValueError for binary content or an unreadable PDF."""
    if language == "pdf":
        return chunk_pages(pdf_pages(data))
    if b"\x00" in data[:8192]:
        raise ValueError("binary content (NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return chunk_text(text, language)


def pdf_pages(data: bytes) -> list[str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        return [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise ValueError(f"unreadable PDF: {exc}") from None
