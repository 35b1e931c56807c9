"""Duplicate detection (RFC 5080 §2.2.2): the replies a worker sent,
remembered for a short while, so that a retransmitted request is answered
again with the very same bytes and is neither authorised nor booked twice.

A request is the same when it comes from the same NAS address and port
with the same Identifier and Request Authenticator (its first 20 octets).
Entries expire after `seconds`; at most `max_entries` are kept (the
oldest go first), so a flood of distinct requests cannot grow the memory.
"""

from __future__ import annotations

import collections
import threading
import time

# An accounting request whose record is still queued for the database, or
# that was dropped: its retransmissions are counted and not answered.
NO_REPLY = None
# What `get` returns for a request not seen lately.
ABSENT = object()


class ReplyCache:
    """(NAS address, NAS port, first 20 octets) → the reply sent, or
    NO_REPLY while the request is being stored or after it was dropped."""

    def __init__(self, seconds: float = 30.0, max_entries: int = 65536):
        self.seconds = float(seconds)
        self.max_entries = max(1, int(max_entries))
        self.entries: dict = {}  # key -> (expires at, reply or NO_REPLY)
        self.order: collections.deque = collections.deque()  # (expires at, key), oldest first
        # The accounting writer fills in replies from its own thread.
        self.lock = threading.Lock()

    @staticmethod
    def key(data: bytes, addr) -> tuple:
        return addr[0], addr[1], data[:20]

    def get(self, key):
        """The remembered reply (bytes or NO_REPLY), or `ABSENT` if the
        request was not seen within the last `seconds`."""
        now = time.monotonic()
        with self.lock:
            self._expire(now)
            entry = self.entries.get(key)
        if entry is None or entry[0] <= now:
            return ABSENT
        return entry[1]

    def put(self, key, reply) -> None:
        """Remember `reply` (NO_REPLY: the request is in progress) for `seconds`."""
        expires = time.monotonic() + self.seconds
        with self.lock:
            self.entries[key] = (expires, reply)
            order = self.order
            order.append((expires, key))
            while len(order) > self.max_entries:
                self._pop_oldest()

    def fulfil(self, key, reply) -> None:
        """Fill in the reply of a request remembered as in progress (if it
        is still remembered)."""
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:
                self.entries[key] = (entry[0], reply)

    def forget(self, key) -> None:
        """Forget a request (its record was not stored: a retransmission
        must be handled afresh)."""
        with self.lock:
            self.entries.pop(key, None)

    def __len__(self) -> int:
        return len(self.entries)

    def _expire(self, now: float) -> None:
        order = self.order
        while order and order[0][0] <= now:
            self._pop_oldest()

    def _pop_oldest(self) -> None:
        expires, key = self.order.popleft()
        entry = self.entries.get(key)
        # the key may have been forgotten and remembered again since
        if entry is not None and entry[0] == expires:
            del self.entries[key]

