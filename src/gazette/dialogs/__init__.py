"""The dialog memory: `gazette ask`, captured turns (`terminal_dialogs`), sessions, context injection,
training export (`export.py`), imports from other tools (`importers.py`) and summaries of older turns
(`distill.py`)."""

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
    Turn,
    Usage,
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
    "Turn",
    "Usage",
    "estimate_tokens",
    "final_answer",
    "fit",
]
