"""Context blocks of earlier turns and the summaries that distil a session's older ones (part of
`Dialogs`; the rules are in `gazette.dialogs.context` and `gazette.dialogs.distill`)."""

from __future__ import annotations

from gazette.auth.models import Principal
from gazette.auth.service import require_scope
from gazette.dialogs import distill
from gazette.dialogs.base import DialogsBase, _summary_of, _turn, log
from gazette.dialogs.context import estimate_tokens, fit
from gazette.dialogs.models import (
    ContextBlock,
    Distillation,
    Summary,
    Turn,
)
from gazette.errors import GazetteError, InvalidInputError, ProviderError
from gazette.providers.models import TextDelta
from gazette.redaction import redact_text
from gazette.store import dialogs as dialog_rows
from gazette.store import summaries as summary_rows
from gazette.store.types import utcnow
from gazette.store.workspaces import require_workspace_id


class History(DialogsBase):
    """`Dialogs.context_block` and `Dialogs.distill`."""

    def context_block(
        self, principal: Principal, *, last: int = 50, session: str | None = None, budget: int | None = None
    ) -> ContextBlock:
        """The principal's `last` turns (of `session`, or of all sessions) fitted to `budget` tokens
        (default `training.inject_budget`); the rules are in `gazette.dialogs.context`.

        Raises:
            PermissionDeniedError: no `dialogs:read` scope.
            InvalidInputError: `last` below 1 or `budget` below 50; an ambiguous session prefix.
            NotFoundError: no such session.
        """
        require_scope(principal, "dialogs:read")
        if last < 1:
            raise InvalidInputError(f"--last must be 1 or more, not {last}")
        budget = self._settings.inject_budget if budget is None else budget
        if budget < 50:
            raise InvalidInputError(f"--budget must be at least 50 tokens, not {budget}")
        with self._gz.store.begin(principal.viewer()) as conn:
            workspace_id = require_workspace_id(conn, principal.workspace)
            session_id = self._resolve(conn, workspace_id, principal.user, session) if session else None
            rows = dialog_rows.recent_turns(conn, workspace_id, principal.user, last=last, session_id=session_id)
        turns = [_turn(row) for row in rows]
        if session_id is None:
            return fit(turns, budget)
        return self._session_block(principal, session_id, turns, budget)

    # ---------------------------------------------------------------- distilling

    def distill(
        self, principal: Principal, session: str, *, model: str | None = None, budget: int | None = None
    ) -> Distillation:
        """Fold the session's turns that do not fit in half of `budget` (default
        `training.inject_budget`) into its summary, by `model` (default `training.distill_model`);
        the rules are in `gazette.dialogs.distill`. Nothing is sent when every turn after the
        summary already fits.

        Raises:
            PermissionDeniedError: no `dialogs:write` or `models:use` scope, or no key for the provider.
            InvalidInputError: no model given and no `training.distill_model`; `budget` below 50.
            NotFoundError: no such session, or an unknown model.
            ProviderError: the call failed, or the model answered nothing.
        """
        require_scope(principal, "dialogs:write")
        model = model or self._settings.distill_model
        if not model:
            raise InvalidInputError(
                "no distill model: give --model, or set training.distill_model to a cheaper model "
                "(e.g. GAZETTE_TRAINING__DISTILL_MODEL=ollama:llama3.2:1b)"
            )
        budget = self._settings.inject_budget if budget is None else budget
        if budget < 50:
            raise InvalidInputError(f"--budget must be at least 50 tokens, not {budget}")
        with self._gz.store.begin(principal.viewer()) as conn:
            workspace_id = require_workspace_id(conn, principal.workspace)
            session_id = self._resolve(conn, workspace_id, principal.user, session)
        return self._distill(principal, session_id, budget, model)

    def _session_block(self, principal: Principal, session_id: str, turns: list[Turn], budget: int) -> ContextBlock:
        """The block of one session's `turns`, led by its summary, distilled anew when they outgrow `budget`."""
        with self._gz.store.begin(principal.viewer()) as conn:
            workspace_id = require_workspace_id(conn, principal.workspace)
            summary = _summary_of(summary_rows.latest(conn, workspace_id, principal.user, session_id))
        block = distill.block(summary, turns, budget)
        model = self._settings.distill_model
        if distill.fits_whole(block) or not model:
            return block
        try:
            done = self._distill(principal, session_id, budget, model)
        except GazetteError as exc:  # the block still comes, trimmed; the reason goes with it
            log.warning("dialogs.distill_failed", session=session_id, model=model, error=exc.message)
            return block.model_copy(update={"distill_error": exc.message})
        return distill.block(done.summary, turns, budget)

    def _distill(self, principal: Principal, session_id: str, budget: int, model: str) -> Distillation:
        with self._gz.store.begin(principal.viewer()) as conn:
            workspace_id = require_workspace_id(conn, principal.workspace)
            previous = _summary_of(summary_rows.latest(conn, workspace_id, principal.user, session_id))
            rows = dialog_rows.session_turns(conn, workspace_id, principal.user, session_id)
        after = previous.through_turn if previous else 0
        turns = [turn for turn in map(_turn, rows) if turn.turn_number > after and turn.role != "system"]
        fold, keep = distill.split(turns, budget)
        if not fold:
            return Distillation(summary=previous, created=False, folded=0, kept=len(keep))
        request = distill.request(previous, fold, budget)
        route = self._gz.providers.resolve(model)
        answer = "".join(
            event.text
            for event in self._gz.providers.stream(principal, route.target, request)
            if isinstance(event, TextDelta)
        )
        content = redact_text(distill.summary_text(answer, budget))
        if not content:
            raise ProviderError(
                f"{route.target} returned an empty summary of session {session_id}: try another distill model",
                reason="failed",
                details={"model": route.target, "session": session_id},
            )
        source = estimate_tokens(request.messages[0].content)
        summary = Summary(
            session=session_id,
            through_turn=fold[-1].turn_number,
            content=content,
            model=route.target,
            source_tokens=source,
            tokens=estimate_tokens(content),
            created_at=utcnow(),
        )
        with self._gz.store.begin(principal.viewer()) as conn:
            workspace_id = require_workspace_id(conn, principal.workspace)
            fields = summary.model_dump(exclude={"session", "created_at", "through_turn"})
            stored = summary_rows.insert_summary(
                conn,
                workspace_id,
                principal.user,
                session_id,
                through_turn=summary.through_turn,
                at=summary.created_at,
                **fields,
            )
            if not stored:  # a concurrent call distilled the same turns first: use theirs
                summary = _summary_of(summary_rows.latest(conn, workspace_id, principal.user, session_id)) or summary
        return Distillation(summary=summary, created=stored, folded=len(fold), kept=len(keep))
