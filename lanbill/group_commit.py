"""Group commit: the writes that concurrent threads of one process ask for
at the same moment are done together, in one transaction.

Rule: a caller hands its work (a key and an item) to `GroupCommit.submit`
and waits for its own outcome.  If no other thread of the process is
writing for this group commit, the caller leads: it enters the write
transaction (`around`), takes every item waiting at that moment and gives
them to `run_batch(key, items)` once per key, which returns one outcome
per item (or raises, and then every item of that key gets the
exception); callers learn their outcome once the transaction committed.  Items that arrive while a batch is being
written wait for the next batch, led by the first of them.  Nothing waits
for company: a lone caller's batch is just its own item, written at once,
so the latency of a quiet system is unchanged; under load a batch holds
what arrived during the previous one's commit.

Why: on SQLite every commit rewrites the same right-most index pages and
each writer queues on one lock, so a transaction per request makes
throughput the inverse of one commit's time; a transaction for what has
piled up meanwhile shares that cost.  The outcome of every item is still
its own (run_batch decides it), and a caller returns only once its item
is committed.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable
from contextlib import AbstractContextManager


class _Ticket:
    __slots__ = ("key", "item", "ready", "lead", "outcome", "error")

    def __init__(self, key, item):
        self.key, self.item = key, item
        # Released once, by the leader: the outcome is there, or "you lead".
        # A bare lock: an Event's condition cost the leader more than it
        # took to write an item.
        self.ready = threading.Lock()
        self.ready.acquire()
        self.lead = False
        self.outcome = None
        self.error: BaseException | None = None


class GroupCommit:
    """One group commit (see the module); `run_batch(key, items)` returns a
    list of outcomes in the order of `items`.  `around` (optional) gives
    the context the leader enters before it takes the waiting items — the
    write transaction, whose lock may take a while to get: what arrives
    meanwhile joins the batch.  Outcomes reach their callers only once
    that context has been left without an error; if leaving it fails (the
    commit), every item of the batch gets that error."""

    def __init__(self, run_batch: Callable[[Hashable, list], list], *,
                 around: Callable[[], AbstractContextManager] | None = None, max_batch: int = 200):
        self._run_batch = run_batch
        self._around = around or contextlib.nullcontext
        self._max_batch = max_batch
        self._mutex = threading.Lock()
        self._waiting: list[_Ticket] = []
        self._leading = False
        self.batches = 0  # counters for the curious (benchmarks, tests)
        self.items = 0

    def submit(self, key: Hashable, item):
        """Write `item` in the next batch of `key`; returns its outcome or
        raises its exception, once it is committed."""
        ticket = _Ticket(key, item)
        with self._mutex:
            self._waiting.append(ticket)
            leads = not self._leading
            self._leading = True
        if not leads:
            ticket.ready.acquire()
        if ticket.lead or leads:
            self._lead()
        if ticket.error is not None:
            raise ticket.error
        return ticket.outcome

    def _take(self) -> list[_Ticket]:
        with self._mutex:
            batch, self._waiting = self._waiting[:self._max_batch], self._waiting[self._max_batch:]
        self.batches += 1
        self.items += len(batch)
        return batch

    def _lead(self) -> None:
        batch: list[_Ticket] = []
        try:
            with self._around():
                batch = self._take()
                self._write(batch)
        except BaseException as exc:  # the batch as a whole failed: none of it is written
            if not batch:
                batch = self._take()
            for ticket in batch:
                ticket.outcome, ticket.error = None, exc
        finally:
            for ticket in batch:
                if not ticket.lead:
                    ticket.ready.release()
            with self._mutex:
                if self._waiting:  # hand over to the first who waits
                    following = self._waiting[0]
                    following.lead = True
                    following.ready.release()
                else:
                    self._leading = False

    def _write(self, batch: list[_Ticket]) -> None:
        by_key: dict = {}
        for ticket in batch:
            by_key.setdefault(ticket.key, []).append(ticket)
        for key, tickets in by_key.items():
            try:
                outcomes = self._run_batch(key, [t.item for t in tickets])
                if len(outcomes) != len(tickets):
                    raise RuntimeError("group commit: one outcome per item expected")
                for ticket, outcome in zip(tickets, outcomes, strict=True):
                    ticket.outcome = outcome
            except Exception as exc:  # this key's callers get it; the other keys go on
                for ticket in tickets:
                    ticket.error = exc
