"""Duplicate detection (RFC 5080 §2.2.2): the replies a worker sent,
remembered for a short while, so that a retransmitted request is answered
again with the very same bytes and is neither authorised nor booked twice.

A request is the same when it comes from the same NAS address and port
with the same Identifier and Request Authenticator (its first 20 octets).
Entries expire after `seconds`; at most `max_entries` are kept (the
oldest go first), so a flood of distinct requests cannot grow the memory.

The cache holds no containers the garbage collector tracks (integer keys,
floats, bytes): tens of thousands of tracked tuples made the collector's
full passes pause the event loop for tens of milliseconds.
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


def request_key(data: bytes, addr) -> int:
    """The identity of a request: NAS address and port, Identifier and
    Request Authenticator, as one 64-bit hash (a collision would only send
    a reply whose authenticator the NAS refuses)."""
    return hash((addr[0], addr[1], data[:20]))


class ReplyCache:
    """request_key → the reply sent, or NO_REPLY while the request is being
    stored or after it was dropped.  For one thread; SharedReplyCache when
    another thread fills in replies."""

    def __init__(self, seconds: float = 30.0, max_entries: int = 65536):
        self.seconds = float(seconds)
        self.max_entries = max(1, int(max_entries))
        self.replies: dict[int, bytes | None] = {}
        self.expiry: dict[int, float] = {}
        self.keys: collections.deque = collections.deque()  # insertion order, oldest first
        self.stamps: collections.deque = collections.deque()  # each key's expiry, in the same order

    def get(self, key: int):
        """The remembered reply (bytes or NO_REPLY), or ABSENT."""
        reply = self.replies.get(key, ABSENT)
        if reply is ABSENT or self.expiry[key] <= time.monotonic():
            return ABSENT
        return reply

    def put(self, key: int, reply) -> None:
        """Remember `reply` (NO_REPLY: the request is in progress) for `seconds`."""
        now = time.monotonic()
        expires = now + self.seconds
        self.replies[key] = reply
        self.expiry[key] = expires
        self.keys.append(key)
        self.stamps.append(expires)
        if self.stamps[0] <= now or len(self.keys) > self.max_entries:
            self._trim(now)

    def fulfil(self, key: int, reply) -> None:
        """Fill in the reply of a request remembered as in progress (if it
        is still remembered)."""
        if key in self.replies:
            self.replies[key] = reply

    def forget(self, key: int) -> None:
        """Forget a request (its record was not stored: a retransmission
        must be handled afresh)."""
        self.replies.pop(key, None)
        self.expiry.pop(key, None)

    def __len__(self) -> int:
        return len(self.replies)

    def _trim(self, now: float) -> None:
        keys, stamps, expiry = self.keys, self.stamps, self.expiry
        while stamps and (stamps[0] <= now or len(keys) > self.max_entries):
            key = keys.popleft()
            stamp = stamps.popleft()
            # the key may have been forgotten and remembered again since
            if expiry.get(key) == stamp:
                del expiry[key]
                del self.replies[key]


class SharedReplyCache(ReplyCache):
    """A ReplyCache whose replies another thread fills in (accounting: the
    writer thread answers once the record is stored)."""

    def __init__(self, seconds: float = 30.0, max_entries: int = 65536):
        super().__init__(seconds, max_entries)
        self.lock = threading.Lock()

    def get(self, key: int):
        with self.lock:
            return super().get(key)

    def put(self, key: int, reply) -> None:
        with self.lock:
            super().put(key, reply)

    def fulfil(self, key: int, reply) -> None:
        with self.lock:
            super().fulfil(key, reply)

    def forget(self, key: int) -> None:
        with self.lock:
            super().forget(key)
