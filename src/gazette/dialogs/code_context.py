"""The context of `gazette code`: files, a `git diff` and cited search hits fitted to a token budget.

The rules, in order of priority (explicit files, then the diff, then search hits best first):

1. A part goes in whole while it fits the room left.
2. Otherwise it is cut at a line boundary to the room left and ends with `TRIMMED`.
3. A part that cannot keep even one line is left out, with the reason; later, smaller parts may
   still go in. Nothing is dropped silently: `CodeContext.left_out` says what and why.

Each part is fenced under a header citing its source: the file path, `git diff <rev>`, or
`repo/path:start-end` (with the heading) for a search hit. Tokens are estimated by the chars/4
rule (`estimate_tokens`); the text never exceeds the budget.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from gazette.dialogs.context import CHARS_PER_TOKEN, estimate_tokens
from gazette.errors import InvalidInputError

if TYPE_CHECKING:
    from gazette.app import Gazette
    from gazette.auth.models import Principal

DEFAULT_BUDGET = 6000
MIN_BUDGET = 50
MAX_FILE_BYTES = 1_000_000
SEARCH_HITS = 8
GIT_TIMEOUT = 30.0
TRIMMED = "[… trimmed]"
_SEPARATOR = "\n\n"

Kind = Literal["file", "diff", "search"]


class Included(BaseModel):
    """One part of the context: where it came from, its estimated tokens, whether it was cut."""

    kind: Kind
    source: str
    tokens: int
    trimmed: bool = False


class LeftOut(BaseModel):
    kind: Kind
    source: str
    reason: str


class CodeContext(BaseModel):
    """The assembled context: `text` to send, what it holds and what was left out (and why)."""

    text: str
    budget: int
    tokens: int
    parts: list[Included]
    left_out: list[LeftOut]


@dataclass(frozen=True)
class _Candidate:
    kind: Kind
    source: str
    title: str  # the header line's citation
    content: str


def assemble(
    gz: Gazette,
    principal: Principal,
    *,
    files: Sequence[Path] = (),
    diff: str | None = None,
    search: str | None = None,
    repo: str | None = None,
    budget: int = DEFAULT_BUDGET,
    cwd: Path | None = None,
) -> CodeContext:
    """The context of `files`, `git diff [diff]` (run in `cwd`; "" is the working tree against the
    index) and the hits of `search` (in `repo`, or every repository), within `budget` tokens.

    Raises:
        InvalidInputError: a budget below 50; a file that is missing, not a regular file, too large
            or not UTF-8; not a git repository or an unknown revision; `repo` without `search`.
        NotFoundError: `repo` is not an indexed repository.
        PermissionDeniedError: no `memory:read` scope with `search`.
    """
    if budget < MIN_BUDGET:
        raise InvalidInputError(f"--budget must be at least {MIN_BUDGET} tokens, not {budget}")
    if repo and not search:
        raise InvalidInputError("--repo narrows --search: give --search QUERY too")
    where = cwd or Path.cwd()
    candidates = [_file(path, where) for path in files]
    left_out: list[LeftOut] = []
    if diff is not None:
        source = _named(diff)
        text = git_diff(diff, where)
        if text.strip():
            candidates.append(_Candidate("diff", source, source, text))
        else:
            left_out.append(LeftOut(kind="diff", source=source, reason="no changes"))
    if search:
        hits = gz.index.search(principal, search, repo=repo, k=SEARCH_HITS)
        if not hits:
            left_out.append(LeftOut(kind="search", source=f"search {search!r}", reason="no hits"))
        for hit in hits:
            source = f"{hit.repo}/{hit.path}:{hit.start_line}-{hit.end_line}"
            title = f"{source} ({hit.heading})" if hit.heading else source
            candidates.append(_Candidate("search", source, title, hit.content))
    return _fit(candidates, budget, left_out)


def git_diff(rev: str, cwd: Path) -> str:
    """`git diff [rev]` in `cwd`; git's own first error line as an InvalidInputError."""
    command = ["git", "diff", "--no-color", "--no-ext-diff"]
    if rev:
        command += [rev, "--"]
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, timeout=GIT_TIMEOUT, check=False)
    except FileNotFoundError:
        raise InvalidInputError("--diff needs git, and git is not installed (not on PATH)") from None
    except subprocess.TimeoutExpired:
        raise InvalidInputError(f"{_named(rev)} took longer than {GIT_TIMEOUT:.0f} s") from None
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        first = lines[0] if lines else f"exit status {done.returncode}"
        if "not a git repository" in first.lower():  # git diff outside a repository compares paths instead
            first = f"{cwd} is not in a git repository"
        raise InvalidInputError(f"{_named(rev)}: {first}")
    return done.stdout.decode("utf-8", "replace")


def _named(rev: str) -> str:
    return f"git diff {rev}" if rev else "git diff"


def _file(path: Path, cwd: Path) -> _Candidate:
    full = path if path.is_absolute() else cwd / path
    if not full.exists():
        raise InvalidInputError(f"--file {path}: no such file")
    if not full.is_file():
        raise InvalidInputError(f"--file {path}: not a regular file")
    size = full.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InvalidInputError(f"--file {path}: {size} bytes, larger than the {MAX_FILE_BYTES} bytes allowed")
    try:
        content = full.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(f"--file {path}: not UTF-8 text") from None
    return _Candidate("file", str(path), str(path), content)


def _fit(candidates: list[_Candidate], budget: int, left_out: list[LeftOut]) -> CodeContext:
    room = budget * CHARS_PER_TOKEN
    texts: list[str] = []
    parts: list[Included] = []
    refused: list[LeftOut] = []
    for candidate in candidates:
        gap = len(_SEPARATOR) if texts else 0
        whole = _render(candidate.title, candidate.content)
        if gap + len(whole) <= room:
            text, trimmed = whole, False
        else:
            cut = _trim(candidate, room - gap)
            if cut is None:
                refused.append(
                    LeftOut(
                        kind=candidate.kind,
                        source=candidate.source,
                        reason=f"does not fit: {estimate_tokens(whole)} tokens, "
                        f"{max(room - gap, 0) // CHARS_PER_TOKEN} left of the {budget}-token budget",
                    )
                )
                continue
            text, trimmed = cut, True
        texts.append(text)
        room -= gap + len(text)
        parts.append(
            Included(kind=candidate.kind, source=candidate.source, tokens=estimate_tokens(text), trimmed=trimmed)
        )
    joined = _SEPARATOR.join(texts)
    return CodeContext(
        text=joined, budget=budget, tokens=estimate_tokens(joined), parts=parts, left_out=[*left_out, *refused]
    )


def _fence(content: str) -> str:
    longest = max((len(run) for run in re.findall(r"`{3,}", content)), default=2)
    return "`" * max(3, longest + 1)


def _render(title: str, content: str, fence: str | None = None) -> str:
    fence = fence or _fence(content)
    body = content if content.endswith("\n") or not content else content + "\n"
    return f"### {title}\n{fence}\n{body}{fence}"


def _trim(candidate: _Candidate, room: int) -> str | None:
    """The candidate cut to whole lines within `room` characters, ending with TRIMMED; None if not a line fits."""
    fence = _fence(candidate.content)
    used = len(_render(candidate.title, TRIMMED + "\n", fence))
    kept: list[str] = []
    for raw in candidate.content.splitlines(keepends=True):
        line = raw if raw.endswith("\n") else raw + "\n"
        if used + len(line) > room:
            break
        kept.append(line)
        used += len(line)
    if not kept:
        return None
    return _render(candidate.title, "".join(kept) + TRIMMED + "\n", fence)
