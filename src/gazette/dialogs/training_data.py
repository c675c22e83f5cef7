"""Training data: exporting sessions as fine-tuning examples and importing other tools' logs (part of
`Dialogs`; the rules are in `gazette.dialogs.export` and `gazette.dialogs.importers`)."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from gazette.auth.models import Principal
from gazette.auth.service import require_scope
from gazette.dialogs import export as export_rules
from gazette.dialogs import importers
from gazette.dialogs.base import DialogsBase
from gazette.dialogs.export import Progress
from gazette.dialogs.models import (
    ExportOptions,
    ExportReport,
    ImportReport,
    ImportSource,
)
from gazette.errors import InvalidInputError
from gazette.redaction import redact_text
from gazette.store import datasets as dataset_rows
from gazette.store import dialogs as dialog_rows
from gazette.store.types import utcnow
from gazette.store.workspaces import require_workspace_id


class TrainingData(DialogsBase):
    """`Dialogs.export` and `Dialogs.import_dialogs`."""

    # ---------------------------------------------------------------- training data

    def export(
        self,
        principal: Principal,
        options: ExportOptions,
        *,
        path: Path | None = None,
        out: IO[str] | None = None,
        force: bool = False,
        progress: Progress | None = None,
    ) -> ExportReport:
        """Write the principal's sessions as fine-tuning examples to `path` (atomically) or to `out`,
        and record the export in training_datasets; the rules are in `gazette.dialogs.export`.

        Raises:
            PermissionDeniedError: no `dialogs:read` scope.
            InvalidInputError: a bad date or range, an ambiguous session prefix, parquet without
                pyarrow or without a file, a missing directory.
            NotFoundError: no such session.
            ConflictError: `path` exists and not `force`.
        """
        require_scope(principal, "dialogs:read")
        start, end = export_rules.parse_range(options.date_from, options.date_to)
        export_rules.check_format(options.format, path is not None)
        target = path.absolute() if path is not None else None
        with (
            export_rules.open_target(options.format, target, out, force=force) as writer,
            self._gz.store.begin(principal.viewer()) as conn,
        ):
            workspace_id = require_workspace_id(conn, principal.workspace)
            session_id = self._resolve(conn, workspace_id, principal.user, options.session) if options.session else None
            scope = dialog_rows.ExportScope(start=start, end=end, model=options.model, session_id=session_id)
            total = dialog_rows.count_export_sessions(conn, workspace_id, principal.user, scope)
            rows = dialog_rows.export_turns(conn, workspace_id, principal.user, scope)
            written = export_rules.write_sessions(rows, writer, options, total=total, progress=progress)
        skipped = {reason: entry.model_dump() for reason, entry in written.skipped.reasons.items()}
        with self._gz.store.begin(principal.viewer()) as conn:
            dataset_id = dataset_rows.insert_dataset(
                conn,
                require_workspace_id(conn, principal.workspace),
                principal.user,
                format=options.format,
                path=str(target) if target else None,
                filters=options.model_dump(exclude={"format"}),
                session_ids=written.sessions,
                turns=written.turns,
                skipped={"sessions": skipped, "pairs": {r: e.model_dump() for r, e in written.dropped.reasons.items()}},
                at=utcnow(),
            )
        return ExportReport(
            dataset_id=dataset_id,
            format=options.format,
            path=str(target) if target else None,
            sessions=len(written.sessions),
            turns=written.turns,
            skipped=written.skipped.reasons,
            dropped=written.dropped.reasons,
        )

    def import_dialogs(self, principal: Principal, source: ImportSource, path: Path) -> ImportReport:
        """Add the conversations of another tool's log to the principal's sessions, in one transaction,
        secrets redacted; a conversation imported before is left as it is. The sources are in
        `gazette.dialogs.importers`.

        Raises:
            PermissionDeniedError: no `dialogs:write` scope.
            InvalidInputError: an unknown source; a file that is missing or not what the source says.
        """
        require_scope(principal, "dialogs:write")
        read = importers.READERS.get(source)
        if read is None:
            raise InvalidInputError(f"unknown source {source!r}: one of {', '.join(importers.READERS)}")
        conversations, skipped = read(path)
        added = turns = 0
        with self._gz.store.begin(principal.viewer()) as conn:
            workspace_id = require_workspace_id(conn, principal.workspace)
            ids = [conversation.session_id for conversation in conversations]
            existing = dialog_rows.existing_sessions(conn, workspace_id, principal.user, ids)
            for conversation in conversations:
                if conversation.session_id in existing or not conversation.turns:
                    continue
                rows = [{**turn, "content": redact_text(turn["content"])} for turn in conversation.turns]
                dialog_rows.insert_turns(conn, workspace_id, principal.user, conversation.session_id, rows)
                existing.add(conversation.session_id)
                added += 1
                turns += len(rows)
        self._gz.audit.record(
            "dialogs.imported",
            principal=principal,
            target=source,
            payload={"path": str(path), "sessions": added, "turns": turns},
            durable=True,
        )
        return ImportReport(
            source=source,
            path=str(path),
            sessions=added,
            turns=turns,
            existing=sum(1 for c in conversations if c.turns) - added,
            skipped=skipped,
        )
