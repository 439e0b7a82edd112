"""A loopback TCP relay whose connections can be cut the way a lost network cuts them.

The reconnect e2e test (tests/test_e2e_reconnect.py) loads the frontend through this relay,
so every byte between the browser and the server passes here. ``GET /__relay_cut__`` (from
the driver) closes every connection open at that moment at the TCP level: neither side gets
a WebSocket close frame, so the server sees an abnormal closure (1006) and keeps the session,
and the frontend sees its socket close and offers to reconnect -- what a laptop losing its
Wi-Fi looks like from both ends.
"""

from __future__ import annotations

import contextlib
import socket
import threading

CUT_REQUEST = b"GET /__relay_cut__"
CUT_ANSWER = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
              b"Connection: close\r\n\r\nok")


class TcpRelay:
    """Relay 127.0.0.1:``port`` to 127.0.0.1:``target_port`` (threads; for tests)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        #: Connections cut so far.
        self.cut_count = 0
        threading.Thread(target=self._accept, name="relay-accept", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), name="relay-conn", daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            first = client.recv(65536)
            if first.startswith(CUT_REQUEST):
                self.cut()
                client.sendall(CUT_ANSWER)
                client.close()
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            upstream.sendall(first)
        except OSError:
            client.close()
            return
        with self._lock:
            self._pairs.append((client, upstream))
        threading.Thread(target=self._pump, args=(upstream, client), name="relay-down", daemon=True).start()
        self._pump(client, upstream)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        """Copy until EOF, then pass the EOF on (a normal close stays a normal close)."""
        try:
            while data := source.recv(65536):
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def cut(self) -> None:
        """Close every open connection on both sides at once, mid-stream."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
            self.cut_count += len(pairs)
        for pair in pairs:
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def close(self) -> None:
        self._listener.close()
        self.cut()
