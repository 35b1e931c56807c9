"""The NetFlow/IPFIX collector: one UDP listener per NetFlow agent.

Each agent runs two threads: the receiver (reads datagrams in bursts,
decodes and matches them in batches) and the housekeeper (reloads the
account cache within a second of a change, writes the counters in one
transaction every minute and on shutdown).  `start_all(app, stop_event)`
is what `flask --app app agents` calls.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import logging
import queue
import select
import socket
import threading
import time

from agents.netflow.aggregator import Aggregator, account_flows, write_counters
from agents.netflow.cache import load_exporters, load_matcher, signature
from agents.netflow.mmsg import RECEIVE_COUNT, make_receiver
from agents.netflow.protocol import Decoder, Limits, decode
from lanbill.clock import now_utc
from lanbill.db import database
from lanbill.models import Agent

log = logging.getLogger(__name__)

DEFAULT_PORT = 2055
RECEIVE_BUFFER = 4 * 1024 * 1024
BURST = 512  # datagrams read before a batch is decoded
GATHER_SECONDS = 0.004  # pause after a read that found the socket nearly empty
MAX_DATAGRAM = 65535
FLUSH_SECONDS = 60
REFRESH_SECONDS = 1.0


class NetflowServer:
    """One NetFlow agent's listener.  The socket is bound on creation, so
    `port` is known (and a busy port fails) before any thread starts."""

    def __init__(self, app, agent_id: int, host: str, port: int, stop_event: threading.Event, *,
                 flush_seconds: float = FLUSH_SECONDS, refresh_seconds: float = REFRESH_SECONDS,
                 receive_buffer: int = RECEIVE_BUFFER, limits: Limits | None = None):
        # `flask agents` hands over current_app, a proxy bound to its thread
        self.app = app._get_current_object() if hasattr(app, "_get_current_object") else app
        self.agent_id = agent_id
        self.stop_event = stop_event
        self.flush_seconds = flush_seconds
        self.refresh_seconds = refresh_seconds
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        if self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) < receive_buffer:
            # capped by net.core.rmem_max; root may exceed it
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), receive_buffer)
            except OSError:
                log.warning("netflow: receive buffer limited to %d bytes; raise net.core.rmem_max to %d",
                            self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2, receive_buffer)
        self.sock.bind((host, port))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.limits = limits or (limits_from(self.app.config) if self.app is not None else Limits())
        # Nothing is accepted until the exporters are loaded (start()).
        self.decoder = Decoder(limits=self.limits, allowed=frozenset())
        # (version, addresses): loaded by the housekeeper, taken up by the receiver
        self._exporters_loaded: tuple[int, frozenset] = (0, frozenset())
        self._exporters_applied = 0
        self.aggregator = Aggregator()
        self.unmatched: dict[int, list] = {}  # exporter index → [records, bytes]
        self.rejected: dict[int, int] = {}  # exporter index → bad records dropped
        self.matched_records = 0
        self.failed_batches = 0
        self.flushes = 0
        self.matcher = None
        self._signature = None
        self._last_status: dict[str, tuple] = {}
        # Receiving and decoding/matching overlap on two cores: numpy lets
        # go of the GIL while it works on a batch.
        self._batches: queue.Queue = queue.Queue(maxsize=64)
        self._receiver = threading.Thread(target=self._receive_loop, name=f"netflow-{agent_id}", daemon=True)
        self._worker = threading.Thread(target=self._work_loop, name=f"netflow-{agent_id}-match", daemon=True)
        self._housekeeper = threading.Thread(target=self._housekeeping_loop, name=f"netflow-{agent_id}-db",
                                             daemon=True)

    # --- life cycle ------------------------------------------------------------

    def start(self) -> NetflowServer:
        with self.app.app_context():
            self._refresh(force=True)
        self._apply_exporters()
        if not self.decoder.allowed:
            log.warning("netflow agent %s: no exporters (NAS of the agent or its `exporters` option): "
                        "every flow is dropped", self.agent_id)
        self._receiver.start()
        self._worker.start()
        self._housekeeper.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        self._receiver.join(timeout)
        self._worker.join(timeout)
        self._housekeeper.join(timeout)

    def is_alive(self) -> bool:
        return self._receiver.is_alive() or self._worker.is_alive() or self._housekeeper.is_alive()

    # --- receiving -------------------------------------------------------------

    def _receive_loop(self) -> None:
        """Datagrams are read many per system call (recvmmsg), fed to the
        decoder as one numpy batch and handed to the matching thread every
        BURST datagrams, or when the socket is empty."""
        _name_thread("netflow-recv")
        decoder = self.decoder
        receiver = make_receiver(self.sock)
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        last_expire = time.monotonic()
        burst = 0
        try:
            while not self.stop_event.is_set():
                try:
                    received = self.receive_once(receiver)
                    burst += received
                except BlockingIOError:
                    if burst:
                        self._process()
                        burst = 0
                    now = time.monotonic()
                    if now - last_expire > 1.0:
                        decoder.expire_pending()
                        decoder.expire_idle()
                        self._apply_exporters()
                        last_expire = now
                    poller.poll(200)
                    continue
                if burst >= BURST:
                    self._process()
                    self._apply_exporters()
                    burst = 0
                if received < RECEIVE_COUNT // 2:
                    # The socket was nearly empty: let datagrams gather for a
                    # moment (the 4 MiB buffer holds some 50 ms at 1.5 million
                    # records/s) rather than read them a few at a time.
                    time.sleep(GATHER_SECONDS)
            self._drain()
        except Exception:  # pragma: no cover - a bug must not lose what was counted
            log.exception("netflow receiver failed")
        finally:
            self.sock.close()
            self._batches.put(None)

    def receive_once(self, receiver) -> int:
        """Read what the socket holds (up to one recvmmsg call) into the
        decoder; the number of datagrams, BlockingIOError if none."""
        if receiver is not None:
            burst = receiver.receive_burst()
            self.decoder.feed_burst(burst.data, burst.lengths, burst.sources, burst.source_of, burst.truncated)
            return len(burst)
        data, address = self.sock.recvfrom(MAX_DATAGRAM)
        self.decoder.feed(data, address[0])
        return 1

    def _drain(self) -> None:
        """On shutdown: count what the kernel still holds for us."""
        burst = 0
        while True:
            try:
                data, address = self.sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, OSError):
                break
            self.decoder.feed(data, address[0])
            burst += 1
            if burst % BURST == 0:
                self._process()
        self._process()

    def _apply_exporters(self) -> None:
        """In the receiving thread: take up the exporters the housekeeper
        loaded (the decoder's state is this thread's alone)."""
        version, exporters = self._exporters_loaded
        if version != self._exporters_applied:
            self.decoder.allow(exporters)
            self._exporters_applied = version

    def _process(self) -> None:
        """Hand the records gathered so far to the matching thread."""
        raw = self.decoder.take_raw()
        if any(raw):
            self._batches.put(raw)

    def _work_loop(self) -> None:
        _name_thread("netflow-match")
        while True:
            raw = self._batches.get()
            if raw is None:
                return
            self.count(raw)

    def count(self, raw) -> None:
        """Decode, match and aggregate one batch (`Decoder.take_raw()`)."""
        matcher = self.matcher
        try:
            for flows in decode(raw, max_sampling_rate=self.limits.max_sampling_rate, rejected=self.rejected):
                self.matched_records += account_flows(flows, matcher, self.aggregator, self.unmatched)
        except Exception:  # pragma: no cover - counted, never fatal
            self.failed_batches += 1
            log.exception("netflow: a batch could not be decoded or matched")

    # --- housekeeping ------------------------------------------------------------

    def _housekeeping_loop(self) -> None:
        _name_thread("netflow-db")
        with self.app.app_context():
            next_flush = time.monotonic() + self.flush_seconds
            while self._worker.is_alive():
                self._worker.join(self.refresh_seconds)
                if not self._worker.is_alive():
                    break
                try:
                    database.connect(reuse_if_open=True)
                    self._refresh()
                    if time.monotonic() >= next_flush:
                        self.flush()
                        next_flush = time.monotonic() + self.flush_seconds
                except Exception:
                    log.exception("netflow housekeeping failed; retrying")
            for attempt in range(5):
                try:
                    database.connect(reuse_if_open=True)
                    self.flush()
                    break
                except Exception:
                    log.exception("netflow final flush failed (attempt %d)", attempt + 1)
                    time.sleep(1)
            if not database.is_closed():
                database.close()
        log.info("netflow agent %s stopped", self.agent_id)

    def _refresh(self, force: bool = False) -> None:
        current = signature(self.agent_id)
        if force or current != self._signature:
            self.matcher = load_matcher(self.agent_id)
            self._exporters_loaded = (self._exporters_loaded[0] + 1, load_exporters(self.agent_id))
            self._signature = current

    def flush(self) -> int:
        """Write the counters and the exporter status in one transaction;
        on failure the counters go back into memory for the next try."""
        taken = self.aggregator.take()
        try:
            touched = write_counters(taken, self.status_rows(), self.agent_row())
        except Exception:
            self.aggregator.put_back(taken)
            raise
        self.flushes += 1
        return touched

    def status_rows(self) -> list[dict]:
        now = time.monotonic()
        rows = []
        for exporter, stats in list(self.decoder.stats.items()):
            index = self.decoder.exporters.index(exporter)
            unmatched = self.unmatched.get(index, [0, 0])
            previous = self._last_status.get(exporter)
            pps = rps = 0
            if previous is not None and now > previous[0]:
                pps = int((stats.packets - previous[1]) / (now - previous[0]))
                rps = int((stats.records - previous[2]) / (now - previous[0]))
            self._last_status[exporter] = (now, stats.packets, stats.records)
            last = stats.last_packet_at
            rows.append({
                "agent_id": self.agent_id, "exporter": exporter, "packets": stats.packets,
                "records": stats.records, "malformed": stats.malformed,
                "unknown_template_sets": stats.unknown_template_sets, "dropped_sets": stats.dropped_sets,
                "lost_flows": stats.lost_flows, "lost_packets": stats.lost_packets,
                "unmatched_records": unmatched[0], "unmatched_bytes": unmatched[1],
                "bad_records": self.rejected.get(index, 0), "clamped_times": stats.clamped_times,
                "dropped_templates": stats.dropped_templates, "dropped_domains": stats.dropped_domains,
                "packets_per_second": pps, "records_per_second": rps,
                "last_packet_at": _utc(last) if last else None, "updated_at": now_utc(),
            })
        return rows

    def agent_row(self) -> dict:
        """The agent's counters of no exporter.  Exporters no longer kept
        (forgotten when idle or no longer allowed) lose their status rows
        with this write."""
        decoder = self.decoder
        return {"agent_id": self.agent_id, "unknown_exporter": decoder.unknown_exporter,
                "dropped_exporters": decoder.dropped_exporters, "exporters": len(decoder.stats),
                "updated_at": now_utc()}


def limits_from(config) -> Limits:
    """The collector's limits from the settings (NETFLOW_MAX_*, LANBILL_NETFLOW_*)."""
    skew = config.get("NETFLOW_MAX_CLOCK_SKEW_SECONDS", 86400)
    return Limits(
        max_exporters=int(config.get("NETFLOW_MAX_EXPORTERS", Limits.max_exporters)),
        max_domains_per_exporter=int(config.get("NETFLOW_MAX_DOMAINS_PER_EXPORTER", Limits.max_domains_per_exporter)),
        max_templates_per_domain=int(config.get("NETFLOW_MAX_TEMPLATES_PER_DOMAIN", Limits.max_templates_per_domain)),
        exporter_idle_seconds=float(config.get("NETFLOW_EXPORTER_IDLE_SECONDS", Limits.exporter_idle_seconds)),
        max_clock_skew_seconds=None if not skew else float(skew),
        max_sampling_rate=int(config.get("NETFLOW_MAX_SAMPLING_RATE", Limits.max_sampling_rate)),
    )


