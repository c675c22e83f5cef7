"""Term expansion and code windows: what indexing computes fast equals their plain definitions."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gazette.index import chunking, terms

# ASCII punctuation, both cases, digits, underscores, and letters outside ASCII (cased and not).
_ALPHABET = "aBcXyz_09 \t\n.,()[]:=-'\"éÉßǅ日²٣\u00a0"


def _expansions_by_definition(text: str) -> list[str]:
    """Each word of `text` in sorted order; of the compound ones, each part the first time it comes."""
    seen: dict[str, None] = {}
    for word in sorted(set(re.findall(r"\w+", text))):
        if terms._compound(word):
            for piece in word.split("_"):  # each piece split at case changes and digits
                seen.update(dict.fromkeys(part.lower() for part in terms._CAMEL.findall(piece)))
    return list(seen)


@settings(max_examples=400, deadline=None)  # a loaded CI machine must not fail a property
@given(st.lists(st.text(alphabet=_ALPHABET, max_size=60), min_size=1, max_size=4))
def test_expansions_equal_their_definition_whatever_was_seen_before(texts: list[str]) -> None:
    for text in texts:  # several texts: the words the first ones teach the caches are reused
        assert terms.expansions(text) == _expansions_by_definition(text)


def test_expansions_stay_right_when_the_seen_word_caches_fill_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(terms, "_PLAIN_MAX", 3)
    monkeypatch.setattr(terms, "_COMPOUNDS_MAX", 2)
    texts = ["getUser by_id now", "HTTPClient get_user 7 plain words", "getUser again_and again", "x"] * 3
    for text in texts:
        assert terms.expansions(text) == _expansions_by_definition(text)
    assert len(terms._compound_parts) <= 2 + 3


def test_expansions_split_identifiers_and_numbers_in_sorted_word_order() -> None:
    assert terms.expansions("parseHTTPResponse(raw_bytes, 42) # ok") == [
        "42",
        "parse",
        "http",
        "response",
        "raw",
        "bytes",
    ]


def test_search_text_is_text_heading_then_expansions_and_path_terms() -> None:
    assert terms.search_text("x = AuthService()", heading="Setup", path="src/my_app.py") == (
        "x = AuthService()\nSetup\nauth service src my_app my app py"
    )


def _windows_by_definition(lines: list[str]) -> list[tuple[int, int, str | None]]:
    """One step per line: cut before a definition once the window is long enough, or at MAX_LINES."""
    windows, start, heading = [], 1, None
    for number, line in enumerate(lines, start=1):
        size = number - start
        at_definition = bool(chunking._TOP_LEVEL.match(line))
        if number > start and ((at_definition and size >= chunking.MIN_CODE_LINES) or size >= chunking.MAX_LINES):
            windows.append((start, number - 1, heading))
            start, heading = number, None
        if heading is None and at_definition:
            heading = line.strip()[:120]
    if start <= len(lines):
        windows.append((start, len(lines), heading))
    return windows


_CODE_LINES = st.sampled_from(["def f(x):", "class A:", "    return x", "", "@cache", "async  def g():", "x = 1"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_CODE_LINES, max_size=400))
def test_code_windows_equal_their_line_by_line_definition(lines: list[str]) -> None:
    assert list(chunking._code_windows(lines)) == _windows_by_definition(lines)
