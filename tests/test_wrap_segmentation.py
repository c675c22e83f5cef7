"""The turns `gazette training wrap` finds in typed and shown bytes (gazette.dialogs.wrap), and the
line screen model under it (gazette.dialogs.screen): pure functions fed byte sequences."""

from __future__ import annotations

import pytest

from gazette.dialogs.screen import Screen
from gazette.dialogs.wrap import Chunk, WrappedTurn, segment
from gazette.dialogs.wrap_run import model_of, redact_command, redact_transcript

PROMPT = b"\x1b[1;32m>>> \x1b[0m"


def session(*events: tuple[str, bytes], ended_ok: bool = True) -> list[WrappedTurn]:
    """Events as ("typed" | "shown", bytes), one second apart."""
    chunks = [Chunk(typed=kind == "typed", at=float(i), data=data) for i, (kind, data) in enumerate(events)]
    return segment(chunks, ended_ok=ended_ok)


def pairs(turns: list[WrappedTurn]) -> list[tuple[str, str]]:
    return [(turn.question, turn.answer) for turn in turns]


def typed(data: bytes) -> tuple[str, bytes]:
    return ("typed", data)


def shown(data: bytes) -> tuple[str, bytes]:
    return ("shown", data)


def exchange(question: bytes, answer: bytes) -> list[tuple[str, bytes]]:
    """A canonical-mode program: the terminal echoes the line as it is sent, then the answer and the prompt."""
    return [typed(question + b"\r"), shown(question + b"\r\n" + answer + PROMPT)]


def test_each_submitted_line_is_a_question_and_the_output_until_the_next_its_answer() -> None:
    turns = session(
        shown(b"Welcome!\r\n" + PROMPT),
        *exchange(b"hello", b"Hello to you.\r\nSecond line.\r\n"),
        *exchange(b"and then?", b"Then this.\r\n"),
        typed(b"/bye\r"),
        shown(b"/bye\r\n"),
    )
    assert pairs(turns) == [("hello", "Hello to you.\nSecond line."), ("and then?", "Then this.")]
    assert [(turn.asked_at, turn.answered_at, turn.interrupted) for turn in turns] == [
        (1.0, 2.0, False),
        (3.0, 4.0, False),
    ]


def test_colours_titles_charsets_and_spinners_leave_only_the_final_text() -> None:
    answer = (
        b"\x1b]0;thinking\x07"
        + b"".join(b"\r\x1b[2K" + frame + b" thinking" for frame in (b"|", b"/", b"-"))
        + b"\r\x1b[2K\x1b(B\x1b[36mThe \x1b[1msky\x1b[0m is blue.\x1b[0m\r\n"
        + b"\xe2\xa0\x8b\b\xe2\xa0\x99\b \bdone\r\n"
    )
    turns = session(shown(PROMPT), *exchange(b"why?", answer))
    assert pairs(turns) == [("why?", "The sky is blue.\ndone")]


def test_typed_backspaces_and_line_kills_are_applied_and_the_echo_is_not_the_answer() -> None:
    turns = session(
        shown(PROMPT),
        typed(b"helo\x7flo"),
        shown(b"helo\b \blo"),
        typed(b" wrong words\x17\x17wz\x08orld\r"),
        shown(b" world\r\nanswer\r\n" + PROMPT),
        typed(b"junk\x15what\r"),
        shown(b"what\r\nsecond\r\n" + PROMPT),
    )
    assert pairs(turns) == [("hello world", "answer"), ("what", "second")]


def test_a_program_that_echoes_each_key_itself_is_read_the_same() -> None:
    keys = [event for key in b"hi" for event in (typed(bytes([key])), shown(bytes([key])))]
    turns = session(shown(b">>> "), *keys, typed(b"\r"), shown(b"\r\nHi!\r\n>>> "))
    assert pairs(turns) == [("hi", "Hi!")]


def test_an_echo_that_arrives_after_enter_is_still_the_echo() -> None:
    turns = session(shown(b"> "), typed(b"pasted line\r"), shown(b"pasted line\r\nok\r\n> "))
    assert pairs(turns) == [("pasted line", "ok")]


