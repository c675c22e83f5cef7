"""Audit capability: an append-only, hash-chained log."""

from gazette.audit.chain import Break
from gazette.audit.service import Audit, Entry, Verification, digest_arguments

__all__ = ["Audit", "Break", "Entry", "Verification", "digest_arguments"]
