"""A TCP proxy in front of a real database server that can go silent or down, as a server
does when its processes are stopped (the kernel still accepts and ACKs; nothing answers) or
when it is shut down (connections closed)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType

from sqlalchemy.engine import make_url


class OutageProxy:
    """Forwards 127.0.0.1:`port` to the server of a database URL; `freeze()` holds every byte
    (existing and new connections alike) until `thaw()`; `down()` closes every connection and
    each new one at once until `up()`."""

    def __init__(self, database_url: str) -> None:
        self._target = make_url(database_url)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._frozen = threading.Event()
        self._down = threading.Event()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self) -> str:
        """The database URL, through the proxy."""
        proxied = self._target.set(host="127.0.0.1", port=self.port)
        return proxied.render_as_string(hide_password=False)

    def freeze(self) -> None:
        self._frozen.set()

    def thaw(self) -> None:
        self._frozen.clear()

    def down(self) -> None:
        self._down.set()
        with self._lock:
            for sock in self._sockets:
                _close(sock)
            self._sockets.clear()

    def up(self) -> None:
        self._down.clear()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._down.is_set():
                _close(client)
                continue
            try:
                upstream = socket.create_connection(
                    (self._target.host or "127.0.0.1", self._target.port or 5432)
                )
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                while self._frozen.is_set() and not self._closed.is_set():
                    time.sleep(0.02)  # held, as by a stopped server: nothing answers
                sink.sendall(data)
        except OSError:
            pass  # either side closed: the other goes too
        finally:
            _close(source)
            _close(sink)

    def __enter__(self) -> OutageProxy:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._closed.set()
        _close(self._listener)
        self.down()


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