def test_empty_lines_are_not_questions_and_their_prompts_are_not_answers() -> None:
    turns = session(
        shown(PROMPT),
        typed(b"\r"),
        shown(b"\r\n" + PROMPT),
        *exchange(b"q", b"a\r\n\r\n"),
        typed(b"\r"),
        shown(b"\r\n" + PROMPT),
        typed(b"   \r"),
        shown(b"   \r\n" + PROMPT),
        *exchange(b"q2", b"a2\r\n"),
    )
    assert pairs(turns) == [("q", "a"), ("q2", "a2")]


def test_the_prompt_the_program_ends_on_is_not_part_of_the_answer() -> None:
    placeholder = b">>> \x1b[38;5;245mSend a message (/? for help)\x1b[28D\x1b[0m"
    turns = session(
        shown(placeholder),
        typed(b"h"),
        shown(b"\x1b[Kh"),
        typed(b"i\r"),
        shown(b"i\r\nHello\r\n\r\n" + placeholder),
        typed(b"\x04"),
        ended_ok=False,
    )
    assert pairs(turns) == [("hi", "Hello")]
    assert not turns[0].interrupted  # the prompt came back before the program ended


def test_a_recalled_line_is_read_from_the_screen() -> None:
    turns = session(
        *exchange(b"first", b"one\r\n"),
        typed(b"\x1b[A"),
        shown(b"first"),
        typed(b"\x1b[D\x1b[D\x1b[Cx\r"),
        shown(b"\x1b[2D\x1b[Kxst\r\ntwo\r\n" + PROMPT),
    )
    assert pairs(turns) == [("first", "one"), ("firxst", "two")]


def test_a_line_typed_without_echo_is_not_recorded_nor_its_answer() -> None:
    turns = session(
        shown(b"passphrase: "),
        typed(b"correct horse\r"),
        shown(b"\r\nunlocked\r\n" + PROMPT),
        *exchange(b"hello", b"hi\r\n"),
    )
    assert pairs(turns) == [("hello", "hi")]


def test_answers_that_are_empty_drop_their_question() -> None:
    turns = session(*exchange(b"/set quiet", b""), *exchange(b"real", b"answer\r\n"), typed(b"/bye\r"))
    assert pairs(turns) == [("real", "answer")]


@pytest.mark.parametrize(("ended_ok", "interrupted"), [(False, True), (True, False)], ids=["crashed", "exited with 0"])
def test_an_answer_the_program_ended_in_is_interrupted_unless_it_exited_with_0(
    ended_ok: bool, interrupted: bool
) -> None:
    turns = session(shown(PROMPT), typed(b"go\r"), shown(b"go\r\nhalf an ans"), ended_ok=ended_ok)
    assert pairs(turns) == [("go", "half an ans")]
    assert turns[0].interrupted is interrupted


def test_ctrl_c_during_an_answer_marks_it_interrupted_but_not_at_the_prompt() -> None:
    turns = session(
        *exchange(b"warm up", b"ok\r\n"),
        typed(b"long\r"),
        shown(b"long\r\nthis is"),
        typed(b"\x03"),
        shown(b"^C\r\n" + PROMPT),
        typed(b"\x03"),
        shown(b"^C\r\n" + PROMPT),
        *exchange(b"after", b"fine\r\n"),
    )
    assert pairs(turns) == [("warm up", "ok"), ("long", "this is^C"), ("after", "fine")]
    assert [turn.interrupted for turn in turns] == [False, True, False]


def test_lines_redrawn_by_moving_the_cursor_up_keep_their_last_state() -> None:
    draft = b"# Title\r\nfirst draft\r\n"
    final = b"\x1b[2A\r\x1b[J# Title\r\nthe final text\r\nmore\r\n"
    turns = session(shown(PROMPT), *exchange(b"render", draft + final))
    assert pairs(turns) == [("render", "# Title\nthe final text\nmore")]


def test_characters_and_sequences_cut_between_chunks_are_joined() -> None:
    turns = session(
        shown(b">"),
        shown(b" "),
        typed(b"caf\xc3"),
        typed(b"\xa9\r"),
        shown(b"caf\xc3"),
        shown(b"\xa9\r\n\x1b[3"),
        shown(b"6mcolour\x1b"),
        shown(b"[0m\r\n> "),
    )
    assert pairs(turns) == [("café", "colour")]


