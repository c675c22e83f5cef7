"""The context block's rules: newest turns whole, older ones trimmed at a word and marked, the rest counted."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gazette.dialogs import Turn, estimate_tokens, fit
from gazette.dialogs.context import TRIM_CHARS, TRIMMED, cut_at_word

START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def turns(*contents: str) -> list[Turn]:
    return [
        Turn(
            session="s",
            turn_number=i + 1,
            role="user" if i % 2 == 0 else "assistant",
            content=content,
            timestamp=START + timedelta(minutes=i),
        )
        for i, content in enumerate(contents)
    ]


def words(count: int, word: str = "lorem") -> str:
    return " ".join(f"{word}{i}" for i in range(count))


def test_everything_fits_whole_under_a_header_oldest_first() -> None:
    block = fit(turns("explain git rebase", "It replays commits."), 100)
    assert block.text == (
        "Earlier dialog, oldest first (2 turns):\n\n"
        "user (2026-11-21 09:00): explain git rebase\n\n"
        "assistant (2026-11-21 09:01): It replays commits."
    )
    assert (block.considered, block.included, block.trimmed, block.left_out) == (2, 2, 0, 0)
    assert block.tokens == estimate_tokens(block.text) <= 100


def test_newest_turns_stay_whole_older_ones_are_trimmed_with_a_marker_and_the_oldest_counted() -> None:
    history = turns(words(300, "oldest"), words(300, "older"), words(300, "old"), "short question", words(40, "new"))
    block = fit(history, 180)
    assert block.tokens <= 180
    assert block.text.endswith(f"): {words(40, 'new')}")  # the newest, whole
    assert "): short question\n\n" in block.text  # fits whole too
    assert f"): {cut_at_word(words(300, 'old'), TRIM_CHARS)}{TRIMMED}" in block.text
    assert block.trimmed >= 1
    assert block.left_out >= 1
    assert "oldest0" not in block.text
    assert block.text.startswith(f"Earlier dialog, oldest first ({block.included} turns; {block.left_out} older")
    assert block.included + block.left_out == 5


def test_a_short_turn_older_than_a_trimmed_one_stays_whole() -> None:
    block = fit(turns("ok, thanks", words(400, "long"), "and then?"), 150)
    assert (block.included, block.trimmed, block.left_out) == (3, 1, 0)
    assert "): ok, thanks\n\n" in block.text
    assert TRIMMED in block.text


def test_a_newest_turn_larger_than_the_budget_is_cut_to_the_budget_not_to_the_trim_size() -> None:
    block = fit(turns(words(50, "earlier"), words(2000, "huge")), 400)
    assert block.tokens <= 400
    assert block.trimmed >= 1
    body = block.text.split("): ", 1)[1]
    assert len(body) > TRIM_CHARS * 4
    assert body.endswith(TRIMMED)


def test_a_single_word_too_long_to_fit_is_left_out_not_cut_mid_word() -> None:
    block = fit(turns("a" * 5000), 100)
    assert (block.text, block.included, block.left_out) == ("", 0, 1)


def test_no_turns_give_an_empty_block() -> None:
    assert fit([], 100).text == ""


@pytest.mark.parametrize(
    ("text", "space", "expected"),
    [
        ("hello world", 20, "hello world"),
        ("hello world", 5, "hello"),
        ("hello world", 7, "hello"),
        ("hello world again", 11, "hello world"),
        ("hello\nworld again", 14, "hello\nworld"),
        ("helloworld", 5, ""),
        ("hello world", 0, ""),
    ],
)
def test_cuts_end_at_a_word_boundary(text: str, space: int, expected: str) -> None:
    assert cut_at_word(text, space) == expected


paragraph = st.text(alphabet=string.ascii_letters + "  \n.,", min_size=0, max_size=1500)


@given(contents=st.lists(paragraph, max_size=12), budget=st.integers(min_value=50, max_value=800))
def test_the_block_never_exceeds_its_budget_and_never_cuts_a_word(contents: list[str], budget: int) -> None:
    history = turns(*contents)
    block = fit(history, budget)
    assert block.tokens == estimate_tokens(block.text) <= budget
    assert block.included + block.left_out == len(history)
    if not block.text:
        assert block.included == 0
        return
    included = history[len(history) - block.included :]  # always the newest ones, contiguous
    pieces = block.text.split("\n\n", 1)[1]
    trimmed = 0
    for turn in included:
        label = f"{turn.role} ({turn.timestamp:%Y-%m-%d %H:%M}): "
        start = pieces.index(label) + len(label)
        following = [
            pieces.index(f"{t.role} ({t.timestamp:%Y-%m-%d %H:%M}): ", start)
            for t in included
            if t.timestamp > turn.timestamp
        ]
        body = pieces[start : (following[0] - 2) if following else len(pieces)]
        if body.endswith(TRIMMED) and body != turn.content:
            kept = body.removesuffix(TRIMMED)
            trimmed += 1
            assert turn.content.startswith(kept)
            assert kept
            assert not kept[-1].isspace()
            assert turn.content[len(kept)].isspace()  # the cut falls between words
        else:
            assert body == turn.content
    assert trimmed == block.trimmed
