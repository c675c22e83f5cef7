"""The Modelfile format: text <-> commands, as docs/models.md ("Modelfile syntax") describes it.

Each command starts on a new line: `INSTRUCTION value` (the instruction in any case), `PARAMETER
name value` or `MESSAGE role value`; blank lines and lines whose first non-blank character is `#`
are skipped. A value is written one of three ways:

- bare: the rest of the line, without the spaces and tabs around it;
- `"text"`: the text runs from the opening quote to the first line that ends in `"`, which may be
  the opening line itself;
- `\"\"\"text\"\"\"`: the same with three quotes; line breaks inside are kept.

Spaces and tabs after a closing quote are ignored. There is no escape character, so a quoted text
cannot go on past a line that ends in its quote. `render_value` therefore writes a text bare when
it can, else between triple quotes, and refuses what no spelling carries: a line other than the
last that ends in `\"\"\"`, or a control character.

Line breaks are `\\n`, `\\r\\n` or `\\r`; a Modelfile holds no other control character than tab.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from gazette.errors import InvalidInputError

INSTRUCTIONS = (
    "from",
    "adapter",
    "parameter",
    "template",
    "system",
    "license",
    "message",
    "draft",
    "requires",
    "renderer",
    "parser",
)
ROLES = ("system", "user", "assistant")

BLANKS = " \t"
TRIPLE = '"""'
_QUOTES = (TRIPLE, '"')  # the longer opening first: `"""` is not a `"` followed by text
_ALLOWED_CONTROLS = "\t\n"


@dataclass(frozen=True)
class Command:
    """One command of a Modelfile.

    `instruction` is lower-case (`from`, `parameter`, `message`, ...); `name` is the parameter's
    name for PARAMETER, `role` the role for MESSAGE; `line` is where the command starts (1-based).
    """

    instruction: str
    value: str
    line: int
    name: str | None = None
    role: str | None = None


def parse_commands(text: str) -> list[Command]:
    """The commands of a Modelfile, in order.

    Raises:
        InvalidInputError: an unknown instruction, a missing value, a PARAMETER without name or value,
            a MESSAGE with an unknown role, a quoted value that is never closed, or a control
            character; the message names the line and what to change.
    """
    lines = _lines(text)
    commands: list[Command] = []
    number = 0  # lines[number] is the next line to read; its line number is number + 1
    while number < len(lines):
        start = number + 1
        line = lines[number].lstrip(BLANKS)
        number += 1
        if not line or line.startswith("#"):
            continue
        word, rest = _first_word(line)
        instruction = word.lower()
        if instruction not in INSTRUCTIONS:
            known = ", ".join(each.upper() for each in INSTRUCTIONS)
            raise _error(start, f"unknown instruction {word!r}: start the line with one of {known}, then a space")
        name = role = None
        if instruction == "parameter":
            name, rest = _first_word(rest)
            if not name:
                raise _error(start, "PARAMETER needs a name and a value, e.g. `PARAMETER num_ctx 4096`")
            usage = f"PARAMETER {name}"
        elif instruction == "message":
            word, rest = _first_word(rest)
            if not word:
                raise _error(start, "MESSAGE needs a role (system, user or assistant) and a text: `MESSAGE user Hello`")
            if word.lower() not in ROLES:
                raise _error(start, f"MESSAGE role {word!r} is unknown: use system, user or assistant")
            role = word.lower()
            usage = f"MESSAGE {role}"
        else:
            usage = word.upper()
        if not rest.strip(BLANKS):
            raise _error(start, f"{usage} needs a value on the same line: `{usage} <value>`")
        value, number = _read_value(rest, lines, number, start)
        commands.append(Command(instruction=instruction, value=value, line=start, name=name, role=role))
    return commands


def render_value(value: str, *, what: str, prefer_triple: bool = False) -> str:
    """`value` spelled so that `parse_commands` reads it back unchanged: bare when it is one line
    without blanks around it that does not start with a quote (and `prefer_triple` is off), else
    between triple quotes. `what` names the value in errors ("the system prompt").

    Raises:
        InvalidInputError: a control character other than tab and line feed (a carriage return would
            be read as a line break), or a line other than the last that ends in `\"\"\"`, which would
            close the value early (Modelfiles have no escape character).
    """
    for position, char in enumerate(value, start=1):
        if char not in _ALLOWED_CONTROLS and unicodedata.category(char) == "Cc":
            advice = "write line breaks as \\n alone" if char == "\r" else "remove it (a Modelfile holds only text)"
            raise InvalidInputError(
                f"{what} contains the control character U+{ord(char):04X} at character {position} "
                f"({_where(value, position)}): {advice}",
                details={"character": f"U+{ord(char):04X}", "position": position},
            )
    lines = value.split("\n")
    for number, line in enumerate(lines[:-1], start=1):
        if line.rstrip(BLANKS).endswith(TRIPLE):
            shown = repr(line if len(line) <= 40 else "..." + line[-37:])
            raise InvalidInputError(
                f"line {number} of {what} ({shown}) ends in {TRIPLE}, which would end the value there (a Modelfile "
                "has no escape character): put something after those quotes on that line, or write ''' instead",
                details={"line": number},
            )
    bare = len(lines) == 1 and bool(value) and value == value.strip() and not value.startswith('"')
    if bare and not prefer_triple:
        return value
    return TRIPLE + value + TRIPLE


def _lines(text: str) -> list[str]:
    """The lines of `text` (any line break), after refusing control characters."""
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        for column, char in enumerate(line, start=1):
            if char != "\t" and unicodedata.category(char) == "Cc":
                raise _error(
                    number, f"control character U+{ord(char):04X} at column {column}: remove it (only tabs are allowed)"
                )
    return lines


def _first_word(text: str) -> tuple[str, str]:
    """The text up to the first blank, and what follows the blanks after it."""
    text = text.lstrip(BLANKS)
    end = next((index for index, char in enumerate(text) if char in BLANKS), len(text))
    return text[:end], text[end:].lstrip(BLANKS)


def _read_value(rest: str, lines: list[str], number: int, start: int) -> tuple[str, int]:
    """The value that begins `rest` (on line `start`), and the index of the line after it.

    A quoted value takes lines from `lines[number]` on until one ends in its quote.
    """
    quote = next((quote for quote in _QUOTES if rest.startswith(quote)), None)
    if quote is None:
        return rest.rstrip(BLANKS), number
    parts = [rest[len(quote) :]]  # the text after the opening quote, then each following line
    while True:
        last = parts[-1].rstrip(BLANKS)
        if last.endswith(quote):
            parts[-1] = last[: -len(quote)]
            return "\n".join(parts), number
        if number == len(lines):
            raise _error(
                start,
                f"the value opened with {quote} here is never closed: end its last line with {quote} "
                "(a quoted value ends at the first line that ends in its quote)",
            )
        parts.append(lines[number])
        number += 1


def _where(value: str, position: int) -> str:
    """`line L, column C` of the 1-based character `position` in `value`."""
    before = value[: position - 1]
    line = before.count("\n") + 1
    column = len(before) - before.rfind("\n")
    return f"line {line}, column {column}"


def _error(line: int, problem: str) -> InvalidInputError:
    return InvalidInputError(f"Modelfile line {line}: {problem}", details={"line": line})
