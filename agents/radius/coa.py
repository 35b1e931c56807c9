"""The RADIUS agent's CoA/Disconnect sender (RFC 5176): packets to the
NAS's CoA port and their answers, and the dispatcher thread that follows
the state-change feed.  What to send, when to retry and how an outcome is
recorded is the outbox's rule (lanbill/network/coa.py)."""

from __future__ import annotations

import logging
import os
import queue
import select
import socket
import threading
import time

from agents.radius import protocol
from agents.radius.cache import agent_connection, entry_speed
from lanbill.models import Nas
from lanbill.models.radius import CoaRequest
from lanbill.network import coa

log = logging.getLogger(__name__)

ACK_CODES = (protocol.DISCONNECT_ACK, protocol.COA_ACK)


def encode(request: CoaRequest, nas: Nas, identifier: int) -> bytes:
    """The request as a CoA-Request or Disconnect-Request packet."""
    attributes = request.attributes or {}
    body = [protocol.attr(protocol.USER_NAME, attributes.get("User-Name", "").encode()),
            protocol.attr(protocol.ACCT_SESSION_ID, attributes.get("Acct-Session-Id", "").encode())]
    if attributes.get("Framed-IP-Address"):
        body.append(protocol.attr_ip(protocol.FRAMED_IP_ADDRESS, attributes["Framed-IP-Address"]))
    if request.kind == "coa":
        rate = attributes.get("rate") or [0, 0]
        body.append(protocol.rate_attributes(nas.vendor, int(rate[0]), int(rate[1])))
        if attributes.get("Framed-Pool"):
            body.append(protocol.attr(protocol.FRAMED_POOL, attributes["Framed-Pool"].encode()))
    code = protocol.DISCONNECT_REQUEST if request.kind == "disconnect" else protocol.COA_REQUEST
    return protocol.build_request(code, identifier, (nas.secret or "").encode(), b"".join(body))


def send_batch(requests: list[CoaRequest], timeout: float) -> dict[int, coa.Answer]:
    """Send each request once to its NAS's CoA port and wait up to `timeout`
    for the answers.  Returns {request id: Answer} for the requests
    answered with a valid authenticator (the outbox's Sender)."""
    if not requests:
        return {}
    nas_by_id = {n.id: n for n in Nas.select().where(Nas.id.in_({r.nas_id for r in requests}))}
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", 0))
    pending: dict[int, tuple] = {}
    answers: dict[int, coa.Answer] = {}
    try:
        base = int.from_bytes(os.urandom(1), "big")
        for index, request in enumerate(requests[:coa.BATCH]):
            nas = nas_by_id.get(request.nas_id)
            if nas is None:
                log.warning("CoA request %s: NAS %s no longer exists", request.id, request.nas_id)
                continue
            identifier = (base + index) % 256
            packet = encode(request, nas, identifier)
            try:
                sock.sendto(packet, (nas.ip, nas.coa_port))
            except OSError as exc:  # left unanswered: the outbox retries it
                log.warning("CoA request %s to %s:%s not sent: %s", request.id, nas.ip, nas.coa_port, exc)
                continue
            pending[identifier] = (request, nas, packet[4:20])
        deadline = time.monotonic() + timeout
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                break
            data, address = sock.recvfrom(4096)
            if len(data) < 20 or data[1] not in pending:
                continue
            request, nas, authenticator = pending[data[1]]
            secret = (nas.secret or "").encode()
            if address[0] != nas.ip or not protocol.reply_authenticator_ok(data, authenticator, secret):
                log.warning("CoA answer from %s ignored: wrong source or authenticator", address[0])
                continue
            try:
                reply = protocol.parse(data)
            except protocol.Malformed as exc:
                log.warning("CoA answer from %s ignored: %s", address[0], exc.reason)
                continue
            cause = reply.integer(protocol.ERROR_CAUSE) if protocol.ERROR_CAUSE in reply.attrs else None
            answers[request.id] = coa.Answer(reply.code in ACK_CODES, cause)
            del pending[data[1]]
    finally:
        sock.close()
    return answers


class Dispatcher:
    """Follows the state-change feed and speed changes, queues what they
    call for and sends the first attempt at once; later attempts are the
    worker's (lanbill.jobs.retry_radius_coa).  `errors` counts the polls
    that failed (each is logged with its traceback)."""

    def __init__(self, cache, config: dict, poll: float = 0.5):
        self.cache = cache
        self.poll = poll
        self.speed_changes: queue.Queue = queue.Queue()
        self.cursor_name = "coa:" + ",".join(str(i) for i in sorted(cache.agent_ids))
        self.rules = coa.retry_policy(config)
        self.errors = 0

    def on_account_changed(self, old, new, old_tariff=None) -> None:
        """A cache listener (the refresher's thread): the account's entry
        went from `old` to `new`, or its tariff from `old_tariff` to the
        cached one.  A changed speed of an online account queues a CoA."""
        if old.state != new.state:
            return  # the state-change feed handles it
        before = entry_speed(old, old_tariff or self.cache.tariffs.get(old.tariff_id))
        after = entry_speed(new, self.cache.tariffs.get(new.tariff_id))
        if before != after and self.cache.open_sessions.get(new.id):
            self.speed_changes.put(new.id)

    def start(self, stop: threading.Event) -> threading.Thread:
        # The cursor is placed before the agent answers its first packet
        # (not later in the thread): a block set right after start-up is
        # then after the cursor and is pushed, never skipped.
        with agent_connection():
            coa.start_cursor(self.cursor_name)
        thread = threading.Thread(target=self._run, args=(stop,), name="radius-coa", daemon=True)
        thread.start()
        log.info("CoA dispatcher started (feed cursor %s)", self.cursor_name)
        return thread

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self.poll):
            try:
                with agent_connection():
                    self.process_once()
            except Exception:  # a database hiccup must not stop the dispatcher: the next poll retries
                self.errors += 1
                log.exception("CoA dispatcher: a poll failed (%d so far)", self.errors)
        log.info("CoA dispatcher stopped")

    def _take_speed_changes(self) -> list[int]:
        ids = set()
        while True:
            try:
                ids.add(self.speed_changes.get_nowait())
            except queue.Empty:
                return sorted(ids)

    def process_once(self) -> list[CoaRequest]:
        """Queue what the feed and the speed changes call for, then send."""
        speed_changed = self._take_speed_changes()
        try:
            created = coa.queue_from_feed(self.cursor_name, self.cache.agents, speed_changed)
        except Exception:
            for account_id in speed_changed:  # rolled back: queued again for the next poll
                self.speed_changes.put(account_id)
            raise
        if created:
            # no transaction held while waiting for the NAS
            coa.attempt(created, send_batch, rules=self.rules)
            fallbacks = coa.unsent_fallbacks()
            if fallbacks:
                coa.attempt(fallbacks, send_batch, rules=self.rules)
        return created
