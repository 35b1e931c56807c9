"""Duplicate detection (RFC 5080 §2.2.2): the replies a worker sent,
remembered for a short while, so that a retransmitted request is answered
again with the very same bytes and is neither authorised nor booked twice.

A request is the same when it comes from the same NAS address and port
with the same Identifier and Request Authenticator (its first 20 octets).
Replies are kept `seconds` (up to twice that); at most `max_entries` are
kept (the oldest go first), so a flood of distinct requests cannot grow
the memory.

The cache holds no containers the garbage collector tracks (integer keys,
bytes): tens of thousands of tracked tuples made the collector's full
passes pause the event loop for tens of milliseconds.
"""

from __future__ import annotations

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
    return hash((addr, data[:20]))


class ReplyCache:
    """request_key → the reply sent, or NO_REPLY while the request is being
    stored or after it was dropped.  For one thread; SharedReplyCache when
    another thread fills in replies.

    Two generations of plain dicts: new replies go to the current one; it
    becomes the previous one (and the previous one is let go) every
    `seconds`, or when it holds half of `max_entries`.  A reply is thus
    kept at least `seconds` (fewer only under a flood of more than
    max_entries / 2 requests in that time) and at most twice that, at the
    cost of one dict store per request: no per-entry time stamps, no queue."""

    def __init__(self, seconds: float = 30.0, max_entries: int = 65536):
        self.seconds = float(seconds)
        self.generation_size = max(1, int(max_entries) // 2)
        self.current: dict[int, bytes | None] = {}
        self.previous: dict[int, bytes | None] = {}
        self.rotate_at = time.monotonic() + self.seconds

    def get(self, key: int):
        """The remembered reply (bytes or NO_REPLY), or ABSENT."""
        reply = self.current.get(key, ABSENT)
        if reply is ABSENT:
            reply = self.previous.get(key, ABSENT)
            if reply is ABSENT:
                return ABSENT
        if time.monotonic() >= self.rotate_at:  # idle for a while: what is old goes first
            self._rotate()
            reply = self.current.get(key, self.previous.get(key, ABSENT))
        return reply

    def put(self, key: int, reply) -> None:
        """Remember `reply` (NO_REPLY: the request is in progress)."""
        current = self.current
        current[key] = reply
        if len(current) >= self.generation_size or time.monotonic() >= self.rotate_at:
            self._rotate()

    def fulfil(self, key: int, reply) -> None:
        """Fill in the reply of a request remembered as in progress (if it
        is still remembered)."""
        if key in self.current:
            self.current[key] = reply
        elif key in self.previous:
            self.previous[key] = reply

    def forget(self, key: int) -> None:
        """Forget a request (its record was not stored: a retransmission
        must be handled afresh)."""
        self.current.pop(key, None)
        self.previous.pop(key, None)

    def __len__(self) -> int:
        return len(self.current) + len(self.previous)

    def _rotate(self) -> None:
        now = time.monotonic()
        # a generation older than twice the time is dropped whole
        self.previous = self.current if now < self.rotate_at + self.seconds else {}
        self.current = {}
        self.rotate_at = now + self.seconds


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
