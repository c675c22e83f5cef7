"""Cut files into chunks: Markdown and reStructuredText by heading section (the heading path is
kept for citations), code by line windows aligned to top-level definitions, text by paragraphs,
PDF by page."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import compress, count

MAX_LINES = 80
MIN_CODE_LINES = 20
MAX_CHARS = 6000

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+:.])\1{2,}\s*$")
_TOP_LEVEL = re.compile(
    r"^(?:async\s+def|def|class|function|export|func|fn|pub|impl|struct|enum|interface|type|const|let|var|"
    r"public|private|protected|static|abstract|final|module|package|trait|object|namespace|template|@)\b"
)

LANGUAGES = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdx": "markdown",
    ".rst": "rst",
    ".txt": "text",
    ".pdf": "pdf",
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".jsx": "javascript",
    ".mjs": "javascript",
    ".ts": "typescript",
    ".tsx": "typescript",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".kt": "kotlin",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".hpp": "cpp",
    ".cs": "csharp",
    ".rb": "ruby",
    ".php": "php",
    ".swift": "swift",
    ".scala": "scala",
    ".sh": "shell",
    ".bash": "shell",
    ".sql": "sql",
    ".proto": "protobuf",
    ".toml": "toml",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".html": "html",
    ".css": "css",
    ".vue": "vue",
    ".svelte": "svelte",
    ".lua": "lua",
    ".r": "r",
    ".m": "objc",
    ".ex": "elixir",
    ".exs": "elixir",
    ".erl": "erlang",
    ".hs": "haskell",
    ".ml": "ocaml",
    ".dart": "dart",
    ".tf": "terraform",
}
CODE = frozenset(LANGUAGES.values()) - {"markdown", "rst", "text", "pdf"}


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    start_line: int  # 1-based, inclusive (for PDFs: the page)
    end_line: int
    heading: str | None
    text: str


def language_of(path: str) -> str:
    lower = path.lower()
    name = lower.rsplit("/", 1)[-1]
    if name in ("dockerfile", "makefile", "readme", "license", "changelog"):
        return "text"
    dot = name.rfind(".")
    return LANGUAGES.get(name[dot:], "text") if dot > 0 else "text"


def chunk_text(text: str, language: str) -> list[Chunk]:
    """Chunks of one text file, numbered from 0."""
    lines = text.splitlines()
    if language == "markdown":
        pieces = _sections(lines, _markdown_headings(lines))
    elif language == "rst":
        pieces = _sections(lines, _rst_headings(lines))
    elif language in CODE:
        pieces = list(_code_windows(lines))
    else:
        pieces = list(_paragraph_windows(lines, 1, len(lines), None))
    chunks: list[Chunk] = []
    for start, end, heading in pieces:
        body = "\n".join(lines[start - 1 : end]).strip("\n")
        for part in _cap(body):
            if part.strip():
                chunks.append(Chunk(len(chunks), start, end, heading, part))
    return chunks


def chunk_pages(pages: list[str]) -> list[Chunk]:
    """One chunk (or more, when long) per PDF page; lines are page numbers."""
    chunks: list[Chunk] = []
    for number, page in enumerate(pages, start=1):
        for part in _cap(page.strip()):
            if part.strip():
                chunks.append(Chunk(len(chunks), number, number, f"page {number}", part))
    return chunks


def _markdown_headings(lines: list[str]) -> list[tuple[int, int, str]]:
    headings, fenced = [], False
    for number, line in enumerate(lines, start=1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else _MD_HEADING.match(line)
        if match:
            headings.append((number, len(match.group(1)), match.group(2)))
    return headings


def _rst_headings(lines: list[str]) -> list[tuple[int, int, str]]:
    headings, levels = [], []
    for index in range(1, len(lines)):
        underline, title = lines[index], lines[index - 1].strip()
        match = _RST_UNDERLINE.match(underline)
        if match and title and not _RST_UNDERLINE.match(lines[index - 1]) and len(underline.strip()) >= len(title):
            if match.group(1) not in levels:
                levels.append(match.group(1))
            headings.append((index, levels.index(match.group(1)) + 1, title))  # title's line, 1-based
    return headings


def _sections(lines: list[str], headings: list[tuple[int, int, str]]) -> list[tuple[int, int, str | None]]:
    """Split at headings, keeping the heading path ("A > B > C") of each section."""
    pieces: list[tuple[int, int, str | None]] = []
    stack: list[tuple[int, str]] = []
    starts: list[tuple[int, str | None]] = [(1, None)] if not headings or headings[0][0] > 1 else []
    for line, level, title in headings:
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        starts.append((line, " > ".join(name for _, name in stack)))
    for index, (start, heading) in enumerate(starts):
        end = starts[index + 1][0] - 1 if index + 1 < len(starts) else len(lines)
        if end >= start:
            pieces.extend(_paragraph_windows(lines, start, end, heading))
    return pieces


def _paragraph_windows(
    lines: list[str], start: int, end: int, heading: str | None
) -> Iterator[tuple[int, int, str | None]]:
    """Windows of at most MAX_LINES, cut at a blank line where one is near."""
    while start <= end:
        stop = min(end, start + MAX_LINES - 1)
        if stop < end:
            for candidate in range(stop, start + MAX_LINES // 2, -1):
                if not lines[candidate - 1].strip():
                    stop = candidate
                    break
        yield start, stop, heading
        start = stop + 1


def _code_windows(lines: list[str]) -> Iterator[tuple[int, int, str | None]]:
    """Windows that start at top-level definitions when the current one is long enough.

    A window ends before the first definition at least MIN_CODE_LINES after its start, or after
    MAX_LINES; its heading is its first definition. Found by bisection over the definitions'
    line numbers (matched in one pass in C), not by a Python step per line.
    """
    definitions = list(compress(count(1), map(_TOP_LEVEL.match, lines)))
    start, total = 1, len(lines)
    while start <= total:
        stop = start + MAX_LINES  # the first line of the next window
        later = bisect_left(definitions, start + MIN_CODE_LINES)
        if later < len(definitions) and definitions[later] < stop:
            stop = definitions[later]
        stop = min(stop, total + 1)
        first = bisect_left(definitions, start)
        heading = None
        if first < len(definitions) and definitions[first] < stop:
            heading = lines[definitions[first] - 1].strip()[:120]
        yield start, stop - 1, heading
        start = stop


def _cap(text: str) -> list[str]:
    """Split text longer than MAX_CHARS (minified code, long paragraphs)."""
    if len(text) <= MAX_CHARS:
        return [text]
    return [text[i : i + MAX_CHARS] for i in range(0, len(text), MAX_CHARS)]
