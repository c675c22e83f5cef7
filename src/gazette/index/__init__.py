"""Context engine: repositories indexed for search with citations."""

from gazette.index.models import FileContent, FileError, Hit, IndexReport, Repo, RepoStatus
from gazette.index.service import Index

__all__ = ["FileContent", "FileError", "Hit", "Index", "IndexReport", "Repo", "RepoStatus"]
