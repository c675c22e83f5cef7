"""Fitting earlier turns into a token budget: the context block of `training inject` and `ask --with-history`.

The rules, newest turn first:

1. Turns go in whole while they fit.
2. From the first turn that does not fit, each older turn is cut to its first `TRIM_CHARS`
   characters (about 50 tokens) or to the room left, at a word boundary, and ends with `TRIMMED`.
   A turn that alone exceeds the whole budget (the newest) is cut to the whole budget instead.
3. A turn that cannot keep even one whole word is not cut mid-word: it and every older turn are
   left out, and the block's first line says how many.

Tokens are estimated as 4 characters each (rounded up), the rule used everywhere in Gazette; the
block's estimate never exceeds the budget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from gazette.dialogs.models import ContextBlock, Turn

CHARS_PER_TOKEN = 4
TRIM_CHARS = 200
TRIMMED = " [… trimmed]"
_SEPARATOR = "\n\n"


def estimate_tokens(text: str) -> int:
    """Tokens in `text` by the chars/4 rule, rounded up (0 for the empty string)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def fit(turns: Sequence[Turn], budget: int) -> ContextBlock:
    """The context block of `turns` (oldest first) within `budget` tokens."""
    limit = budget * CHARS_PER_TOKEN
    # Room for the header at its longest, so that the counts it ends up showing always fit.
    room = limit - len(_header(len(turns), len(turns))) - len(_SEPARATOR)
    chosen: list[str] = []  # newest first
    trimmed = 0
    trimming = False
    for turn in reversed(turns):
        head = label(turn)
        gap = len(_SEPARATOR) if chosen else 0
        whole = head + turn.content
        if not trimming and gap + len(whole) <= room:
            chosen.append(whole)
            room -= gap + len(whole)
            continue
        trimming = True
        space = room - gap - len(head) - len(TRIMMED)
        if chosen:
            space = min(space, TRIM_CHARS)
        if len(turn.content) <= space:  # short enough to stay whole among the trimmed ones
            chosen.append(whole)
            room -= gap + len(whole)
            continue
        cut = cut_at_word(turn.content, space)
        if not cut:
            break
        piece = head + cut + TRIMMED
        chosen.append(piece)
        room -= gap + len(piece)
        trimmed += 1
    left_out = len(turns) - len(chosen)
    text = _header(len(chosen), left_out) + _SEPARATOR + _SEPARATOR.join(reversed(chosen)) if chosen else ""
    return ContextBlock(
        text=text,
        considered=len(turns),
        included=len(chosen),
        trimmed=trimmed,
        left_out=left_out,
        tokens=estimate_tokens(text),
        budget=budget,
    )


def cut_at_word(text: str, space: int) -> str:
    """The longest prefix of `text` of at most `space` characters that ends a word ("" if none)."""
    if len(text) <= space:
        return text
    if space <= 0:
        return ""
    head = text[: space + 1]  # one more: a space right after the limit still ends a word
    for index in range(len(head) - 1, 0, -1):
        if head[index].isspace():
            return head[:index].rstrip()
    return ""


def label(turn: Turn) -> str:
    """The label a turn's text follows in a block: role, time, and whether it was interrupted."""
    flags = ", interrupted" if turn.interrupted else ""
    return f"{turn.role} ({turn.timestamp:%Y-%m-%d %H:%M}{flags}): "


def _header(included: int, left_out: int) -> str:
    counts = f"{included} turn{'s' if included != 1 else ''}"
    if left_out:
        counts += f"; {left_out} older turn{'s' if left_out != 1 else ''} left out"
    return f"Earlier dialog, oldest first ({counts}):"
