"""The dialog memory: `gazette ask`, captured turns (`terminal_dialogs`), sessions, context injection,
training export (`export.py`), imports from other tools (`importers.py`), summaries of older turns
(`distill.py`) and wrapped terminal programs (`wrap.py`, `wrap_run.py`, over `gazette.terminal`)."""

from gazette.dialogs.context import estimate_tokens, fit
from gazette.dialogs.models import (
    Answer,
    AskEvent,
    AskStarted,
    CaptureState,
    ContextBlock,
    Dialog,
    Distillation,
    ExportOptions,
    ExportReport,
    ImportReport,
    Session,
    Skipped,
    Summary,
    Transcript,
    Turn,
    Usage,
    WrapReport,
)
from gazette.dialogs.service import Dialogs, final_answer

__all__ = [
    "Answer",
    "AskEvent",
    "AskStarted",
    "CaptureState",
    "ContextBlock",
    "Dialog",
    "Dialogs",
    "Distillation",
    "ExportOptions",
    "ExportReport",
    "ImportReport",
    "Session",
    "Skipped",
    "Summary",
    "Transcript",
    "Turn",
    "Usage",
    "WrapReport",
    "estimate_tokens",
    "final_answer",
    "fit",
]
