"""Run a program on a pseudo-terminal of its own, passing the user's terminal through (POSIX only).

`run` copies what the user types to the program and what the program shows to the user at once,
byte for byte, and tells an `Observer` both, in the order they happened. On a terminal, the user's
terminal is in raw mode for the run (the program's own terminal edits lines and turns Ctrl-C into
its signal) and is restored afterwards whatever happens; its size is copied and followed (SIGWINCH).
Signals sent to Gazette itself (SIGINT, SIGTERM, SIGHUP, SIGQUIT) are passed on to the program,
which decides what they mean; Gazette waits for it to end.

When input is not a terminal (a pipe, a file) it is typed a line at a time, as a person would: the
next line goes in once the program shows a prompt (output that does not end its line) and pauses
for `settle` seconds, or has been silent for `patience` seconds (10 s before it has shown anything:
it is still starting); the end of input is typed as Ctrl-D in the same way.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from types import FrameType
from typing import Protocol

from gazette.errors import InvalidInputError, NotFoundError, UnavailableError

NOT_FOUND_EXIT = 127
NOT_EXECUTABLE_EXIT = 126
EOF_KEY = b"\x04"
_READ = 65536
_QUEUE_LIMIT = 1 << 20  # piped input read ahead of the program
_POLL_SECONDS = 0.25  # how soon the end of the program is noticed when its terminal stays open
_DRAIN_SECONDS = 2.0
_FIRST_PATIENCE = 10.0  # before a program has shown anything it is starting, not waiting
_TRAILING_SEQUENCES = re.compile(rb"(?:\x1b\[[0-?]*[ -/]*[@-~])*\Z")


class Observer(Protocol):
    """Told every piece of input the program received and every piece of output it showed."""

    def typed(self, data: bytes) -> None: ...

    def shown(self, data: bytes) -> None: ...


def require_posix() -> None:
    """Raises:
    UnavailableError: not a POSIX system (no pseudo-terminals on Windows).
    """
    if os.name != "posix":
        raise UnavailableError(
            "gazette training wrap needs pseudo-terminals, which Windows does not have: run it on Linux, "
            "macOS or in WSL"
        )


def find_program(name: str) -> str:
    """The file `name` runs, looked up on PATH unless it is a path.

    Raises:
        UnavailableError: not a POSIX system.
        NotFoundError: no such program (`details["exit_code"]` is 127, as in a shell).
        InvalidInputError: it is a directory or not executable (`details["exit_code"]` 126).
    """
    require_posix()
    if os.sep in name:
        if not os.path.exists(name):
            raise NotFoundError(f"{name}: no such file", details={"command": name, "exit_code": NOT_FOUND_EXIT})
        if os.path.isdir(name) or not os.access(name, os.X_OK):
            raise InvalidInputError(
                f"{name}: not an executable file", details={"command": name, "exit_code": NOT_EXECUTABLE_EXIT}
            )
        return name
    found = shutil.which(name)
    if found is None:
        raise NotFoundError(
            f"{name}: command not found (not on PATH)", details={"command": name, "exit_code": NOT_FOUND_EXIT}
        )
    return found


def run(
    argv: Sequence[str],
    observer: Observer,
    *,
    stdin_fd: int = 0,
    stdout_fd: int = 1,
    settle: float = 0.3,
    patience: float = 2.0,
) -> int:
    """Run `argv` on a new pseudo-terminal until it ends; returns its exit code (128 + N when signal
    N ended it, as a shell says).

    Raises:
        UnavailableError, NotFoundError, InvalidInputError: as `find_program`, before anything runs;
            InvalidInputError also when the system refuses to execute it (126).
    """
    program = find_program(argv[0])
    master, terminal = os.openpty()
    with ExitStack() as stack:
        stack.callback(os.close, master)
        # Before the program starts: it then begins with these signals at their defaults (exec resets
        # a handled signal, where an ignored one would stay ignored), and none ends Gazette meanwhile.
        passing = stack.enter_context(_passed_signals(master, stdin_fd, stdout_fd))
        try:
            process = _spawn(program, argv, terminal, stdin_fd, stdout_fd)
        finally:
            os.close(terminal)
        passing.pid = process.pid
        if os.isatty(stdin_fd):
            stack.enter_context(_raw(stdin_fd))
        pump = _Pump(master, process, observer, stdin_fd, stdout_fd, settle=settle, patience=patience)
        try:
            pump.run()
        except BaseException:
            _stop(process)
            raise
    code = process.wait()
    return 128 - code if code < 0 else code


def _spawn(program: str, argv: Sequence[str], terminal: int, stdin_fd: int, stdout_fd: int) -> subprocess.Popen[bytes]:
    import termios

    if os.isatty(stdin_fd):  # the user's erase and interrupt keys, and the rest, for the program
        termios.tcsetattr(terminal, termios.TCSANOW, termios.tcgetattr(stdin_fd))
    _copy_size(stdin_fd, stdout_fd, terminal)
    try:
        # A session of its own with this terminal as the controlling one, so that Ctrl-C, Ctrl-Z and
        # the window size reach it as they would in a terminal of its own.
        return subprocess.Popen(
            list(argv),
            executable=program,
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            start_new_session=True,
            preexec_fn=_take_terminal,  # noqa: PLW1509 - one ioctl between fork and exec
        )
    except FileNotFoundError:
        raise NotFoundError(
            f"{argv[0]}: command not found", details={"command": argv[0], "exit_code": NOT_FOUND_EXIT}
        ) from None
    except OSError as exc:
        raise InvalidInputError(
            f"{argv[0]}: cannot be executed ({exc.strerror or exc})",
            details={"command": argv[0], "exit_code": NOT_EXECUTABLE_EXIT},
        ) from None


def _take_terminal() -> None:  # pragma: no cover - runs in the child, between fork and exec
    import fcntl
    import termios

    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _copy_size(stdin_fd: int, stdout_fd: int, target: int) -> None:
    import fcntl
    import termios

    for source in (stdin_fd, stdout_fd):
        if os.isatty(source):
            size = fcntl.ioctl(source, termios.TIOCGWINSZ, b"\0" * 8)
            fcntl.ioctl(target, termios.TIOCSWINSZ, size)
            return


@contextmanager
def _raw(fd: int) -> Iterator[None]:
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    tty.setraw(fd, termios.TCSANOW)  # not TCSAFLUSH: keys typed ahead belong to the program
    try:
        yield
    finally:
        with suppress(termios.error):  # the terminal is gone: nothing to restore
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class _Passing:
    """The program signals sent to Gazette go to, once it has started."""

    pid: int | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.pid is not None:
            with suppress(OSError):  # it has ended already
                os.killpg(self.pid, signum)


@contextmanager
def _passed_signals(master: int, stdin_fd: int, stdout_fd: int) -> Iterator[_Passing]:
    """Pass SIGINT, SIGTERM, SIGHUP, SIGQUIT on to the program; follow the window size."""
    passing = _Passing()
    if threading.current_thread() is not threading.main_thread():
        yield passing  # signal handlers belong to the main thread: a caller elsewhere keeps its own
        return

    def resize(signum: int, frame: FrameType | None) -> None:
        with suppress(OSError):
            _copy_size(stdin_fd, stdout_fd, master)

    handlers: dict[signal.Signals, Callable[[int, FrameType | None], None]] = {
        signal.SIGINT: passing,
        signal.SIGTERM: passing,
        signal.SIGHUP: passing,
        signal.SIGQUIT: passing,
        signal.SIGWINCH: resize,
    }
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    try:
        yield passing
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the program after a failure of Gazette's own: hang up, then kill."""
    for signum, wait in ((signal.SIGHUP, 2.0), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, signum)
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
        except OSError:
            return


