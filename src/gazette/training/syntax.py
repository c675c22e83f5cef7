"""Ollama's Modelfile grammar: text <-> commands, read exactly as Ollama's own parser reads it.

A Modelfile is a list of `INSTRUCTION value` commands (`FROM`, `ADAPTER`, `PARAMETER name value`,
`SYSTEM`, `TEMPLATE`, `LICENSE`, `MESSAGE role value`, ...); `#` starts a comment line. A value runs
to the end of its line, or is quoted: `"..."` or `\"\"\"...\"\"\"`, which may span lines. Ollama has
no escape character: a quoted value ends at the first line that ends in its closing quote. So
`render_value` picks a spelling that reads back unchanged, and refuses a text that no spelling can
carry (one of several lines that ends in a triple quote).

The reader follows the state machine of Ollama's `parser/parser.go` (ParseFile) rune by rune, so
that what Gazette validates before sending is what Ollama would have read.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto

from gazette.errors import InvalidInputError

INSTRUCTIONS = (
    "from",
    "license",
    "template",
    "system",
    "adapter",
    "draft",
    "renderer",
    "parser",
    "parameter",
    "message",
    "requires",
)
ROLES = ("system", "user", "assistant")
_BLANK = " \t"
_NEWLINE = "\r\n"


@dataclass(frozen=True)
class Command:
    """One instruction as Ollama names it: `model` for FROM, the parameter's name for PARAMETER."""

    name: str
    value: str
    line: int
    role: str | None = None  # MESSAGE only


class _State(Enum):
    NIL = auto()
    NAME = auto()
    VALUE = auto()
    PARAMETER = auto()
    MESSAGE = auto()
    COMMENT = auto()


class _UnexpectedCharError(Exception):
    """A character that cannot follow an instruction or a name (a line that stops before its value)."""


def parse_commands(text: str) -> list[Command]:
    """The commands of a Modelfile, read as Ollama reads them.

    Raises:
        InvalidInputError: an unknown instruction, a bad MESSAGE role, a missing value, an
            unclosed quote, or no FROM line; the message names the line.
    """
    text = text.removeprefix("\ufeff")
    commands: list[Command] = []
    state = _State.NIL
    buffer: list[str] = []
    name = ""
    role: str | None = None
    line = 1
    start = 1
    for char in text:
        if char in _NEWLINE:
            line += 1
        try:
            following, kept = _step(char, state)
        except _UnexpectedCharError:
            raise _broken(line, state, "".join(buffer), char) from None
        if following is not state:
            word = "".join(buffer) if state is not _State.VALUE else ""
            if state is _State.NAME:
                lowered = word.lower()
                if lowered not in INSTRUCTIONS:
                    raise _unknown(line, word)
                start = line
                if lowered == "from":
                    name = "model"
                elif lowered == "parameter":
                    following = _State.PARAMETER
                elif lowered == "message":
                    following = _State.MESSAGE
                    name = lowered
                else:
                    name = lowered
            elif state is _State.PARAMETER:
                name = word
            elif state is _State.MESSAGE:
                if word not in ROLES:
                    raise _error(line, f"MESSAGE role must be one of {', '.join(ROLES)}, not {word!r}")
                role = word
            elif state is _State.VALUE:
                # A blank never ends a value; a line break ends it unless a quote is still open.
                value = None if char in _BLANK else _closed(buffer)
                if value is None:
                    buffer.append(char)
                    continue
                commands.append(Command(name=name, value=value, line=start, role=role))
                role = None
            buffer = []
            state = following
        if kept is not None and kept.isprintable():
            buffer.append(kept)
    if state is _State.VALUE:
        value = _unquote("".join(buffer).strip())
        if value is None:
            raise _error(start, 'a quoted value is never closed (a `"` or `"""` is missing)')
        commands.append(Command(name=name, value=value, line=start, role=role))
    elif state not in (_State.NIL, _State.COMMENT):
        raise _error(line, "the last instruction has no value")
    if not any(command.name == "model" for command in commands):
        raise InvalidInputError("the Modelfile has no FROM line: start it with `FROM <model>`, e.g. FROM llama3.2")
    return commands