def _name_thread(name: str) -> None:
    """Name the OS thread (seen in `top -H`, /proc/PID/task/*/comm)."""
    try:
        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError) as exc:  # pragma: no cover - not Linux: the thread keeps its name
        log.debug("thread name %s not set: %s", name, exc)


def _utc(timestamp: float):
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).replace(tzinfo=None)


def start_all(app, stop_event: threading.Event) -> list[NetflowServer]:
    """Start a listener for every enabled NetFlow agent.  The port is the
    agent's `options["port"]` (default 2055) unless NETFLOW_PORT
    (LANBILL_NETFLOW_PORT) overrides it — then only for the first agent,
    as two listeners cannot share a port."""
    servers = []
    override = app.config.get("NETFLOW_PORT")
    agents = list(Agent.select().where((Agent.type == "netflow") & (Agent.enabled == True)).order_by(Agent.id))  # noqa: E712
    for agent in agents:
        options = agent.options or {}
        port = override if override is not None and not servers else int(options.get("port", DEFAULT_PORT))
        flush_seconds = float(options.get("flush_seconds", app.config.get("NETFLOW_FLUSH_SECONDS", FLUSH_SECONDS)))
        try:
            server = NetflowServer(app, agent.id, agent.listen_address or "0.0.0.0", port, stop_event,
                                   flush_seconds=flush_seconds)
        except OSError as exc:
            log.error("netflow agent %s: cannot listen on port %s: %s", agent.name, port, exc)
            print(f"netflow agent {agent.name}: cannot listen on port {port}: {exc}", flush=True)
            continue
        servers.append(server.start())
        log.info("netflow agent %s: listening on %s:%s", agent.name, agent.listen_address, server.port)
        print(f"netflow agent {agent.name}: listening on {agent.listen_address}:{server.port}", flush=True)
    return servers
