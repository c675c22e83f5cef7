"""System capability: info, readiness and diagnostics."""

from gazette.system.doctor import Doctor
from gazette.system.models import Check, Info, Report, WorkspaceInfo
from gazette.system.service import System

__all__ = ["Check", "Doctor", "Info", "Report", "System", "WorkspaceInfo"]
