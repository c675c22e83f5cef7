"""Distilling a session's older turns into a summary by a cheaper model (`training.distill_model`).

The rules (`Dialogs.context_block`, `ask --with-history`, `training distill`):

1. A stored summary of turns 1..T of a session stands in for those turns whenever the turns asked
   for reach back to T or further; the turns after T follow it under the context block's rules.
2. When those turns still do not fit whole in the budget (less the summary), the older of them are
   folded, with the summary so far, into a new summary of turns 1..T' by the distill model. The
   newest turns that fit in half the budget stay whole, so the next distillation waits until the
   session has grown by about half a budget again.
3. The model is asked for at most `SUMMARY_SHARE` of the budget; a longer answer is cut at a word
   and marked. What is sent to it is fitted by the context block's rules to `SOURCE_FACTOR` times
   the budget (a fold is normally half a budget, so nothing is cut then).
4. The call is not itself recorded as a dialog turn. Its failure while building a block leaves the
   block trimmed as without distillation, and says why (`ContextBlock.distill_error`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from gazette.dialogs.context import CHARS_PER_TOKEN, TRIMMED, cut_at_word, estimate_tokens, fit, label
from gazette.dialogs.models import ContextBlock, Summary, Turn
from gazette.providers.models import ChatMessage, ChatRequest

SUMMARY_SHARE = 4  # the summary is asked for in at most budget / SUMMARY_SHARE tokens
SOURCE_FACTOR = 4  # at most budget × SOURCE_FACTOR tokens of turns are sent to be distilled
_SEPARATOR = "\n\n"

INSTRUCTION = (
    "You distill a conversation between a user and an AI assistant into a summary that the assistant will "
    "read instead of the conversation. Keep facts, decisions, names, file paths, code identifiers, commands, "
    "numbers, the user's preferences and open questions; drop pleasantries and repetition. If an earlier "
    "summary is given, fold it in: the result replaces it. Write plain prose or terse bullet points, at most "
    "{words} words, with no preamble."
)


def block(summary: Summary | None, turns: Sequence[Turn], budget: int) -> ContextBlock:
    """The context block of `turns` (oldest first), led by `summary` when they reach back into it."""
    if summary is None or not turns or turns[0].turn_number > summary.through_turn:
        return fit(turns, budget)
    rest = [turn for turn in turns if turn.turn_number > summary.through_turn]
    head = heading(summary) + summary.content
    room = budget - estimate_tokens(head + _SEPARATOR)
    tail = fit(rest, max(room, 1))
    text = head + _SEPARATOR + tail.text if tail.text else head
    return tail.model_copy(
        update={
            "text": text,
            "considered": len(turns),
            "tokens": estimate_tokens(text),
            "budget": budget,
            "summary_through": summary.through_turn,
            "summary_model": summary.model,
        }
    )


def fits_whole(result: ContextBlock) -> bool:
    """Whether every turn the block considered is in it, whole or summarised."""
    return not result.trimmed and not result.left_out


def split(turns: Sequence[Turn], budget: int) -> tuple[list[Turn], list[Turn]]:
    """(turns to fold into the summary, the newest turns to keep whole within half of `budget`)."""
    room = budget * CHARS_PER_TOKEN // 2
    kept = 0
    for turn in reversed(turns):
        size = len(label(turn)) + len(turn.content) + len(_SEPARATOR)
        if size > room:
            break
        room -= size
        kept += 1
    cut = len(turns) - kept
    return list(turns[:cut]), list(turns[cut:])


def request(previous: Summary | None, fold: Sequence[Turn], budget: int) -> ChatRequest:
    """The request that asks the distill model for a summary of `previous` and `fold`."""
    words = max(budget // SUMMARY_SHARE * CHARS_PER_TOKEN // 6, 20)  # about 6 characters a word
    parts = []
    if previous is not None:
        parts.append(f"Earlier summary (of turns 1–{previous.through_turn}):\n{previous.content}")
    parts.append("Conversation to fold in:\n" + fit(fold, budget * SOURCE_FACTOR).text)
    return ChatRequest(
        messages=[ChatMessage(role="user", content=_SEPARATOR.join(parts))],
        system=INSTRUCTION.format(words=words),
    )


def summary_text(answer: str, budget: int) -> str:
    """The model's answer within the summary's share of `budget`, cut at a word and marked if longer."""
    text = answer.strip()
    limit = budget // SUMMARY_SHARE * CHARS_PER_TOKEN
    if len(text) <= limit:
        return text
    return cut_at_word(text, limit - len(TRIMMED)) + TRIMMED


def heading(summary: Summary) -> str:
    return f"Summary of turns 1–{summary.through_turn} (distilled by {summary.model}, {_day(summary.created_at)}):\n"


def _day(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M}"