def render_value(value: str, *, what: str, prefer_triple: bool = False) -> str:
    """The spelling of `value` that Ollama reads back unchanged: bare, `"..."` or `\"\"\"...\"\"\"`.

    Raises:
        InvalidInputError: no spelling carries it (characters Ollama drops, or a line ending in a triple
            quote inside a text of several lines: Modelfiles have no escapes).
    """
    if any(not char.isprintable() and char not in "\t\r\n" for char in value):
        raise InvalidInputError(
            f"{what} ({_preview(value)}) contains characters that Ollama's parser drops (control characters, "
            "non-breaking or other special spaces): remove them"
        )
    spellings = [value, f'"{value}"', f'"""{value}"""']
    if prefer_triple:
        spellings = [spellings[2], spellings[0], spellings[1]]
    for spelling in spellings:
        if _reads_back(spelling, value):
            return spelling
    raise InvalidInputError(
        f"{what} ({_preview(value)}) cannot be written in a Modelfile: a line of it ends in a triple quote, "
        "which ends Ollama's quoted text early (Modelfiles have no escape character); rephrase that line, "
        "e.g. with ''' instead"
    )


def _reads_back(spelling: str, value: str) -> bool:
    try:
        commands = parse_commands(f"FROM x\nSYSTEM {spelling}\n")
    except InvalidInputError:
        return False
    return [command.value for command in commands] == ["x", value]


def _step(char: str, state: _State) -> tuple[_State, str | None]:
    """Ollama's `parseRuneForState`: the next state and the character to keep (None: drop it)."""
    if state is _State.NIL:
        if char == "#":
            return _State.COMMENT, None
        if char in _BLANK or char in _NEWLINE:
            return _State.NIL, None
        return _State.NAME, char
    if state is _State.NAME:
        if _ascii_letter(char):
            return _State.NAME, char
        if char in _BLANK:
            return _State.VALUE, None
        raise _UnexpectedCharError
    if state is _State.VALUE:
        if char in _NEWLINE or char in _BLANK:
            return _State.NIL, char
        return _State.VALUE, char
    if state is _State.PARAMETER:
        if _ascii_letter(char) or char in "0123456789_":
            return _State.PARAMETER, char
        if char in _BLANK:
            return _State.VALUE, None
        raise _UnexpectedCharError
    if state is _State.MESSAGE:
        if _ascii_letter(char):
            return _State.MESSAGE, char
        if char in _BLANK:
            return _State.VALUE, None
        raise _UnexpectedCharError
    if char in _NEWLINE:
        return _State.NIL, None
    return _State.COMMENT, None


def _closed(buffer: list[str]) -> str | None:
    """`_unquote` of the value read so far, without joining a long quoted value at every line break."""
    start = 0
    while start < len(buffer) and buffer[start].isspace():
        start += 1
    end = len(buffer)
    while end > start and buffer[end - 1].isspace():
        end -= 1
    opening = "".join(buffer[start : start + 3])
    if opening.startswith('"'):
        quote = '"""' if opening == '"""' else '"'
        if end - start < 2 * len(quote) or "".join(buffer[end - len(quote) : end]) != quote:
            return None
    return _unquote("".join(buffer).strip())


def _unquote(text: str) -> str | None:
    """The value inside its quotes; None while a quote is still open."""
    if text.startswith('"""'):
        return text[3:-3] if len(text) >= 6 and text.endswith('"""') else None
    if text.startswith('"'):
        return text[1:-1] if len(text) >= 2 and text.endswith('"') else None
    return text


def _ascii_letter(char: str) -> bool:
    return char.isascii() and char.isalpha()


def _preview(value: str) -> str:
    flat = value.replace("\n", " ")
    return repr(flat[:40]) + ("..." if len(flat) > 40 else "")


def _broken(line: int, state: _State, word: str, char: str) -> InvalidInputError:
    """Why a line stopped before its value."""
    if state is _State.NAME and word.lower() not in INSTRUCTIONS:
        return _unknown(line, word + char.strip())
    what = {_State.NAME: word.upper(), _State.PARAMETER: f"PARAMETER {word}", _State.MESSAGE: f"MESSAGE {word}"}[state]
    if char in _NEWLINE:
        return _error(line, f"{what} needs a value on the same line (`PARAMETER name value`, `MESSAGE role text`)")
    return _error(line, f"unexpected {char!r} after {what}")


def _unknown(line: int, word: str) -> InvalidInputError:
    known = ", ".join(name.upper() for name in INSTRUCTIONS)
    return _error(line, f"unknown instruction {word!r}; Ollama knows {known}")


def _error(line: int, problem: str) -> InvalidInputError:
    return InvalidInputError(f"Modelfile line {line}: {problem}", details={"line": line})
