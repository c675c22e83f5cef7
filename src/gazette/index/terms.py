"""Code-aware terms: identifiers split at snake_case and CamelCase, path segments, safe queries.

The full-text index sees each chunk's text plus these expansions, so `AuthService`,
`auth_service` and "auth service" find each other. Queries are reduced to plain word terms
joined with OR: no user string ever reaches FTS5 or tsquery syntax raw, and a query does not
have to match every term.
"""

from __future__ import annotations

import functools
import re
from itertools import chain

_WORD = re.compile(r"\w+", re.UNICODE)
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
MAX_QUERY_TERMS = 32


def split_identifier(word: str) -> list[str]:
    """`parseHTTPResponse_v2` -> ["parse", "http", "response", "v", "2"] (lowercase)."""
    return list(_split(word))


@functools.lru_cache(maxsize=65536)
def _split(word: str) -> tuple[str, ...]:
    # No alternative of _CAMEL matches or looks past "_": the whole word splits as its pieces would.
    return tuple(map(str.lower, _CAMEL.findall(word)))


def _compound(word: str) -> bool:
    """snake_case (an inner underscore) or mixed case such as camelCase / AuthService / HTTPClient."""
    if "_" in word.strip("_"):
        return True
    return not word.islower() and not word.isupper() and not word[1:].islower()


def _parts(word: str) -> tuple[str, ...]:
    return _split(word) if _compound(word) else ()


# Every word seen, once: plain ones (no parts) in a set, compound ones with their parts. Set
# operations against them run in C, so after the first files almost no word of a text is looked
# at in Python again. Bounded (a few hundred MB at most); each is cleared when full.
_plain: set[str] = set()
_PLAIN_MAX = 1_000_000
_compound_parts: dict[str, tuple[str, ...]] = {}
_COMPOUNDS_MAX = 262_144
# \w on ASCII text is [A-Za-z0-9_]: every other ASCII character becomes a space, and str.split
# finds the same words as _WORD.findall, several times faster.
_NOT_WORD = str.maketrans({code: " " for code in range(128) if not (chr(code).isalnum() or chr(code) == "_")})


def _words(text: str) -> set[str]:
    if text.isascii():
        return set(text.translate(_NOT_WORD).split())
    return set(_WORD.findall(text))


def expansions(text: str) -> list[str]:
    """The parts of every compound identifier in `text`, each once, in a stable order.

    The order is that of the compound words sorted, then of each word's parts.
    """
    if len(_plain) >= _PLAIN_MAX:
        _plain.clear()
    if len(_compound_parts) >= _COMPOUNDS_MAX:
        _compound_parts.clear()
    candidates = _words(text) - _plain
    fresh_plain = []
    for word in candidates.difference(_compound_parts):
        parts = _parts(word)
        if parts:
            _compound_parts[word] = parts
        else:
            _plain.add(word)
            fresh_plain.append(word)
    compounds = candidates.difference(fresh_plain) if fresh_plain else candidates
    # dict.fromkeys keeps each part's first place; chain and map run without a Python loop.
    return list(dict.fromkeys(chain.from_iterable(map(_compound_parts.__getitem__, sorted(compounds)))))


@functools.lru_cache(maxsize=1024)
def _path_terms(path: str) -> tuple[str, ...]:
    terms: dict[str, None] = {}
    for segment in re.split(r"[/\\.\-\s]+", path):
        if segment:
            terms.setdefault(segment.lower(), None)
            for part in split_identifier(segment):
                terms.setdefault(part, None)
    return tuple(terms)


def path_terms(path: str) -> list[str]:
    """`src/gazette/AuthService.py` -> ["src", "gazette", "auth", "service", "py", "authservice"]."""
    # Cached: every chunk of a file asks for the same path.
    return list(_path_terms(path))


def search_text(text: str, *, heading: str | None, path: str) -> str:
    """What the full-text index stores for a chunk."""
    return joined_search_text(text, heading, search_terms(text, path=path))


def search_terms(text: str, *, path: str) -> str:
    """The line of terms a chunk's search text adds to its text: identifiers' parts and the path's terms."""
    return " ".join([*expansions(text), *_path_terms(path)])


def joined_search_text(text: str, heading: str | None, terms: str) -> str:
    """`search_text` from its parts (the indexing workers send only the terms line, not the text twice)."""
    return f"{text}\n{heading}\n{terms}" if heading else f"{text}\n{terms}"


def query_terms(query: str) -> list[str]:
    """Plain lowercase word terms of a user query (identifiers also split), at most 32.

    English stopwords are dropped when other terms remain: with terms joined by OR they only
    add noise ("how does the vault rotate keys" searches vault, rotate, keys).
    """
    terms: dict[str, None] = {}
    for match in _WORD.finditer(query):
        word = match.group(0)
        for term in (word.lower(), *split_identifier(word)):
            if term and term.strip("_"):
                terms.setdefault(term.strip("_"), None)
    content = [term for term in terms if term not in STOPWORDS]
    return (content or list(terms))[:MAX_QUERY_TERMS]


STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
    ]
)
