"""Socket helpers shared by the listeners and `doctor`."""

from __future__ import annotations

import errno
import socket

from gazette.errors import PortInUseError, UnavailableError


def bind_tcp(host: str, port: int, *, hint: str) -> socket.socket:
    """Bind a listening TCP socket, or explain in one line why not.

    Raises:
        PortInUseError: the port is taken; `hint` names how to choose another.
        UnavailableError: the address cannot be bound for another reason.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(
                f"port {port} on {host} is already in use; choose another with {hint}",
                details={"host": host, "port": port},
            ) from None
        raise UnavailableError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}", details={"host": host, "port": port}
        ) from None
    sock.set_inheritable(True)
    return sock


def port_free(host: str, port: int) -> bool:
    try:
        bind_tcp(host, port, hint="").close()
    except UnavailableError:
        return False
    return True
