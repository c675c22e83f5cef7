"""A tiny terminal chat program for the tests of `gazette training wrap`.

It prints a coloured prompt `>>> `, reads a line, shows a spinner redrawn with carriage returns,
then answers in colour over several lines. `/bye` or end of input ends it with the exit code given
as the first argument (default 0); `/crash` ends it with 3 in the middle of an answer; a question
containing "slow" answers slowly (for Ctrl-C); `/size` answers with the terminal's size. With
`--secret` it first asks for a passphrase with echo off.
"""

from __future__ import annotations

import os
import sys
import termios
import time

PROMPT = "\x1b[1;32m>>> \x1b[0m"


def say(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def answer(question: str) -> None:
    for frame in "|/-\\":
        say(f"\r\x1b[2K{frame} thinking")
        time.sleep(0.01)
    say("\r\x1b[2K")
    if question == "/size":
        size = os.get_terminal_size(sys.stdout.fileno())
        say(f"size {size.columns}x{size.lines}\r\n")
        return
    if question == "/crash":
        say("\x1b[33mhalf an ans")
        sys.exit(3)
    lines = [f"\x1b[36mYou said: {question}\x1b[0m", "Second line of the answer.", "", "  indented last line"]
    if "slow" in question:
        for word in ("this", "answer", "is", "slow"):
            say(word + " ")
            time.sleep(0.3)
        say("\r\n")
        return
    say("\r\n".join(lines) + "\r\n")


def ask_secret() -> None:
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    quiet = termios.tcgetattr(fd)
    quiet[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        say("passphrase: ")
        sys.stdin.readline()
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)
    say("\r\nunlocked\r\n")


def main() -> int:
    args = sys.argv[1:]
    code = int(args[0]) if args and args[0].isdigit() else 0
    say("\x1b]0;scripted repl\x07Welcome to the scripted REPL.\r\n")
    if "--secret" in args:
        ask_secret()
    while True:
        say(PROMPT)
        line = sys.stdin.readline()
        if not line:
            say("\r\n")
            return code
        question = line.strip()
        if question == "/bye":
            return code
        if question:
            answer(question)


if __name__ == "__main__":
    sys.exit(main())
