"""The text a terminal shows, as far as a transcript needs it: rows of characters that carriage
returns, backspaces, erases and cursor moves rewrite, so a spinner or a redrawn line leaves only its
final state. Colours, modes, titles and other escape sequences are dropped.

It is a line model, not a terminal emulator: there is no screen width (long lines do not wrap),
absolute positions keep only their column, and clearing the screen starts a fresh row below what
was shown (a full-screen program's redraws pile up rather than replace each other).
"""

from __future__ import annotations

import re

# A complete escape sequence: CSI; OSC ended by BEL or ST; DCS/SOS/PM/APC strings; ESC with
# intermediates (character sets); two-character ESC (save/restore cursor, index, reset).
_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[P_^X][^\x1b]*\x1b\\"
    r"|\x1b[ -/]+[0-~]"
    r"|\x1b[0-OQ-WYZ\\`-~]"
)
# The beginning of a sequence that the next piece of output may complete.
_PARTIAL = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*\x1b?|[P_^X][^\x1b]*\x1b?|[ -/]*)\Z")
_TEXT = re.compile(r"[^\x00-\x1f\x7f-\x9f]+")
_LONGEST_PENDING = 4096  # an unterminated string longer than this was never a sequence
_TAB = 8


class Screen:
    """Rows of text and a cursor, fed the program's output as decoded text, piece by piece."""

    def __init__(self) -> None:
        self._rows: list[list[str]] = [[]]
        self.row = 0
        self.col = 0
        self._saved = (0, 0)
        self._pending = ""

    def __len__(self) -> int:
        return len(self._rows)

    def line(self, row: int) -> str:
        """The text of `row`, trailing blanks removed."""
        return "".join(self._rows[row]).rstrip()

    def before_cursor(self) -> str:
        """The text of the cursor's row left of the cursor (a prompt, when a program waits)."""
        return "".join(self._rows[self.row][: self.col])

    def feed(self, text: str) -> None:
        """Apply a piece of output; a sequence cut at its end is completed by the next piece."""
        text, self._pending = self._pending + text, ""
        i, end = 0, len(text)
        while i < end:
            if text[i] == "\x1b":
                found = _SEQUENCE.match(text, i)
                if found is not None:
                    self._sequence(found.group())
                    i = found.end()
                    continue
                if end - i < _LONGEST_PENDING and _PARTIAL.match(text, i):
                    self._pending = text[i:]
                    return
                i += 1  # a stray ESC
                continue
            run = _TEXT.match(text, i)
            if run is not None:
                self._write(run.group())
                i = run.end()
                continue
            self._control(text[i])
            i += 1

    # ---------------------------------------------------------------- editing

    def _write(self, text: str) -> None:
        cells = self._rows[self.row]
        if self.col > len(cells):
            cells.extend(" " * (self.col - len(cells)))
        cells[self.col : self.col + len(text)] = text
        self.col += len(text)

    def _control(self, char: str) -> None:
        if char == "\r":
            self.col = 0
        elif char in "\n\x0b\x0c":
            self._down(1)
            self.col = 0  # a bare LF in raw output still means a new line to a reader
        elif char == "\b":
            self.col = max(0, self.col - 1)
        elif char == "\t":
            self.col = (self.col // _TAB + 1) * _TAB

    def _down(self, rows: int) -> None:
        self.row += rows
        while self.row >= len(self._rows):
            self._rows.append([])

    def _new_page(self) -> None:
        """Clearing the screen: what was shown stays in the record, the rest starts on a fresh row."""
        if any(cell != " " for cell in self._rows[-1]):
            self._rows.append([])
        self.row, self.col = len(self._rows) - 1, 0

    def _sequence(self, sequence: str) -> None:
        if sequence.startswith("\x1b["):
            self._csi(sequence[2:-1], sequence[-1])
        elif sequence == "\x1b7":
            self._saved = (self.row, self.col)
        elif sequence == "\x1b8":
            self.row, self.col = self._saved
        elif sequence == "\x1bM":
            self.row = max(0, self.row - 1)
        elif sequence == "\x1bD":
            self._down(1)
        elif sequence == "\x1bE":
            self._down(1)
            self.col = 0
        elif sequence == "\x1bc":
            self._new_page()

    def _csi(self, params: str, final: str) -> None:
        if params[:1] in ("<", "=", ">", "?"):
            return  # private modes: cursor visibility, bracketed paste, alternate screen
        numbers = [int(part) if part.isdigit() else 0 for part in params.rstrip(" !\"#$%&'()*+,-./").split(";")]
        first = numbers[0]
        count = first or 1
        cells = self._rows[self.row]
        if final in "AF":
            self.row = max(0, self.row - count)
        elif final in "BE":
            self._down(count)
        elif final == "C":
            self.col += count
        elif final == "D":
            self.col = max(0, self.col - count)
        if final in "EF":
            self.col = 0
        elif final in "G`":
            self.col = count - 1
        elif final in "Hf":
            # The row is the screen's, which a line model does not know: keep the column only.
            self.col = (numbers[1] if len(numbers) > 1 and numbers[1] else 1) - 1
        elif final == "K":
            self._erase_line(cells, first)
        elif final == "J":
            if first == 0:
                del cells[self.col :]
                del self._rows[self.row + 1 :]
            elif first in (2, 3):
                self._new_page()
        elif final == "P":
            del cells[self.col : self.col + count]
        elif final == "@" and self.col < len(cells):
            cells[self.col : self.col] = " " * count
        elif final == "X":
            cells[self.col : self.col + count] = " " * max(0, min(count, len(cells) - self.col))
        elif final == "s":
            self._saved = (self.row, self.col)
        elif final == "u":
            self.row, self.col = self._saved
        self.row = min(self.row, len(self._rows) - 1)

    def _erase_line(self, cells: list[str], mode: int) -> None:
        if mode == 0:
            del cells[self.col :]
        elif mode == 1:
            cells[: self.col + 1] = " " * min(len(cells), self.col + 1)
        elif mode == 2:
            cells.clear()
