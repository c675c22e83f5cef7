"""What the index capability returns."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

RepoState = Literal["indexed", "indexing", "stale", "failed", "unknown"]


class Repo(BaseModel):
    name: str
    root: str
    status: str
    last_indexed_at: datetime | None
    last_error: str | None
    files: int
    chunks: int
    skipped: int
    errors: int


class FileError(BaseModel):
    path: str
    error: str


class IndexReport(BaseModel):
    """What one indexing run did."""

    repo: str
    root: str
    indexed: int = Field(description="Files (re)indexed in this run.")
    unchanged: int
    removed: int
    chunks: int = Field(description="Chunks in the repository after the run.")
    files: int = Field(description="Indexed files in the repository after the run.")
    skipped: dict[str, int]
    skipped_examples: dict[str, list[str]]
    errors: list[FileError]
    seconds: float


class RepoStatus(BaseModel):
    """The seed's status contract."""

    status: RepoState
    last_updated: datetime | None
    files: int
    chunks: int
    errors: list[FileError]
    message: str | None = None


class Hit(BaseModel):
    """A cited search result: where it is, and what it says."""

    repo: str
    path: str = Field(description="Relative to the repository root, '/'-separated.")
    start_line: int
    end_line: int
    heading: str | None
    content: str = Field(description="The whole chunk.")
    snippet: str = Field(description="The lines of the chunk that match best.")
    score: float


class FileContent(BaseModel):
    repo: str
    path: str
    language: str
    size: int
    content: str
