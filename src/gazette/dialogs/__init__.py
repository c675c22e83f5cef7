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
)
from gazette.dialogs.service import Dialogs

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
    "estimate_tokens",
    "fit",
]