def test_bracketed_paste_keeps_a_multi_line_question_together() -> None:
    turns = session(
        shown(b"> "),
        typed(b"\x1b[200~line one\r\nline two\x1b[201~\r"),
        shown(b"line one\r\n... line two\r\nanswer\r\n> "),
    )
    assert pairs(turns) == [("line one\nline two", "answer")]


def test_an_arrow_key_cut_between_chunks_is_one_key() -> None:
    turns = session(
        *exchange(b"first", b"one\r\n"),
        typed(b"\x1b"),
        typed(b"[A"),
        shown(b"first"),
        typed(b"\r"),
        shown(b"\r\nagain\r\n" + PROMPT),
    )
    assert pairs(turns) == [("first", "one"), ("first", "again")]


# ---------------------------------------------------------------- the screen model


@pytest.mark.parametrize(
    ("output", "lines"),
    [
        (b"abcdef\x1b[3D\x1b[K", ["abc"]),
        (b"abcdef\x1b[3D\x1b[1K", ["    ef"]),
        (b"abcdef\x1b[2K", [""]),
        (b"abcdef\x1b[4G\x1b[2P", ["abcf"]),
        (b"abcdef\x1b[2G\x1b[2@", ["a  bcdef"]),
        (b"abcdef\x1b[2G\x1b[3X", ["a   ef"]),
        (b"a\tb", ["a       b"]),
        (b"abc\x1b7\r\nxyz\x1b8!", ["abc!", "xyz"]),
        (b"abc\x1b[s\r\nxyz\x1b[u!", ["abc!", "xyz"]),
        (b"one\r\ntwo\x1bMX", ["oneX", "two"]),
        (b"one\x1bEtwo\x1bDthree", ["one", "two", "   three"]),
        (b"old\x1b[2J\x1b[Hnew", ["old", "new"]),
        (b"old\x1bcnew", ["old", "new"]),
        (b"abc\x1b[1;2Hx", ["axc"]),
        (b"one\r\ntwo\r\nthree\x1b[2F\x1b[J", [""]),
        (b"one\r\n\x1b[5Bdown", ["one", "", "", "", "", "", "down"]),
        (b"\x1b[?25l\x1b[?2004hvisible\x1b[?25h\x1bP1$r\x1b\\\x1b_apc\x1b\\", ["visible"]),
        (b"stray \x1b\x07escape", ["stray escape"]),
    ],
)
def test_the_screen_model_applies_erases_moves_and_drops_the_rest(output: bytes, lines: list[str]) -> None:
    screen = Screen()
    screen.feed(output.decode())
    assert [screen.line(row) for row in range(len(screen))] == lines


def test_the_screen_model_knows_the_text_left_of_the_cursor() -> None:
    screen = Screen()
    screen.feed(">>> Send a message\x1b[14D")
    assert (screen.before_cursor(), screen.line(0)) == (">>> ", ">>> Send a message")


# ---------------------------------------------------------------- the command


@pytest.mark.parametrize(
    ("argv", "model"),
    [
        (["ollama", "run", "llama3.2"], "ollama:llama3.2"),
        (["/usr/local/bin/ollama", "run", "--verbose", "qwen2.5:7b"], "ollama:qwen2.5:7b"),
        (["llm", "chat", "-m", "gpt-4o-mini"], "gpt-4o-mini"),
        (["llm", "chat", "--model=claude-3.5"], "claude-3.5"),
        (["ollama", "list"], "ollama"),
        (["python3", "repl.py"], "python3"),
    ],
)
def test_the_model_comes_from_the_command_where_it_is_obvious(argv: list[str], model: str) -> None:
    assert model_of(argv) == model


def test_secrets_in_the_command_are_masked() -> None:
    argv = ["tool", "--api-key", "abc123", "--password=hunter2", "--token", "t0k", "sk-abcdefghijklmnopqrstu", "x"]
    assert redact_command(argv) == ["tool", "--api-key", "***", "--password=***", "--token", "***", "***", "x"]


def test_a_secret_found_in_the_turns_is_masked_wherever_the_transcript_shows_it() -> None:
    transcript = "\x1b[1mYou said: hunter2\x1b[0m, password: hunter2"
    assert redact_transcript(transcript, ["my password: hunter2", "nothing here"]) == (
        "\x1b[1mYou said: ***\x1b[0m, password: ***"
    )
