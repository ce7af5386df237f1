"""Throttling of failed access keys, per client address (2,000 wrong keys at 188/s
met no limit).

A client that presented more than `limit` unknown or revoked keys within `window` seconds is
answered 429, with the seconds to wait, before any key it sends is looked up, until its
oldest failure in the window has aged out. Keys that worked from that client before keep
working: a kiosk behind the same school NAT as an attacker is not locked out with them.
Kept in each worker process's memory (a worker's limit, not the service's).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict, deque
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")

MAX_CLIENTS = 10_000  # clients remembered at once: the least recently seen go first
MAX_TRUSTED_KEYS = 64  # keys remembered per client as having worked from it
TRUSTED_FOR = 24 * 3600.0  # seconds a key that worked from a client stays let through


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()[:16]


class KeyFailureThrottle:
    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._trusted: OrderedDict[str, OrderedDict[bytes, float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str, key: str | None) -> int | None:
        """Seconds `client` must wait before a key of theirs is looked up again; None: now.
        A key that worked from this client within a day is never held back."""
        now = time.monotonic()
        with self._lock:
            failures = self._failures.get(client)
            if failures is None:
                return None
            while failures and failures[0] <= now - self.window:
                failures.popleft()
            if len(failures) < self.limit:
                return None
            trusted = self._trusted.get(client, OrderedDict())
            if key and trusted.get(_digest(key), -math.inf) > now - TRUSTED_FOR:
                return None
            return max(1, math.ceil(failures[0] + self.window - now))

    def failed(self, client: str) -> None:
        with self._lock:
            failures = self._failures.setdefault(client, deque(maxlen=self.limit))
            failures.append(time.monotonic())
            _touch(self._failures, client)

    def succeeded(self, client: str, key: str) -> None:
        with self._lock:
            trusted = self._trusted.setdefault(client, OrderedDict())
            trusted[_digest(key)] = time.monotonic()
            _touch(trusted, _digest(key), MAX_TRUSTED_KEYS)
            _touch(self._trusted, client)


def _touch(entries: OrderedDict[K, V], name: K, most: int = MAX_CLIENTS) -> None:
    """Mark `name` as the most recently seen; forget the least recent ones beyond `most`."""
    entries.move_to_end(name)
    while len(entries) > most:
        entries.popitem(last=False)
