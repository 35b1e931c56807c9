"""The RADIUS server: asyncio UDP listeners for authentication and
accounting, one set per RADIUS agent, optionally in several SO_REUSEPORT
worker processes (agent option `workers`).

Hot path (Access-Request): parse with `protocol.parse`, NAS by source IP,
account by login from the in-memory cache, reply built from bytes cached
per account — no SQL.  Accounting goes through the group-commit writer.
Every dropped datagram is counted by reason; nothing a NAS sends can
crash the loop.
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import hmac
import logging
import multiprocessing
import os
import socket
import sys
import threading
import time

from agents.radius import protocol
from agents.radius.cache import Cache, agent_connection, entry_speed, run_refresher, session_key
from agents.radius.coa import Dispatcher
from agents.radius.duplicates import ABSENT, NO_REPLY, ReplyCache, SharedReplyCache, request_key
from agents.radius.sessions import Record, Writer, close_stale_sessions
from lanbill import clock
from lanbill.clock import now_utc
from lanbill.config import DEFAULTS
from lanbill.db import bind_database, configure_encryption, database, is_sqlite, transaction
from lanbill.models import Agent
from lanbill.models.radius import RadiusAgentStatus
from lanbill.network.radius_access import parse_rate

log = logging.getLogger(__name__)

REJECT_MESSAGES = {
    "unknown_login": b"Unknown login",
    "wrong_password": b"Wrong password",
    "blocked": b"Account blocked",
    "too_many_sessions": b"Too many sessions",
    "off": b"Account is off",
    "no_password": b"No password given",
    # The subscriber is not told that the account has no password set.
    "no_service_password": b"Wrong password",
    "mschap1_disabled": b"MS-CHAPv1 is not allowed",
}
_ACCT_KIND = {protocol.ACCT_START: "start", protocol.ACCT_INTERIM: "interim", protocol.ACCT_STOP: "stop"}
SESSION_TIMEOUT_CAP = 86400
RECEIVE_BUFFER = 4 * 1024 * 1024
# A handler's failure is logged with its traceback at most this often (the
# rest only counted), so that a bug hit by every packet cannot flood the log.
ERROR_LOG_INTERVAL = 10.0


# Reply latency histogram (from the datagram read to its reply sent), in
# seconds: fixed upper bounds, counted per bucket in the agent's plain
# counters as "latency:<kind>:<bound>" (not cumulative; "+Inf" last) with
# "latency_sum_us:<kind>" — /metrics turns them into a Prometheus histogram.
LATENCY_BOUNDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
LATENCY_KEYS = {kind: tuple(f"latency:{kind}:{bound:g}" for bound in LATENCY_BOUNDS) + (f"latency:{kind}:+Inf",)
                for kind in ("auth", "acct")}


class Counters:
    """Plain counters read by the status publisher (CONVENTIONS: agents)."""

    def __init__(self):
        # every latency bucket from the start: the histogram keeps its shape
        self.values: dict[str, int] = {key: 0 for keys in LATENCY_KEYS.values() for key in keys}
        self.last_packet_at = None
        self.lock = threading.Lock()

    def add(self, name: str, n: int = 1) -> None:
        # No lock: the loop thread does nearly all counting; a rare lost
        # increment from the writer thread is an acceptable price.
        values = self.values
        values[name] = values.get(name, 0) + n

    def drop(self, reason: str) -> None:
        self.add("drop:" + reason)

    def observe(self, kind: str, started: float) -> None:
        """Count one reply of `kind` (auth, acct) sent `started` (a
        perf_counter reading at the datagram's arrival) ago: one bisect and
        two dict updates."""
        seconds = time.perf_counter() - started
        values = self.values
        key = LATENCY_KEYS[kind][bisect.bisect_left(LATENCY_BOUNDS, seconds)]
        values[key] = values.get(key, 0) + 1
        key = "latency_sum_us:" + kind
        values[key] = values.get(key, 0) + int(seconds * 1_000_000)

    def snapshot(self) -> dict:
        with self.lock:
            return dict(self.values)


def agent_ports(agent, config) -> tuple[int, int]:
    """The agent's own ports, overridden by RADIUS_AUTH_PORT/RADIUS_ACCT_PORT."""
    auth = config.get("RADIUS_AUTH_PORT")
    acct = config.get("RADIUS_ACCT_PORT")
    auth = agent.auth_port if auth is None else auth
    acct = agent.acct_port if acct is None else acct
    return int(auth), int(acct)


def bind_udp(address: str, port: int, reuse_port: bool = True) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port and hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    except OSError as exc:  # the system's default buffer still works, only smaller
        log.warning("RADIUS: receive buffer of %d bytes refused on %s:%s: %s", RECEIVE_BUFFER, address, port, exc)
    sock.bind((address, port))
    sock.setblocking(False)
    return sock


class Worker:
    """One event loop serving the auth and accounting sockets of the agents."""

    def __init__(self, cache: Cache, config: dict, name: str = "main", sockets=None):
        self.cache = cache
        self.config = config
        self.name = name
        self.counters = Counters()
        self.writer = Writer(self.counters)
        seconds = config.get("RADIUS_DUPLICATE_SECONDS") or DEFAULTS["RADIUS_DUPLICATE_SECONDS"]
        entries = config.get("RADIUS_DUPLICATE_ENTRIES") or DEFAULTS["RADIUS_DUPLICATE_ENTRIES"]
        self.auth_replies = ReplyCache(seconds, entries)
        self.acct_replies = SharedReplyCache(seconds, entries)
        window = config.get("RADIUS_EVENT_WINDOW")
        self.event_window = DEFAULTS["RADIUS_EVENT_WINDOW"] if window is None else int(window)
        self.sockets = sockets or {}  # agent id -> (auth socket, acct socket)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.started = threading.Event()
        self.error_logged_at = -ERROR_LOG_INTERVAL

    # -- sockets -------------------------------------------------------------------

    def bind(self, accounting: bool = True) -> None:
        """Bind the agents' ports.  Extra worker processes take only
        authentication: accounting stays in the main process, so that one
        writer batches every update (no SQLite lock ping-pong between
        processes, whose busy handler sleeps in milliseconds)."""
        for agent in self.cache.agents.values():
            if agent.id in self.sockets:
                continue
            auth_port, acct_port = agent_ports(agent, self.config)
            self.sockets[agent.id] = (bind_udp(agent.listen_address, auth_port),
                                      bind_udp(agent.listen_address, acct_port) if accounting else None)
            auth, acct = self.ports(agent.id)
            log.info("RADIUS agent %s (%s): authentication on %s:%s, accounting %s", agent.name, self.name,
                     agent.listen_address, auth, f"on {agent.listen_address}:{acct}" if acct else "in the main process")

    def ports(self, agent_id: int) -> tuple[int, int]:
        auth, acct = self.sockets[agent_id]
        return auth.getsockname()[1], acct.getsockname()[1] if acct else None

    # -- the loop --------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        self.writer.start()
        loop = asyncio.new_event_loop()
        self.loop = loop
        for agent_id, (auth, acct) in self.sockets.items():
            loop.add_reader(auth.fileno(), self._drain, auth, agent_id, self.handle_auth)
            if acct is not None:
                loop.add_reader(acct.fileno(), self._drain, acct, agent_id, self.handle_acct)

        async def wait_stop():
            while not stop.is_set():
                await asyncio.sleep(0.2)

        self.started.set()
        log.info("RADIUS worker %s started", self.name)
        try:
            loop.run_until_complete(wait_stop())
        finally:
            log.info("RADIUS worker %s stopping", self.name)
            for auth, acct in self.sockets.values():
                loop.remove_reader(auth.fileno())
                if acct is not None:
                    loop.remove_reader(acct.fileno())
            loop.close()
            self.writer.stop()
            for auth, acct in self.sockets.values():
                auth.close()
                if acct is not None:
                    acct.close()

    def _drain(self, sock, agent_id, handler) -> None:
        """Read up to 256 datagrams per wake-up (one syscall each, no
        per-packet asyncio transport overhead)."""
        recv = sock.recvfrom
        counters = self.counters
        for index in range(256):
            try:
                data, addr = recv(4096)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                counters.drop("socket_error")
                return
            if index == 0:
                # before the first reply goes out: whoever got an answer
                # sees the packet on the status page
                counters.last_packet_at = time.time()
            try:
                handler(data, addr, sock, agent_id)
            except protocol.Malformed as exc:
                counters.drop(exc.reason)
            except Exception:
                counters.drop("internal_error")
                self._log_handler_error(addr)

    def _log_handler_error(self, addr) -> None:
        """Log the current exception with its traceback, at most once per
        ERROR_LOG_INTERVAL; the `drop:internal_error` counter has them all."""
        now = time.monotonic()
        if now - self.error_logged_at < ERROR_LOG_INTERVAL:
            return
        self.error_logged_at = now
        log.exception("RADIUS: a packet from %s could not be handled (%d internal errors so far)",
                      addr[0], self.counters.values.get("drop:internal_error", 0))

    def _known_nas(self, addr, agent_id: int):
        """The NAS by source IP, if it belongs to this agent; else drop and count."""
        nas = self.cache.nas_by_ip.get(addr[0])
        if nas is None or (nas.agent_id is not None and nas.agent_id != agent_id):
            self.counters.drop("unknown_nas")
            return None
        return nas

    # -- authentication ---------------------------------------------------------------

    def _repeat_or_key(self, replies, data: bytes, addr, sock):
        """A retransmission (RFC 5080 §2.2.2) is answered with the reply
        already sent (or ignored while its first copy is still being
        handled), counted, and None returned; a new request gets its key."""
        key = request_key(data, addr)
        sent = replies.get(key)
        if sent is ABSENT:
            return key
        self.counters.add("duplicates")
        if sent is not NO_REPLY:
            sock.sendto(sent, addr)
        return None

    def handle_auth(self, data: bytes, addr, sock, agent_id: int) -> None:
        started = time.perf_counter()
        counters = self.counters
        counters.add("auth_requests")
        nas = self._known_nas(addr, agent_id)
        if nas is None:
            return
        # RFC 5080 §2.2.2: a retransmission gets the reply already sent and
        # is not authorised (nor counted against the session limit) again.
        # Each worker keeps its own replies: SO_REUSEPORT hands every
        # datagram of one NAS address and port to the same worker.
        replies = self.auth_replies
        key = self._repeat_or_key(replies, data, addr, sock)
        if key is None:
            return
        reply = self.authenticate(protocol.parse(data), nas, agent_id)
        if reply is not None:
            replies.put(key, reply)
            sock.sendto(reply, addr)
            counters.observe("auth", started)

    def authenticate(self, request, nas, agent_id: int) -> bytes | None:
        """The reply to an Access-Request (or Status-Server) from `nas`,
        or None when it is dropped (counted)."""
        counters = self.counters
        cache = self.cache
        if request.code != protocol.ACCESS_REQUEST:
            if request.code == protocol.STATUS_SERVER:
                return self._status_server(request, nas)
            counters.drop("bad_code")
            return None
        secret = nas.key
        if request.ma_offset < 0:
            if nas.require_ma:
                counters.drop("missing_message_authenticator")
                return None
        elif not protocol.message_authenticator_ok(request, secret):
            counters.drop("bad_authenticator")
            return None
        agent = cache.agents[agent_id]
        login_bytes = request.attrs.get(protocol.USER_NAME)
        entry = cache.accounts.get((agent_id, login_bytes.decode("utf-8", "replace"))) if login_bytes else None
        if entry is None:
            return self._reject(request, secret, "unknown_login")
        if not entry.password_bytes:
            # An empty password is known to anyone: PAP, CHAP and MS-CHAP
            # would all "verify" it.  Such an account is never let in.
            return self._reject(request, secret, "no_service_password")
        extra = b""
        hidden = request.attrs.get(protocol.USER_PASSWORD)
        if hidden is not None:
            ok = hmac.compare_digest(protocol.pap_decrypt(hidden, request.authenticator, secret), entry.password_bytes)
        elif protocol.CHAP_PASSWORD in request.attrs:
            challenge = request.attrs.get(protocol.CHAP_CHALLENGE, request.authenticator)
            ok = protocol.chap_ok(request.attrs[protocol.CHAP_PASSWORD], challenge, entry.password_bytes)
        else:
            result = protocol.mschap2_verify(request, entry.nt_hash, nas.secret)
            if result is None and protocol.is_mschap1(request):
                # MS-CHAPv1 (DES over the NT hash) is broken; only an agent
                # that allows it for old clients verifies it.
                if not agent.allow_mschap1:
                    return self._reject(request, secret, "mschap1_disabled")
                result = protocol.mschap1_verify(request, entry.nt_hash)
                if result is True:
                    result = b""
            if result is None:
                return self._reject(request, secret, "no_password")
            if result is False:
                return self._reject(request, secret, "wrong_password", protocol.mschap2_error(request))
            ok = True
            extra = result
        if not ok:
            return self._reject(request, secret, "wrong_password")
        state = entry.state
        mode = agent.mode_for(state)
        if mode == "reject":
            return self._reject(request, secret, "off" if state == "off" else "blocked")
        if entry.max_sessions and cache.session_count(entry.id) >= entry.max_sessions:
            return self._reject(request, secret, "too_many_sessions")
        reply_key = (agent_id, entry.tariff_id, entry.bandwidth_kbit, nas.vendor, mode)
        attributes = cache.reply_cache.get(reply_key)
        if attributes is None:
            attributes = self.accept_attributes(entry, nas, agent, mode)
            timeout = self.session_timeout(entry)
            if timeout is None:
                cache.reply_cache[reply_key] = attributes
            else:  # per-minute tariffs: computed per request, never cached
                attributes += protocol.attr_int(protocol.SESSION_TIMEOUT, timeout)
        if mode == "accept" and entry.ip_attr:
            attributes = entry.ip_attr + attributes
        reply = protocol.build_reply(protocol.ACCESS_ACCEPT, request, secret, attributes + extra)
        # Counted against the session limit only once the Accept exists: a
        # reply that failed to build must not lock the account out.
        if entry.max_sessions:
            cache.note_accept(entry.id)
        counters.add("accepts" if mode == "accept" else "redirects")
        return reply

    def _reject(self, request, secret, reason: str, extra: bytes = b"") -> bytes:
        attributes = protocol.attr(protocol.REPLY_MESSAGE, REJECT_MESSAGES[reason]) + extra
        reply = protocol.build_reply(protocol.ACCESS_REJECT, request, secret, attributes)
        self.counters.add("rejects")
        self.counters.add("reject:" + reason)
        return reply

    def _status_server(self, request, nas) -> bytes | None:
        """RFC 5997: Status-Server must carry a valid Message-Authenticator."""
        if request.ma_offset < 0 or not protocol.message_authenticator_ok(request, nas.key):
            self.counters.drop("bad_authenticator")
            return None
        return protocol.build_reply(protocol.ACCESS_ACCEPT, request, nas.key)

    def accept_attributes(self, entry, nas, agent, mode: str) -> bytes:
        """Framed-IP-Address (or Framed-Pool), the speed in the NAS vendor's
        attribute, Acct-Interim-Interval.  Redirect: the agent's redirect
        pool and rate instead (DESIGN §7, "please pay")."""
        tariff = self.cache.tariffs.get(entry.tariff_id)
        out = []
        if mode == "redirect":
            if agent.redirect_pool:
                out.append(protocol.attr(protocol.FRAMED_POOL, agent.redirect_pool.encode()))
            down, up = parse_rate(agent.redirect_rate)
        else:
            # the account's own address is prepended per request (not shared)
            pool = (tariff.framed_pool if tariff else "") or agent.framed_pool
            if pool and not entry.ip_attr:
                out.append(protocol.attr(protocol.FRAMED_POOL, pool.encode()))
            down, up = entry_speed(entry, tariff)
        out.append(protocol.rate_attributes(nas.vendor, down, up))
        out.append(protocol.attr_int(protocol.ACCT_INTERIM_INTERVAL, agent.interim_interval))
        return b"".join(out)

    def session_timeout(self, entry):
        """Seconds the funds and prepaid minutes buy on a per-minute tariff."""
        tariff = self.cache.tariffs.get(entry.tariff_id)
        if tariff is None or not tariff.price_per_minute:
            return None
        funds = self.cache.funds.get(entry.agreement_id)
        minutes = tariff.prepaid_minutes
        if funds is not None and funds > 0:
            minutes += int(funds / tariff.price_per_minute)
        return max(60, min(SESSION_TIMEOUT_CAP, minutes * 60))

    # -- accounting -----------------------------------------------------------------------

    def handle_acct(self, data: bytes, addr, sock, agent_id: int) -> None:
        started = time.perf_counter()
        counters = self.counters
        counters.add("acct_requests")
        cache = self.cache
        nas = self._known_nas(addr, agent_id)
        if nas is None:
            return
        # RFC 5080 §2.2.2: a retransmission is answered again (or, while its
        # record is still being stored, ignored), never booked twice.
        replies = self.acct_replies
        key = self._repeat_or_key(replies, data, addr, sock)
        if key is None:
            return
        request = protocol.parse(data)
        if request.code != protocol.ACCOUNTING_REQUEST:
            counters.drop("bad_code")
            return
        secret = nas.key
        if not protocol.accounting_authenticator_ok(request, secret):
            counters.drop("bad_authenticator")
            return
        if request.ma_offset >= 0 and not protocol.message_authenticator_ok(request, secret):
            counters.drop("bad_authenticator")
            return
        attrs = request.attrs
        status_value = attrs.get(protocol.ACCT_STATUS_TYPE)
        status = int.from_bytes(status_value, "big") if status_value else 0
        agent = cache.agents[agent_id]
        if not self._timely(attrs):
            counters.drop("stale_event")
            return
        now = now_utc()
        if status in (protocol.ACCT_ON, protocol.ACCT_OFF):
            record = Record("nas_reset", agent_id, nas.id, at=now)
        elif status in _ACCT_KIND:
            session_id = _text(attrs.get(protocol.ACCT_SESSION_ID))
            if not session_id:
                counters.drop("no_session_id")
                return
            login = _text(attrs.get(protocol.USER_NAME))
            entry = cache.accounts.get((agent_id, login))
            delay = attrs.get(protocol.ACCT_DELAY_TIME)
            if delay:
                now -= dt.timedelta(seconds=int.from_bytes(delay, "big"))
            if status == protocol.ACCT_START:
                # A session starts with nothing moved yet (RFC 2866 §5.3,
                # §5.4: the counters belong to Interim-Update and Stop).
                input_octets = output_octets = 0
            else:
                input_octets = _octets(attrs, protocol.ACCT_INPUT_GIGAWORDS, protocol.ACCT_INPUT_OCTETS)
                output_octets = _octets(attrs, protocol.ACCT_OUTPUT_GIGAWORDS, protocol.ACCT_OUTPUT_OCTETS)
            cause = _int(attrs.get(protocol.ACCT_TERMINATE_CAUSE)) if protocol.ACCT_TERMINATE_CAUSE in attrs else None
            record = Record(
                _ACCT_KIND[status], agent_id, nas.id, entry.id if entry else None, login[:64],
                session_id[:64],
                socket.inet_ntoa(attrs[protocol.FRAMED_IP_ADDRESS]) if protocol.FRAMED_IP_ADDRESS in attrs else "",
                _text(attrs.get(protocol.CALLING_STATION_ID))[:64],
                _text(attrs.get(protocol.NAS_PORT_ID))[:64],
                now,
                _int(attrs.get(protocol.ACCT_SESSION_TIME)),
                input_octets,
                output_octets,
                agent.interim_interval,
                cause if cause is None or cause <= MAX_TERMINATE_CAUSE else None,
            )
            if status == protocol.ACCT_INTERIM:
                record.known = session_key(nas.id, record.session_id) in cache.session_owner
        else:  # other status types are acknowledged, not stored
            reply = protocol.build_reply(protocol.ACCOUNTING_RESPONSE, request, secret, with_ma=False)
            replies.put(key, reply)
            sock.sendto(reply, addr)
            counters.add("acct_other")
            counters.observe("acct", started)
            return
        # No Message-Authenticator in Accounting-Response: BlastRADIUS
        # (CVE-2024-3596) forges Access-* replies, FreeRADIUS sends none here,
        # and pyrad's and radclient's accounting clients refuse a response
        # that carries one (tried: the radius tests fail with it).
        reply = protocol.build_reply(protocol.ACCOUNTING_RESPONSE, request, secret, with_ma=False)
        replies.put(key, NO_REPLY)

        def done(stored, ok):
            if not ok:  # not stored: a retransmission is handled afresh
                replies.forget(key)
                return
            if stored.refused:  # a replay: dropped, and so are its copies
                counters.drop(stored.refused)
                return
            # the cache knows before the NAS hears back: a re-login right
            # after the Stop is not refused as a second session
            if stored.kind == "nas_reset":
                cache.reload_sessions()
            elif stored.account_id is not None:
                cache.note_session(session_key(stored.nas_id, stored.session_id), stored.account_id,
                                   stored.kind != "stop")
            replies.fulfil(key, reply)
            counters.add("acct_" + stored.kind)
            sock.sendto(reply, addr)
            counters.observe("acct", started)

        self.writer.submit(record, done)

    def _timely(self, attrs) -> bool:
        """Whether an accounting record is of now: its Event-Timestamp (if
        any) and its Acct-Delay-Time within the agent's event window.  A
        record from further away is a replay (a NAS's clock kept by NTP is
        assumed); a window of 0 turns the check off."""
        window = self.event_window
        if not window:
            return True
        if _int(attrs.get(protocol.ACCT_DELAY_TIME)) > window:
            return False
        stamp = attrs.get(protocol.EVENT_TIMESTAMP)
        return stamp is None or abs(_int(stamp) - time.time()) <= window


# The largest octet count a session is believed to have moved (8 PiB,
# exact in every number type on the way): anything above is a broken or
# forged counter, clamped so that the record still fits the database.
MAX_SESSION_OCTETS = 2**53 - 1
# Acct-Terminate-Cause values are small (RFC 2866 §5.10, RFC 3580); a value
# beyond a 32-bit signed column is dropped, not stored.
MAX_TERMINATE_CAUSE = 2**31 - 1


def _octets(attrs, gigawords_type: int, octets_type: int) -> int:
    """A 64-bit counter (Gigawords folded in, RFC 2869 §5.1), clamped."""
    return min(MAX_SESSION_OCTETS, (_int(attrs.get(gigawords_type)) << 32) | _int(attrs.get(octets_type)))


def _text(value) -> str:
    """A text attribute as stored: UTF-8 (bad octets replaced) without NUL
    characters, which PostgreSQL refuses in text."""
    if not value:
        return ""
    return value.decode("utf-8", "replace").replace("\x00", "")


def _int(value) -> int:
    return int.from_bytes(value, "big") if value else 0


# --- status publishing and maintenance -------------------------------------------------

def publish_status(worker: Worker, previous: dict) -> None:
    """Write this worker's counters for the status page (one row per worker)."""
    values = worker.counters.snapshot()
    now = time.monotonic()
    total = values.get("auth_requests", 0) + values.get("acct_requests", 0)
    rate = 0.0
    if previous.get("at"):
        rate = max(0.0, (total - previous["total"]) / max(0.001, now - previous["at"]))
    previous.update(at=now, total=total)
    last = worker.counters.last_packet_at
    last_at = dt.datetime.fromtimestamp(last, dt.UTC).replace(tzinfo=None) if last else None
    with agent_connection(), transaction():
        for agent_id in worker.cache.agents:
            row = dict(counters=values, requests_per_second=round(rate), last_packet_at=last_at,
                       updated_at=now_utc())
            updated = (RadiusAgentStatus.update(**row)
                       .where((RadiusAgentStatus.agent_id == agent_id)
                              & (RadiusAgentStatus.worker == worker.name)).execute())
            if not updated:
                RadiusAgentStatus.create(agent_id=agent_id, worker=worker.name, **row)


def run_maintenance(worker: Worker, stop: threading.Event, *, main: bool, status_every: float = 5.0,
                    stale_every: float = 30.0) -> threading.Thread:
    """The worker's status every `status_every` seconds; in the main
    process also the WAL checkpoint and closing stale sessions."""

    def loop():
        previous: dict = {}
        last_stale = 0.0
        # One connection for the thread's life: a fresh one parses the
        # schema on its first statement — inside the write lock, where it
        # held the accounting writer up for ~10 ms every few seconds.
        with agent_connection():
            while not stop.wait(status_every):
                try:
                    publish_status(worker, previous)
                    if main and is_sqlite():
                        database.execute_sql("PRAGMA wal_checkpoint(PASSIVE)")
                    if main and time.monotonic() - last_stale >= stale_every:
                        last_stale = time.monotonic()
                        for agent in worker.cache.agents.values():
                            close_stale_sessions(agent.id, agent.interim_interval)
                except Exception:
                    worker.counters.add("maintenance_errors")
                    log.exception("RADIUS maintenance failed; the connection is replaced")
                    try:  # a broken connection is replaced, not kept
                        database.close()
                        database.connect()
                    except Exception:
                        log.exception("RADIUS maintenance: reconnecting failed; retried next round")

    thread = threading.Thread(target=loop, name="radius-maintenance", daemon=True)
    thread.start()
    return thread


# --- starting -----------------------------------------------------------------------------

class _Joinable:
    def __init__(self, *threads, processes=()):
        self.threads = threads
        self.processes = processes

    def join(self, timeout=None):
        for thread in self.threads:
            thread.join(timeout)
        for process in self.processes:
            process.join(timeout)
            if process.is_alive():
                process.terminate()


def start_all(app, stop_event: threading.Event) -> list:
    """Start every enabled RADIUS agent of the app's database: one worker
    thread here (plus the CoA dispatcher) and `workers - 1` extra worker
    processes sharing the ports through SO_REUSEPORT."""
    with agent_connection():
        agent_ids = [a.id for a in Agent.select().where((Agent.type == "radius") & (Agent.enabled == True))]  # noqa: E712
    if not agent_ids:
        return []
    service = start_service(dict(app.config), agent_ids, stop_event)
    return [service]


def favour_the_loop() -> None:
    """Hand the GIL over every 0.5 ms instead of Python's 5 ms: the cache
    refresher and the accounting writer then delay a waiting request by
    fractions of a millisecond, not by whole switch intervals (p99)."""
    sys.setswitchinterval(0.0005)


def start_service(config: dict, agent_ids: list[int], stop: threading.Event):
    """Start the listeners in this process; returns a joinable with `.worker`."""
    favour_the_loop()
    cache = Cache(agent_ids)
    cache.load(freeze=not config.get("TESTING"))
    worker = Worker(cache, config, name=f"{socket.gethostname()}:{os.getpid()}")
    worker.bind()
    refresher = run_refresher(cache, stop)
    maintenance = run_maintenance(worker, stop, main=True)
    dispatcher = Dispatcher(cache, config)
    cache.listeners.append(dispatcher.on_account_changed)
    coa_thread = dispatcher.start(stop)
    thread = threading.Thread(target=worker.run, args=(stop,), name="radius", daemon=True)
    thread.start()
    worker.started.wait(10)
    processes = []
    extra = max(agent.workers for agent in cache.agents.values()) - 1
    if extra > 0:
        context = multiprocessing.get_context("spawn")
        process_stop = context.Event()
        for index in range(extra):
            process = context.Process(target=worker_process, args=(config, agent_ids, process_stop, index + 1),
                                      daemon=True, name=f"radius-worker-{index + 1}")
            process.start()
            processes.append(process)

        def relay():
            stop.wait()
            process_stop.set()

        threading.Thread(target=relay, daemon=True).start()
        log.info("RADIUS: %d extra worker processes started", extra)
    joinable = _Joinable(thread, refresher, maintenance, coa_thread, processes=processes)
    joinable.worker = worker
    joinable.dispatcher = dispatcher
    joinable.processes = processes
    return joinable


def worker_process(config: dict, agent_ids: list[int], stop, index: int) -> None:
    """An extra worker process: its own cache, writer and sockets."""
    bind_database(config["DATABASE_URL"])
    configure_encryption(config["DATA_KEY"])
    clock.set_timezone(config.get("TIMEZONE"))
    local_stop = threading.Event()

    def relay():
        stop.wait()
        local_stop.set()

    threading.Thread(target=relay, daemon=True).start()
    favour_the_loop()
    cache = Cache(agent_ids)
    cache.load(freeze=True)
    worker = Worker(cache, config, name=f"{socket.gethostname()}:{os.getpid()}")
    worker.bind(accounting=False)
    run_refresher(cache, local_stop)
    run_maintenance(worker, local_stop, main=False)
    worker.run(local_stop)
