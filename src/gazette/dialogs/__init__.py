"""The dialog memory: `gazette ask`, captured turns (`terminal_dialogs`), sessions and context injection."""

from gazette.dialogs.context import estimate_tokens, fit
from gazette.dialogs.models import (
    Answer,
    AskEvent,
    AskStarted,
    CaptureState,
    ContextBlock,
    Dialog,
    Session,
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
    "Session",
    "Turn",
    "Usage",
    "estimate_tokens",
    "final_answer",
    "fit",
]
