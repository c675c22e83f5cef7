"""A person at a real terminal, for the tests of `gazette training wrap`: the controlling side of a
pseudo-terminal that waits for text to show and then types."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import sys
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPL = Path(__file__).resolve().parent / "data" / "scripted_repl.py"
REPL_COMMAND = [sys.executable, str(REPL)]
PROMPT = b">>> "
Step = tuple[bytes, bytes | Callable[[], bytes]]  # wait for this text, then type these keys (or what it returns)
WAIT_SECONDS = 20.0  # a loaded machine; a passing test waits for output, never this long


class TerminalUser:
    """Owns a pty: `terminal` is the side a program gets as its stdin and stdout."""

    def __init__(self, *, columns: int = 100, rows: int = 30) -> None:
        self.controller, self.terminal = pty.openpty()
        self.resize(columns, rows)
        self.shown = b""
        self._seen = 0  # how far `expect` has read

    def resize(self, columns: int, rows: int) -> None:
        fcntl.ioctl(self.terminal, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))

    def read(self, timeout: float) -> bool:
        """Read what is there within `timeout`; False when the terminal has no writer left."""
        ready, _, _ = select.select([self.controller], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.controller, 65536)
        except OSError:
            return False
        self.shown += data
        return bool(data)

    def expect(self, text: bytes) -> None:
        """Wait until `text` shows after what was expected before."""
        deadline = time.monotonic() + WAIT_SECONDS
        while (found := self.shown.find(text, self._seen)) < 0:
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never showed; the screen: {self.shown!r}")
            self.read(0.05)
        self._seen = found + len(text)

    def type(self, keys: bytes) -> None:
        os.write(self.controller, keys)

    def close(self) -> None:
        os.close(self.controller)
        os.close(self.terminal)


class Script(threading.Thread):
    """Plays `steps` (wait for this text, then type these keys) at a `TerminalUser` from a thread,
    while the main thread runs the wrapped program; keeps reading until `stop`."""

    def __init__(self, user: TerminalUser, steps: list[Step]) -> None:
        super().__init__(daemon=True)
        self.user, self.steps = user, steps
        self.error: BaseException | None = None
        self._done = threading.Event()

    def run(self) -> None:
        try:
            for wait, keys in self.steps:
                self.user.expect(wait)
                self.user.type(keys() if callable(keys) else keys)
            while not self._done.is_set():
                self.user.read(0.02)
        except BaseException as exc:  # reported by stop()
            self.error = exc
            self.user.type(b"\x03")  # Ctrl-C ends the program: the test fails rather than hangs

    def stop(self) -> None:
        self._done.set()
        self.join(WAIT_SECONDS)
        while self.user.read(0):  # what is left
            if not select.select([self.user.controller], [], [], 0)[0]:
                break
        if self.error is not None:
            raise self.error
