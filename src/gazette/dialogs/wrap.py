"""The turns of a wrapped terminal program (`gazette training wrap`), found in what the user typed
and what the program showed, in the order they happened.

- Each line the user submits (Enter) is a question; the program's output after it, up to the line
  where the next question is typed, is its answer. Empty lines are not questions.
- Typed input is edited as a terminal's line discipline does (backspace, Ctrl-U, Ctrl-W; Ctrl-C
  clears the line). Where the user recalled or completed the line (arrow keys, Tab, Ctrl-A…), the
  question is taken from the screen instead: the line as the program echoed it, after its prompt.
- Output is read through `gazette.dialogs.screen`: escape sequences dropped, carriage returns,
  backspaces and cursor moves applied, so a spinner or a redrawn line keeps only its final state.
- The prompt is learnt from the line the cursor was on when the user began to type (`>>> `). The
  echo of the question (the rest of the prompt's row) is not part of the answer; rows that are only
  a prompt (an empty Enter) are dropped, and so are rows that begin with a prompt where the user
  typed (Ctrl-C, a cancelled line) and the prompt row the program ends on.
- A question that the screen never showed (typed at a prompt that does not echo: a password) is
  not a turn, nor is its answer. An answer that is empty after all this (an exit command such as
  `/bye`) drops its question too.
- An answer is interrupted when the user pressed Ctrl-C while it arrived (not at a prompt), or when
  it is the last one, the program never came back to its prompt and did not exit with 0.

Limits: the model follows lines, not a screen (see `screen`); a program that redraws its input
line in ways the screen model cannot follow yields a noisier question; several lines sent as one
(a multi-line paste outside bracketed paste) are several questions.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from gazette.dialogs.screen import Screen

_KEY_SEQUENCE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|O.|.)?", re.DOTALL)
_KEY_PREFIX = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|O)?\Z")  # a key cut at the chunk's end
_PASTE_ON, _PASTE_OFF = "\x1b[200~", "\x1b[201~"
_ERASE = ("\x7f", "\b")
_WORD = re.compile(r"\S*\s*$")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Chunk:
    """A piece of the session: bytes the user typed (`typed`) or the program showed, at `at` seconds."""

    typed: bool
    at: float
    data: bytes


@dataclass(frozen=True)
class WrappedTurn:
    """One question and its answer; times in the seconds of the chunks."""

    question: str
    answer: str
    asked_at: float
    answered_at: float | None  # the last output before the user began the next line
    interrupted: bool


@dataclass
class _Submission:
    typed: str
    edited: bool
    row: int
    prompt: str | None
    at: float
    answered_at: float | None = None
    interrupted: bool = False


@dataclass(frozen=True)
class _Question:
    submission: _Submission
    text: str
    visible: bool  # the screen showed it (else it was typed at a prompt that does not echo)
    start: int  # the answer's first row
    extra: str  # answer text on the question's own row, after the echo


@dataclass
class _Typing:
    """The line the user is typing."""

    text: list[str] = field(default_factory=list)
    edited: bool = False
    started: bool = False
    row: int = 0
    prompt: str = ""


class Segmenter:
    """Feed it the chunks in order, then `finish` for the turns."""

    def __init__(self) -> None:
        self.screen = Screen()
        self._shown = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._typed = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._line = _Typing()
        self._submissions: list[_Submission] = []
        self._prompts: set[str] = set()
        self._typed_rows: set[int] = set()  # rows the cursor was on while the user typed
        self._paste = False
        self._after_cr = False
        self._pending_key = ""

    def feed(self, chunk: Chunk) -> None:
        if chunk.typed:
            self._typed_rows.add(self.screen.row)
            self._type(self._pending_key + self._typed.decode(chunk.data), chunk.at)
            return
        self.screen.feed(self._shown.decode(chunk.data))
        if self._submissions and not self._line.started:
            self._submissions[-1].answered_at = chunk.at

    # ---------------------------------------------------------------- typing

    def _type(self, text: str, at: float) -> None:
        self._pending_key = ""
        i = 0
        while i < len(text):
            if text[i] == "\x1b":
                if _KEY_PREFIX.match(text, i):
                    self._pending_key = text[i:]  # the rest of the key comes with the next chunk
                    return
                key = _KEY_SEQUENCE.match(text, i)
                assert key is not None  # the pattern matches a lone ESC
                self._key(key.group())
                i = key.end()
                continue
            self._char(text[i], at)
            i += 1

    def _begin(self) -> None:
        if not self._line.started:
            self._line.started = True
            self._line.row = self.screen.row
            self._line.prompt = self.screen.before_cursor()

    def _key(self, key: str) -> None:
        self._begin()
        if key == _PASTE_ON:
            self._paste = True
        elif key == _PASTE_OFF:
            self._paste = False
        else:
            self._line.edited = True  # arrows, history, word moves: the screen knows the line

    def _char(self, char: str, at: float) -> None:
        after_cr, self._after_cr = self._after_cr, char == "\r"
        line = self._line
        if char in "\r\n":
            if self._paste:
                if not (char == "\n" and after_cr):
                    self._begin()
                    line.text.append("\n")
            elif not (char == "\n" and after_cr):
                self._begin()
                self._submit(at)
            return
        self._begin()
        if char in _ERASE:
            if line.text:
                line.text.pop()
        elif char == "\x15":  # Ctrl-U
            line.text.clear()
        elif char == "\x17":  # Ctrl-W
            kept = _WORD.sub("", "".join(line.text))
            line.text[:] = kept
        elif char == "\x03":  # Ctrl-C
            self._interrupt()
        elif char == "\x04":  # Ctrl-D: end of input, not part of a line
            pass
        elif char < " ":
            line.edited = True  # Tab, Ctrl-A/E/K/R…: completion and editing the screen shows
        else:
            line.text.append(char)

    def _interrupt(self) -> None:
        at_prompt = self.screen.before_cursor().strip() in self._prompts
        if self._submissions and not self._line.text and not at_prompt:
            self._submissions[-1].interrupted = True
        self._line = _Typing()

    def _submit(self, at: float) -> None:
        line = self._line
        # The snapshot is the prompt only if the user typed on the row where Enter was pressed.
        prompt = line.prompt if line.row == self.screen.row else None
        if prompt and prompt.strip():
            self._prompts.add(prompt.strip())
        submission = _Submission(
            typed="".join(line.text), edited=line.edited, row=self.screen.row, prompt=prompt, at=at
        )
        self._submissions.append(submission)
        self._line = _Typing()

    # ---------------------------------------------------------------- turns

    def finish(self, *, ended_ok: bool = True) -> list[WrappedTurn]:
        """The turns, judged on the final screen; `ended_ok`: the program exited with 0."""
        self.screen.feed(self._shown.decode(b"", final=True))
        asked = [question for question in map(self._question, self._submissions) if question is not None]
        turns = []
        for number, question in enumerate(asked):
            submission = question.submission
            last = number == len(asked) - 1
            end = len(self.screen) if last else asked[number + 1].submission.row
            lines, returned = self._answer(question.start, end, last=last)
            answer = "\n".join([question.extra, *lines] if question.extra else lines).strip("\n")
            interrupted = submission.interrupted or (last and not returned and not ended_ok)
            if question.visible and answer.strip():
                turns.append(
                    WrappedTurn(
                        question=question.text,
                        answer=answer,
                        asked_at=submission.at,
                        answered_at=submission.answered_at,
                        interrupted=interrupted,
                    )
                )
        return turns

    def _question(self, submission: _Submission) -> _Question | None:
        """The question of a submitted line; None for an empty line."""
        shown = self._after_prompt(self.screen.line(submission.row).strip(), submission.prompt)
        typed = submission.typed.strip()
        question = shown if submission.edited and shown else typed
        if not question:
            return None
        # Each line of the question must show on the rows from the one it was typed on.
        targets = [_compact(part) for part in question.splitlines() if part.strip()]
        seen, row = "", submission.row
        last_row = min(len(self.screen) - 1, submission.row + len(targets) + len(_compact(question)) // 20)
        while row <= last_row:
            seen += _compact(self.screen.line(row))
            if all(target in seen for target in targets):
                extra = shown[len(question) :].strip() if row == submission.row and shown.startswith(question) else ""
                return _Question(submission, question, visible=True, start=row + 1, extra=extra)
            row += 1
        return _Question(submission, question, visible=False, start=submission.row + 1, extra="")

    def _after_prompt(self, text: str, prompt: str | None) -> str:
        candidates = [prompt.strip()] if prompt and prompt.strip() else []
        for candidate in [*candidates, *sorted(self._prompts, key=len, reverse=True)]:
            if text.startswith(candidate):
                return text[len(candidate) :].strip()
        return text

    def _answer(self, start: int, end: int, *, last: bool) -> tuple[list[str], bool]:
        """The answer's lines in rows [start, end) without prompt rows, and whether a prompt came back."""
        lines, returned = [], False
        for row in range(start, end):
            text = self.screen.line(row)
            bare = text.strip()
            after_prompt = any(bare.startswith(prompt) for prompt in self._prompts)
            # A prompt alone; a prompt row the user typed on (Ctrl-C, a cancelled line); the last one.
            typed_on = row in self._typed_rows or (last and row == len(self.screen) - 1)
            if bare in self._prompts or (after_prompt and typed_on):
                returned = True
                continue
            lines.append(text)
        while lines and not lines[-1].strip():
            lines.pop()
        return lines, returned


def segment(chunks: Iterable[Chunk], *, ended_ok: bool = True) -> list[WrappedTurn]:
    """The turns of a session's chunks (the rules are in the module docstring)."""
    segmenter = Segmenter()
    for chunk in chunks:
        segmenter.feed(chunk)
    return segmenter.finish(ended_ok=ended_ok)


def _compact(text: str) -> str:
    return _SPACE.sub("", text)