class _Pump:
    """Copies between the user's side and the program's terminal until the program ends."""

    def __init__(
        self,
        master: int,
        process: subprocess.Popen[bytes],
        observer: Observer,
        stdin_fd: int,
        stdout_fd: int,
        *,
        settle: float,
        patience: float,
    ) -> None:
        self._master, self._process, self._observer = master, process, observer
        self._stdin, self._stdout = stdin_fd, stdout_fd
        self._interactive = os.isatty(stdin_fd)
        self._settle, self._patience = settle, patience
        self._to_program = bytearray()  # input being written to the program
        self._queued = bytearray()  # piped input not typed yet
        self._stdin_open = True
        self._eof_sent = False
        self._output_open = True
        now = time.monotonic()
        self._last_output = self._line_sent = now
        self._shown_any = False
        self._answered = False  # output arrived since the last line was typed
        self._prompting = False  # the last output did not end its line

    def run(self) -> None:
        os.set_blocking(self._master, False)
        while True:
            readers = [self._master]
            if self._stdin_open and (self._interactive or len(self._queued) < _QUEUE_LIMIT):
                readers.append(self._stdin)
            writers = [self._master] if self._to_program else []
            readable, _, _ = select.select(readers, writers, [], self._timeout())
            if self._master in readable and not self._read_output():
                return  # the program's side of the terminal is closed: it has ended
            if self._stdin in readable:
                self._read_input()
            if not self._interactive:
                self._feed()
            self._write_input()
            if self._process.poll() is not None:
                self._drain()
                return

    def _timeout(self) -> float:
        if self._interactive or self._to_program or (self._eof_sent and not self._queued):
            return _POLL_SECONDS
        now = time.monotonic()
        due = max(self._last_output, self._line_sent) + self._silence()
        if self._answered and self._prompting:
            due = min(due, self._last_output + self._settle)
        return min(_POLL_SECONDS, max(0.01, due - now))

    def _silence(self) -> float:
        """How long a silent program is waited for before the next line is typed anyway."""
        return self._patience if self._shown_any else max(self._patience, _FIRST_PATIENCE)

    def _read_output(self) -> bool:
        try:
            data = os.read(self._master, _READ)
        except BlockingIOError:
            return True
        except OSError:  # EIO: no process has the terminal open any more
            return False
        if not data:
            return False
        self._show(data)
        return True

    def _show(self, data: bytes) -> None:
        if self._output_open:
            self._output_open = _write_all(self._stdout, data)
        self._observer.shown(data)
        self._last_output = time.monotonic()
        self._shown_any = self._answered = True
        self._prompting = not _TRAILING_SEQUENCES.sub(b"", data).endswith(b"\n")

    def _drain(self) -> None:
        """The program has ended: read what it wrote until its terminal reports the hang-up (the
        kernel may still be passing the last output on), or for `_DRAIN_SECONDS` when a process it
        left behind holds the terminal open."""
        deadline = time.monotonic() + _DRAIN_SECONDS
        while (left := deadline - time.monotonic()) > 0:
            if select.select([self._master], [], [], left)[0] and not self._read_output():
                return

    def _read_input(self) -> None:
        try:
            data = os.read(self._stdin, _READ)
        except OSError:
            data = b""
        if not data:
            self._stdin_open = False
        elif self._interactive:
            self._to_program += data
        else:
            self._queued += data

    def _feed(self) -> None:
        """Piped input: type the next line, or the end of input, when the program waits for it."""
        if self._to_program or self._eof_sent:
            return
        now = time.monotonic()
        prompted = self._answered and self._prompting and now - self._last_output >= self._settle
        silent = now - max(self._last_output, self._line_sent) >= self._silence()
        if not (prompted or silent):
            return
        end = self._queued.find(b"\n")
        if end >= 0:
            line = self._queued[: end + 1]
            del self._queued[: end + 1]
        elif self._stdin_open:
            return
        elif self._queued:
            line = self._queued + b"\n"
            self._queued.clear()
        else:
            line = bytearray(EOF_KEY)
            self._eof_sent = True
        self._to_program += line
        self._line_sent, self._answered = now, False

    def _write_input(self) -> None:
        if not self._to_program:
            return
        try:
            written = os.write(self._master, self._to_program)
        except BlockingIOError:
            return
        except OSError:  # the program has gone
            self._to_program.clear()
            return
        self._observer.typed(bytes(self._to_program[:written]))
        del self._to_program[:written]


def _write_all(fd: int, data: bytes) -> bool:
    """Write all of `data`; False when `fd` cannot be written any more (the terminal is gone)."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            select.select([], [fd], [])
        except OSError:
            return False
    return True
