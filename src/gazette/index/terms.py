"""Code-aware terms: identifiers split at snake_case and CamelCase, path segments, safe queries.

The full-text index sees each chunk's text plus these expansions, so `AuthService`,
`auth_service` and "auth service" find each other. Queries are reduced to plain word terms
joined with OR: no user string ever reaches FTS5 or tsquery syntax raw, and a query does not
have to match every term.
"""

from __future__ import annotations

import functools
import re

_WORD = re.compile(r"\w+", re.UNICODE)
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
MAX_QUERY_TERMS = 32


def split_identifier(word: str) -> list[str]:
    """`parseHTTPResponse_v2` -> ["parse", "http", "response", "v", "2"] (lowercase)."""
    return list(_split(word))


@functools.lru_cache(maxsize=65536)
def _split(word: str) -> tuple[str, ...]:
    parts: list[str] = []
    for piece in word.split("_"):
        parts.extend(match.group(0).lower() for match in _CAMEL.finditer(piece))
    return tuple(part for part in parts if part)


def _compound(word: str) -> bool:
    """snake_case (an inner underscore) or mixed case such as camelCase / AuthService / HTTPClient."""
    if "_" in word.strip("_"):
        return True
    return not word.islower() and not word.isupper() and not word[1:].islower()


@functools.lru_cache(maxsize=262144)
def _parts(word: str) -> tuple[str, ...]:
    # Cached per word: identifiers and plain words repeat across chunks and files.
    return _split(word) if _compound(word) else ()


# Words seen to be plain (no parts): set difference against it runs in C, so most of a text's
# words are never looked at in Python again. Bounded; cleared when full.
_plain: set[str] = set()
_PLAIN_MAX = 1_000_000


def expansions(text: str) -> list[str]:
    """The parts of every compound identifier in `text`, each once, in a stable order."""
    seen: dict[str, None] = {}
    for word in sorted(set(_WORD.findall(text)) - _plain):
        parts = _parts(word)
        if not parts:
            if len(_plain) >= _PLAIN_MAX:
                _plain.clear()
            _plain.add(word)
        for part in parts:
            seen.setdefault(part, None)
    return list(seen)


def path_terms(path: str) -> list[str]:
    """`src/gazette/AuthService.py` -> ["src", "gazette", "auth", "service", "py", "authservice"]."""
    terms: dict[str, None] = {}
    for segment in re.split(r"[/\\.\-\s]+", path):
        if segment:
            terms.setdefault(segment.lower(), None)
            for part in split_identifier(segment):
                terms.setdefault(part, None)
    return list(terms)


def search_text(text: str, *, heading: str | None, path: str) -> str:
    """What the full-text index stores for a chunk."""
    extra = [*expansions(text), *path_terms(path)]
    parts = [text]
    if heading:
        parts.append(heading)
    parts.append(" ".join(extra))
    return "\n".join(parts)


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
