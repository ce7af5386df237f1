"""A deadline on every PostgreSQL round trip, enforced from the client side.

A server that stopped answering (its processes stopped, a frozen VM, a cut link that still
ACKs) enforces no `statement_timeout`, and the kernel keeps TCP keepalives alive, so a
request waiting on it would wait for ever, and with it every request behind it in the pool
(`/health` too, for over 60 s). The watchdog shuts down the socket of a call that
outlived its deadline: the driver's wait then ends with an OperationalError, SQLAlchemy
drops the connection as disconnected, and the request answers 503.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

# An execution option: this statement may run as long as it takes (the whole gallery's load
# at start, a million rows). `app.core.db.unbounded` sets it, with the server's limit lifted.
UNBOUNDED = "rollcall_unbounded"


class Watchdog:
    """Shuts the socket of any watched call running past its deadline. One per process, with
    one thread, whatever the number of engines (each test app makes its own)."""

    TICK = 0.25  # seconds between looks: a deadline is kept to within this

    def __init__(self) -> None:
        self._armed: dict[int, tuple[float, int]] = {}  # id(dbapi connection) -> deadline, fd
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watched(
        self, method: Callable[..., Any], connection_of: Callable[[Any], Any], seconds: float
    ) -> Any:
        def call(target: Any, *args: Any, **kwargs: Any) -> Any:
            context = kwargs.get("context", args[-1] if args else None)
            if getattr(context, "execution_options", {}).get(UNBOUNDED):
                return method(target, *args, **kwargs)
            connection = connection_of(target)
            self._arm(connection, seconds)
            try:
                return method(target, *args, **kwargs)
            finally:
                self._disarm(connection)

        return call

    def _arm(self, connection: Any, seconds: float) -> None:
        try:
            fd = connection.fileno()
        except Exception:  # closed or broken: the call itself will say so, at once
            return
        with self._lock:
            self._armed[id(connection)] = (time.monotonic() + seconds, fd)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="db-watchdog", daemon=True)
                self._thread.start()

    def _disarm(self, connection: Any) -> None:
        with self._lock:
            self._armed.pop(id(connection), None)

    def _run(self) -> None:
        while True:
            time.sleep(self.TICK)
            now = time.monotonic()
            # Under the lock: an armed entry's call has not returned, so its fd is still its
            # connection's socket (a connection is closed only after its call, never during).
            with self._lock:
                for key, (deadline, fd) in list(self._armed.items()):
                    if deadline <= now:
                        del self._armed[key]
                        _shut(fd)


_WATCHDOG = Watchdog()


def _shut(fd: int) -> None:
    with contextlib.suppress(OSError), socket.socket(fileno=os.dup(fd)) as duplicate:
        duplicate.shutdown(socket.SHUT_RDWR)


def watch(engine: Engine, seconds: float) -> None:
    """Put every round trip of `engine`'s dialect (statements, commits, rollbacks, the pool's
    pings and resets) under a `seconds` deadline. The dialect is the engine's own instance."""
    dialect = engine.dialect

    def of_cursor(cursor: Any) -> Any:
        return cursor.connection

    def itself(connection: Any) -> Any:
        return connection

    for name, connection_of in (
        ("do_execute", of_cursor),
        ("do_executemany", of_cursor),
        ("do_execute_no_params", of_cursor),
        ("do_commit", itself),
        ("do_rollback", itself),
        ("do_ping", itself),
    ):
        setattr(dialect, name, _WATCHDOG.watched(getattr(dialect, name), connection_of, seconds))
