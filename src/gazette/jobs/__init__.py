"""Durable background jobs."""

from gazette.jobs.service import Job, Jobs

__all__ = ["Job", "Jobs"]
