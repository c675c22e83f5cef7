"""`System`: identity, readiness and capabilities of this Gazette process."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gazette.auth import Principal, require_workspace
from gazette.errors import GazetteError, NotFoundError, UnavailableError
from gazette.store.workspaces import find_workspace
from gazette.system.models import Check, Info, Report, WorkspaceInfo

if TYPE_CHECKING:
    from gazette.app import Gazette


class System:
    def __init__(self, gz: Gazette) -> None:
        self._gz = gz

    def info(self, principal: Principal, workspace: str | None = None) -> Info:
        """Version, workspace and enabled capabilities.

        Raises:
            NotFoundError: the workspace does not exist.
            PermissionDeniedError: another workspace than the caller's, and the caller is not an admin.
            StoreUnavailableError: the store cannot be reached.
        """
        from gazette import __version__

        slug = workspace or principal.workspace
        require_workspace(principal, slug)
        with self._gz.store.begin() as conn:
            row = find_workspace(conn, slug)
        if row is None:
            raise NotFoundError(f"workspace {slug!r} does not exist", details={"workspace": slug})
        return Info(
            version=__version__,
            workspace=WorkspaceInfo(slug=row.slug, name=row.name),
            store=self._gz.store.backend,
            capabilities=self._gz.capabilities(),
        )

    def readiness(self) -> Report:
        """Store reachable and migrations current."""
        store = self._gz.store
        try:
            store.ping()
        except GazetteError as exc:
            return Report(checks=[Check(name="store", status="fail", detail=exc.message)])
        checks = [Check(name="store", status="ok", detail=f"{store.backend} reachable")]
        current, head = store.migrator.current(), store.migrator.head()
        checks.append(
            Check(name="migrations", status="ok", detail=f"at {head}")
            if current == head
            else Check(name="migrations", status="fail", detail=f"at {current or 'none'}, head is {head}")
        )
        return Report(checks=checks)

    def require_ready(self) -> Report:
        """Raises UnavailableError (with the failing checks) unless ready."""
        report = self.readiness()
        if not report.ok:
            failing = [c.model_dump() for c in report.checks if c.status == "fail"]
            raise UnavailableError("not ready: " + "; ".join(c["detail"] for c in failing), details={"checks": failing})
        return report
