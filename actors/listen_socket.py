"""Binding the server's port, with the reference's fallback to the next free one.

Only the standard library here: the CLI binds the port before it imports the heavy
layers, so the URL line (which carta-python waits for) is printed at once.
"""

from __future__ import annotations

import errno
import logging
import socket

from carta_trio.settings import Settings

log = logging.getLogger(__name__)


class PortUnavailable(OSError):
    """None of the requested ports could be bound."""


def bind_listening_socket(settings: Settings) -> socket.socket:
    """Bind and listen on the first free port of ``settings.ports`` on ``settings.host``."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    for port in settings.ports:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((settings.host, port))
        except OSError as exc:
            sock.close()
            if exc.errno != errno.EADDRINUSE or settings.port_fixed:
                raise PortUnavailable(exc.errno, f"Could not listen on port {port}!") from exc
            log.warning("Port %d is already in use. Trying next port.", port)
            continue
        sock.listen(128)
        return sock
    first, last = settings.ports[0], settings.ports[-1]
    raise PortUnavailable(errno.EADDRINUSE, f"Unable to listen on the port range {first}-{last}!")
