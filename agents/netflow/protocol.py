"""NetFlow v5, NetFlow v9 and IPFIX (RFC 7011/7012) decoding: pure parsing,
no sockets, no database — feed datagrams in, take vectorised flow arrays out.

Work is batched: `Decoder.feed()` only checks headers, sequence numbers and
templates and keeps the raw record bytes; `Decoder.take()` decodes all the
records gathered since the last call with one `np.frombuffer` per record
layout (v5, or one fixed-layout template), so Python does per-packet work,
never per-record work.  Templates with variable-length fields fall back to
a per-record path.

`Decoder.feed_burst()` takes many datagrams at once (the rows of the
receive buffer that recvmmsg filled) and does even the per-packet work in
numpy for the common cases — well-formed v5 packets and IPFIX packets made
of one data set of a known fixed-layout template — so a burst of hundreds
of datagrams costs a few dozen numpy calls.  Every other datagram (v9,
templates, options, malformed ones) goes through `feed()` in arrival
order, so templates and sequence numbers see the same order either way.
"""

from __future__ import annotations

import array
import struct
import time
from dataclasses import dataclass

import numpy as np

V5_HEADER = struct.Struct("!HHIIIIBBH")  # version, count, uptime, secs, nsecs, sequence, engine type/id, sampling
V9_HEADER = struct.Struct("!HHIIII")  # version, count, uptime, secs, sequence, source id
IPFIX_HEADER = struct.Struct("!HHIII")  # version, length, export time, sequence, observation domain
SET_HEADER = struct.Struct("!HH")
V5_RECORD = np.dtype([
    ("src", ">u4"), ("dst", ">u4"), ("nexthop", ">u4"), ("input", ">u2"), ("output", ">u2"),
    ("packets", ">u4"), ("octets", ">u4"), ("first", ">u4"), ("last", ">u4"),
    ("sport", ">u2"), ("dport", ">u2"), ("pad1", "u1"), ("tcp_flags", "u1"), ("proto", "u1"), ("tos", "u1"),
    ("src_as", ">u2"), ("dst_as", ">u2"), ("src_mask", "u1"), ("dst_mask", "u1"), ("pad2", ">u2"),
])  # fmt: skip
assert V5_RECORD.itemsize == 48
V5_HEADER_DTYPE = np.dtype([
    ("version", ">u2"), ("count", ">u2"), ("uptime", ">u4"), ("secs", ">u4"), ("nsecs", ">u4"),
    ("sequence", ">u4"), ("engine_type", "u1"), ("engine_id", "u1"), ("sampling", ">u2"),
])  # fmt: skip
IPFIX_HEAD_DTYPE = np.dtype([
    ("version", ">u2"), ("length", ">u2"), ("export", ">u4"), ("sequence", ">u4"), ("domain", ">u4"),
    ("set_id", ">u2"), ("set_length", ">u2"),
])  # fmt: skip  -- the message header and the first set header
assert V5_HEADER_DTYPE.itemsize == 24 and IPFIX_HEAD_DTYPE.itemsize == 20
V5_MAX_RECORDS = 30  # Cisco's limit per datagram
FEW = 24  # bursts shorter than this are fed one datagram at a time
_V5_UNPACK = V5_HEADER.unpack_from
_now = time.time

# Information element ids (IANA IPFIX registry; v9 uses the same numbers).
IE_OCTETS = 1  # octetDeltaCount / IN_BYTES
IE_PACKETS = 2
IE_PROTO = 4
IE_SRC_PORT = 7
IE_SRC_V4 = 8
IE_DST_PORT = 11
IE_DST_V4 = 12
IE_END_UPTIME = 21  # flowEndSysUpTime / LAST_SWITCHED, ms since exporter boot
IE_SRC_V6 = 27
IE_DST_V6 = 28
IE_SAMPLING_INTERVAL = 34
IE_SAMPLER_RANDOM_INTERVAL = 50
IE_END_SECONDS = 151
IE_END_MILLISECONDS = 153
IE_SYSTEM_INIT_MS = 160
IE_SAMPLING_PACKET_INTERVAL = 305
IE_SAMPLING_PACKET_SPACE = 306
REVERSE_PEN = 29305
REVERSE = 0x20000
IE_REVERSE_OCTETS = REVERSE | IE_OCTETS
SAMPLING_IES = (IE_SAMPLING_INTERVAL, IE_SAMPLER_RANDOM_INTERVAL, IE_SAMPLING_PACKET_INTERVAL)
VARIABLE = 65535

PENDING_SECONDS = 10.0  # data sets wait this long for their template
PENDING_MAX_SETS = 256  # per exporter: a flood of unknown sets cannot eat memory
TEMPLATE_MAX_FIELDS = 512
DAY_MS = 86_400_000
# No real flow record carries 64 PiB; a larger octets × sampling rate is a
# broken or hostile exporter, and the hourly sums (signed 64-bit columns)
# keep room for hundreds of records at this bound.
MAX_RECORD_OCTETS = 1 << 56


@dataclass(frozen=True)
class Limits:
    """What one collector keeps, whatever it is sent: a flood of templates,
    observation domains or exporters is dropped and counted beyond these
    (settings NETFLOW_MAX_*).  `exporter_idle_seconds`: an exporter silent
    this long is forgotten (templates, sequences, status).
    `max_clock_skew_seconds`: an export time further than this from the
    collector's clock is replaced by the collector's clock (None: trusted).
    `max_sampling_rate`: a record sampled at a higher rate is dropped."""

    max_exporters: int = 64
    max_domains_per_exporter: int = 16
    max_templates_per_domain: int = 64
    exporter_idle_seconds: float = 3600.0
    max_clock_skew_seconds: float | None = None
    max_sampling_rate: int = 1_000_000


class Malformed(ValueError):
    """A datagram that is not a well-formed export packet."""


@dataclass
class ExporterStats:
    """Counters of one exporter (source address), read by the status page."""

    packets: int = 0
    records: int = 0
    bytes: int = 0
    malformed: int = 0
    unknown_template_sets: int = 0  # data sets that arrived before their template
    dropped_sets: int = 0  # ... and whose template never came in time
    options_records: int = 0
    lost_flows: int = 0  # v5 flow_sequence and IPFIX sequence gaps
    lost_packets: int = 0  # v9 sequence gaps (v9 counts packets, not flows)
    unmatched_records: int = 0
    unmatched_bytes: int = 0
    dropped_templates: int = 0  # beyond the templates allowed per observation domain
    dropped_domains: int = 0  # packets of an observation domain beyond those allowed
    clamped_times: int = 0  # packets whose export time was too far from the collector's clock
    last_packet_at: float = 0.0


@dataclass
class Template:
    """A compiled data template: a numpy dtype when every field has a fixed
    length, else the (id, length) list for the per-record path.  The
    fields are kept packed (8 bytes a field, not a list of tuples), so that
    the templates a collector may hold cost little memory."""

    template_id: int
    layout: array.array  # uint32: ie, length, ie, length, ...
    record_length: int  # 0 if variable
    dtype: np.dtype | None
    time_mode: str  # "uptime" | "ms" | "s" | "export"
    is_options: bool = False
    scope_count: int = 0

    @property
    def fields(self) -> list:
        """[(ie, length)]"""
        layout = self.layout
        return list(zip(layout[0::2], layout[1::2], strict=True))


@dataclass(slots=True)
class Chunk:
    """Raw records of one layout from one packet, waiting for `take()`."""

    data: bytes
    count: int
    base_ms: int  # v5/v9: unix ms of uptime 0; IPFIX: export time in ms
    export_ms: int
    sampling: int
    exporter: int  # index into Decoder.exporters
    uptime_based: bool = False  # v5/v9: base_ms is the exporter's boot time


@dataclass(slots=True)
class Block:
    """Records of one layout from several packets, already cut out of the
    receive buffer by `feed_burst()`: a structured array of records and,
    per packet, its record count and header values."""

    records: np.ndarray
    counts: np.ndarray  # int64, records per packet
    base_ms: np.ndarray  # int64
    export_ms: np.ndarray  # int64
    sampling: np.ndarray  # uint64
    exporter: np.ndarray  # int32
    uptime_based: bool = False

    @property
    def count(self) -> int:
        return len(self.records)

    def per_record(self, name: str) -> np.ndarray:
        values = getattr(self, name)
        if len(values) == 1 or (values == values[0]).all():
            return np.full(len(self.records), values[0], dtype=values.dtype)
        return np.repeat(values, self.counts)


def _merge(blocks: list[Block]) -> Block:
    if len(blocks) == 1:
        return blocks[0]
    # records as plain bytes: concatenating structured arrays goes field by field
    dtype = blocks[0].records.dtype
    records = np.concatenate([b.records.view(np.uint8) for b in blocks]).view(dtype)
    return Block(records, *(np.concatenate([getattr(b, name) for b in blocks])
                            for name in ("counts", "base_ms", "export_ms", "sampling", "exporter")),
                 uptime_based=blocks[0].uptime_based)


def _gather(data: np.ndarray, rows: np.ndarray, offset: int, counts: np.ndarray, size: int) -> np.ndarray:
    """Cut `counts[i]` records of `size` bytes starting at `offset` out of
    row `rows[i]` of the receive buffer: a new (records, size) uint8 array
    (always a copy, never a view of `data`)."""
    first = int(counts[0])
    if (counts == first).all():
        start = int(rows[0])
        if int(rows[-1]) - start == len(rows) - 1:  # consecutive rows (the usual case): no fancy indexing
            # .copy(): one row is contiguous already, and the buffer is reused by the next receive
            return data[start:start + len(rows), offset:offset + first * size].copy().reshape(-1, size)
        return data[rows, offset:offset + first * size].reshape(-1, size)
    most = int(counts.max())
    cells = data[rows, offset:offset + most * size].reshape(len(rows), most, size)
    return cells[np.arange(most) < counts[:, None]]


def _streams(key: np.ndarray):
    """Positions of each distinct `key`, in arrival order: [(key, positions)]."""
    first = key[0]
    if (key == first).all():
        return [(int(first), slice(None))]
    unique, inverse = np.unique(key, return_inverse=True)
    return [(int(k), np.flatnonzero(inverse == i)) for i, k in enumerate(unique.tolist())]


@dataclass
class Flows:
    """Decoded records.  IPv4 addresses as uint32; IPv6 as two uint64
    halves.  `end` is the flow's end in unix seconds (int64)."""

    src: np.ndarray
    dst: np.ndarray
    octets: np.ndarray
    sport: np.ndarray
    dport: np.ndarray
    end: np.ndarray
    exporter: np.ndarray
    v6: bool = False
    bad: np.ndarray | None = None  # records to drop: a sampling rate or a byte count no exporter sends

    def __len__(self):
        return len(self.octets)

    def without_bad(self, rejected: dict | None) -> Flows:
        """These flows less the bad records, counted per exporter index in
        `rejected` ({index: records})."""
        bad = self.bad
        if bad is None or not bad.any():
            self.bad = None
            return self
        if rejected is not None:
            indexes, counts = np.unique(self.exporter[bad], return_counts=True)
            for index, count in zip(indexes.tolist(), counts.tolist(), strict=True):
                rejected[index] = rejected.get(index, 0) + count
        keep = ~bad
        return Flows(self.src[keep], self.dst[keep], self.octets[keep], self.sport[keep], self.dport[keep],
                     self.end[keep], self.exporter[keep], v6=self.v6)


def _fixed_dtype(fields: list) -> np.dtype | None:
    """A structured dtype for a template whose fields all have fixed
    lengths; fields we do not use become padding."""
    names, formats, offsets = [], [], []
    offset = 0
    seen = set()
    for ie, length in fields:
        if length == VARIABLE:
            return None
        if ie not in seen:
            fmt = _field_format(ie, length)
            if fmt is not None:
                names.append(f"f{ie}")
                formats.append(fmt)
                offsets.append(offset)
                seen.add(ie)
        offset += length
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": offset})


def _field_format(ie: int, length: int):
    if ie in (IE_SRC_V6, IE_DST_V6):
        return (">u8", 2) if length == 16 else None
    if ie in (IE_SRC_V4, IE_DST_V4):
        return ">u4" if length == 4 else None
    if ie in (IE_OCTETS, IE_REVERSE_OCTETS, IE_PACKETS, IE_SRC_PORT, IE_DST_PORT, IE_END_UPTIME, IE_END_SECONDS,
              IE_END_MILLISECONDS, IE_SYSTEM_INIT_MS, IE_PROTO, IE_SAMPLING_PACKET_SPACE) + SAMPLING_IES:
        if length in (1, 2, 4, 8):
            return f">u{length}"
        if 1 <= length <= 8:
            return ("u1", length)  # reduced-size encoding of odd length (RFC 7011 §6.2)
    return None


def _as_uint(column: np.ndarray) -> np.ndarray:
    """A big-endian unsigned column → uint64 (odd lengths are u1 arrays)."""
    if column.ndim == 2:
        out = np.zeros(len(column), dtype=np.uint64)
        for i in range(column.shape[1]):
            out = (out << np.uint64(8)) | column[:, i].astype(np.uint64)
        return out
    return column.astype(np.uint64)


def compile_template(template_id: int, fields: list, *, is_options=False, scope_count=0) -> Template:
    ids = {ie for ie, _ in fields}
    if IE_END_MILLISECONDS in ids:
        mode = "ms"
    elif IE_END_SECONDS in ids:
        mode = "s"
    elif IE_END_UPTIME in ids:
        mode = "uptime"
    else:
        mode = "export"
    variable = any(length == VARIABLE for _, length in fields)
    length = 0 if variable else sum(length for _, length in fields)
    dtype = None if variable else _fixed_dtype(fields)
    return Template(template_id, _packed(fields), length, dtype, mode, is_options, scope_count)


def _packed(fields) -> array.array:
    return array.array("I", [value for field in fields for value in field])


class Decoder:
    """Decoding state: templates per (exporter, source id / observation
    domain, template id), sequence tracking, counters per exporter, and
    records gathered since the last `take()`.

    `allowed`: the exporters whose datagrams count (a set of addresses as
    the socket reports them); any other source is dropped before decoding
    and counted in `unknown_exporter`.  None: every source counts (the
    pure decoding tests).  `limits` bound the state a sender can make the
    decoder keep (Limits)."""

    def __init__(self, *, pending_seconds: float = PENDING_SECONDS, clock=time.monotonic, few: int = FEW,
                 limits: Limits | None = None, allowed: set | frozenset | None = None, wall_clock=None):
        self.exporters: list[str] = []
        self._exporter_index: dict[str, int] = {}
        self.stats: dict[str, ExporterStats] = {}
        self.templates: dict[tuple, Template] = {}
        # (exporter, domain, version) → template ids: a withdrawal or an
        # expiry touches one scope's templates, never all of them
        self._scope_templates: dict[tuple, set] = {}
        self._domains: dict[str, set] = {}  # exporter → {(domain, version)} it may keep state for
        self.limits = limits or Limits()
        self.allowed = allowed
        self.unknown_exporter = 0  # datagrams from sources not allowed
        self.dropped_exporters = 0  # datagrams from allowed sources beyond max_exporters
        self.wall_clock = wall_clock or _now
        self.sampling: dict[tuple, int] = {}  # (exporter, domain) → rate from options data
        self._sequence: dict[tuple, int | None] = {}
        self._pending: dict[tuple, list] = {}  # (exporter, domain, template id) → [(arrived, data, ...)]
        self._chunks: dict[object, tuple] = {}  # layout key → (layout, [Chunk or Block])
        self._v5: list[tuple] = []  # (datagram, count, base ms, export ms, sampling, exporter index)
        self._v5_blocks: list[Block] = []  # from feed_burst()
        self.pending_seconds = pending_seconds
        self.clock = clock
        self.few = few  # bursts shorter than this go one datagram at a time

    # --- bookkeeping ---------------------------------------------------------

    def exporter_stats(self, exporter: str) -> ExporterStats:
        """The counters of `exporter`, created on its first datagram."""
        stats = self.stats.get(exporter)
        if stats is None:
            stats = self.stats[exporter] = ExporterStats()
            if exporter not in self._exporter_index:  # an expired exporter keeps its index
                self._exporter_index[exporter] = len(self.exporters)
                self.exporters.append(exporter)
        return stats

    def admits(self, exporter: str) -> bool:
        """May a datagram from `exporter` be decoded?  Sources not allowed,
        and new exporters beyond max_exporters, are counted and refused."""
        allowed = self.allowed
        if allowed is not None and exporter not in allowed:
            self.unknown_exporter += 1
            return False
        if exporter not in self.stats and len(self.stats) >= self.limits.max_exporters:
            self.dropped_exporters += 1
            return False
        return True

    def allow(self, exporters) -> None:
        """Replace the allowed exporters (None: every source); exporters no
        longer allowed are forgotten, so that having counters means being
        allowed.  Call it from the thread that feeds."""
        self.allowed = None if exporters is None else frozenset(exporters)
        if self.allowed is not None:
            gone = [exporter for exporter in self.stats if exporter not in self.allowed]
            for exporter in gone:
                self._forget(exporter)

    def _clamp_ms(self, export_ms: int, stats: ExporterStats) -> int:
        """An export time too far from our clock is replaced by our clock."""
        skew = self.limits.max_clock_skew_seconds
        if skew is None:
            return export_ms
        now_ms = int(self.wall_clock() * 1000)
        if abs(export_ms - now_ms) > skew * 1000:
            stats.clamped_times += 1
            return now_ms
        return export_ms

    def _clamp_ms_array(self, export_ms: np.ndarray, exporter: np.ndarray) -> np.ndarray:
        """_clamp_ms for many packets (`exporter`: their exporter indexes)."""
        skew = self.limits.max_clock_skew_seconds
        if skew is None:
            return export_ms
        now_ms = int(self.wall_clock() * 1000)
        far = np.abs(export_ms - now_ms) > int(skew * 1000)
        if not far.any():
            return export_ms
        for index in exporter[far].tolist():
            self.stats[self.exporters[index]].clamped_times += 1
        return np.where(far, now_ms, export_ms)

    def _admit_scope(self, exporter: str, domain: int, version: int, stats: ExporterStats) -> bool:
        """May `exporter` keep state (templates, sequences) for one more
        observation domain?  Beyond max_domains_per_exporter its packets
        are dropped and counted."""
        domains = self._domains.get(exporter)
        if domains is None:
            domains = self._domains[exporter] = set()
        if (domain, version) in domains:
            return True
        if len(domains) >= self.limits.max_domains_per_exporter:
            stats.dropped_domains += 1
            return False
        domains.add((domain, version))
        return True

    def expire_idle(self) -> list[str]:
        """Forget exporters silent for longer than exporter_idle_seconds:
        their templates, sequences, sampling rates, waiting sets and
        counters.  Returns the exporters forgotten."""
        now = self.wall_clock()
        idle = [exporter for exporter, stats in list(self.stats.items())
                if now - stats.last_packet_at > self.limits.exporter_idle_seconds]
        for exporter in idle:
            self._forget(exporter)
        return idle

    def _forget(self, exporter: str) -> None:
        for domain, version in self._domains.pop(exporter, ()):
            self._withdraw_scope((exporter, domain, version))
            self.sampling.pop((exporter, domain), None)
        for key in [k for k in self._sequence if k[0] == exporter]:
            del self._sequence[key]
        for key in [k for k in self._pending if k[0] == exporter]:
            del self._pending[key]
        self.stats.pop(exporter, None)

    def _store_template(self, key: tuple, spec, stats: ExporterStats) -> bool:
        """Store the template `spec` ((fields, is_options, scope count))
        under `key`; the same layout again keeps the compiled one.  False
        (and counted) when its scope already holds max_templates_per_domain."""
        fields, is_options, scope_count = spec
        existing = self.templates.get(key)
        if existing is not None:
            if existing.is_options == is_options and existing.layout == _packed(fields):
                return True
        else:
            ids = self._scope_templates.setdefault(key[:3], set())
            if len(ids) >= self.limits.max_templates_per_domain:
                stats.dropped_templates += 1
                return False
            ids.add(key[3])
        self.templates[key] = compile_template(key[3], fields, is_options=is_options, scope_count=scope_count)
        return True

    def _withdraw_template(self, key: tuple) -> None:
        if self.templates.pop(key, None) is not None:
            self._scope_templates.get(key[:3], set()).discard(key[3])

    def _withdraw_scope(self, scope: tuple) -> None:
        for template_id in self._scope_templates.pop(scope, ()):
            self.templates.pop(scope + (template_id,), None)

    def _add_chunk(self, key, layout, chunk: Chunk) -> None:
        entry = self._chunks.get(key)
        if entry is None or entry[0] is not layout:
            if entry is not None:  # a refreshed template: keep what the old one described
                self._chunks[(key, id(entry[0]))] = entry
            entry = self._chunks[key] = (layout, [])
        entry[1].append(chunk)

    # --- feeding -------------------------------------------------------------

    def feed(self, data: bytes, exporter: str) -> bool:
        """Take one datagram from `exporter`.  False (and counted) if malformed.

        The v5 path is inlined: it is the hot loop of the collector.  A
        datagram from a source not allowed is refused before anything else
        (Decoder.admits)."""
        stats = self.stats.get(exporter)
        if stats is None:  # only admitted exporters have counters (see `allow`)
            if not self.admits(exporter):
                return False
            stats = self.exporter_stats(exporter)
        stats.packets += 1
        stats.last_packet_at = self.wall_clock()
        try:
            version = (data[0] << 8) | data[1]
            if version == 5:
                _, count, uptime, secs, nsecs, sequence, engine_type, engine_id, sampling = _V5_UNPACK(data)
                if count == 0 or count > V5_MAX_RECORDS or 24 + count * 48 > len(data):
                    raise Malformed("record count does not fit the packet")
                key = (exporter, engine_type, engine_id)
                expected = self._sequence.get(key)
                if expected is not None and sequence != expected:
                    gap = (sequence - expected) & 0xFFFFFFFF
                    if gap < 0x80000000:  # a restart or reordering is not a loss
                        stats.lost_flows += gap
                self._sequence[key] = (sequence + count) & 0xFFFFFFFF
                export_ms = secs * 1000 + nsecs // 1_000_000
                if self.limits.max_clock_skew_seconds is not None:
                    export_ms = self._clamp_ms(export_ms, stats)
                interval = sampling & 0x3FFF
                self._v5.append((data, count, export_ms - uptime, export_ms, interval if interval > 1 else 1,
                                 self._exporter_index[exporter]))
                stats.records += count
            elif version == 9:
                self._feed_templated(data, exporter, stats, ipfix=False)
            elif version == 10:
                self._feed_templated(data, exporter, stats, ipfix=True)
            else:
                raise Malformed(f"unknown version {version}")
            return True
        except (Malformed, struct.error, ValueError, IndexError):
            stats.malformed += 1
            return False

    def feed_burst(self, data: np.ndarray, lengths: np.ndarray, sources: list[str],
                   source_of: np.ndarray | None = None, truncated: np.ndarray | None = None) -> None:
        """Take many datagrams at once: row i of the uint8 array `data` holds
        datagram i (its first `lengths[i]` bytes), which came from
        `sources[source_of[i]]` (all from `sources[0]` if `source_of` is
        None); `truncated[i]` marks one cut short by the receive buffer
        (dropped as malformed).  The records are copied out, so the buffer
        may be reused as soon as this returns.

        Sources are checked once per burst (Decoder.admits): datagrams of a
        source not admitted are counted and cut out before any decoding."""
        refused = self._refused_sources(sources)
        if refused:
            if len(refused) == len(sources):
                self._count_refused(refused, lengths, sources, source_of)
                return
            data, lengths, sources, source_of, truncated = self._without(refused, data, lengths, sources,
                                                                         source_of, truncated)
        n = len(lengths)
        if n < self.few:  # the numpy set-up costs more than a few datagrams one by one
            for i, length in enumerate(lengths.tolist()):
                source = sources[0 if source_of is None else source_of[i]]
                if truncated is not None and truncated[i]:
                    stats = self.exporter_stats(source)
                    stats.packets += 1
                    stats.malformed += 1
                else:
                    self.feed(data[i, :length].tobytes(), source)
            return
        lengths = lengths.astype(np.int64, copy=False)
        indexes = []
        for source in sources:
            self.exporter_stats(source)
            indexes.append(self._exporter_index[source])
        if source_of is None:
            exporter = np.full(n, indexes[0], dtype=np.int32)
        else:
            exporter = np.array(indexes, dtype=np.int32)[source_of]
        head = data[:, :24]
        version = (head[:, 0].astype(np.uint16) << 8) | head[:, 1]
        cut = np.zeros(n, dtype=bool) if truncated is None else truncated.astype(bool, copy=False)
        whole = (lengths >= 24) & ~cut  # what the fast paths read lies inside the datagram
        count = (head[:, 2].astype(np.int64) << 8) | head[:, 3]
        fast_v5 = whole & (version == 5) & (count >= 1) & (count <= V5_MAX_RECORDS) & (24 + count * 48 <= lengths)
        length = count  # IPFIX: the same two bytes are the message length
        set_id = (head[:, 16].astype(np.int64) << 8) | head[:, 17]
        set_length = (head[:, 18].astype(np.int64) << 8) | head[:, 19]
        fast_ipfix = (whole & (version == 10) & (length >= 20) & (length <= lengths) & (set_id >= 256)
                      & (set_length == length - 16))
        # v9 and IPFIX may carry templates and sequence numbers: kept in order.
        # Each datagram is counted (packets, records) where it is decoded.
        ordered = fast_ipfix | (((version == 9) | (version == 10)) & (lengths >= 2) & ~cut)
        now = _now()
        for index in set(indexes):
            self.stats[self.exporters[index]].last_packet_at = now
        other = ~(fast_v5 | ordered)
        if other.any():  # malformed v5, garbage, truncated: their order does not matter
            for i in np.flatnonzero(other).tolist():
                source = self.exporters[exporter[i]]
                if cut[i]:
                    stats = self.stats[source]
                    stats.packets += 1
                    stats.malformed += 1
                else:
                    self.feed(bytes(data[i, :lengths[i]]), source)
        if fast_v5.any():
            self._v5_burst(data, np.flatnonzero(fast_v5), count, exporter)
        if ordered.any():
            self._templated_burst(data, lengths, np.flatnonzero(ordered), fast_ipfix, exporter)

    def _refused_sources(self, sources: list[str]) -> list[str]:
        """The sources of a burst that `admits` would refuse (not counted
        here: `_count_refused` counts their datagrams)."""
        stats = self.stats
        if all(source in stats for source in sources):  # the usual case: known exporters only
            return []
        allowed = self.allowed
        room = self.limits.max_exporters - len(stats)
        refused = []
        for source in sources:
            if source in stats:
                continue
            if (allowed is not None and source not in allowed) or room <= 0:
                refused.append(source)
            else:
                room -= 1
        return refused

    def _count_refused(self, refused, lengths, sources, source_of) -> None:
        counts = {source: 0 for source in refused}
        if source_of is None:
            counts[sources[0]] = len(lengths)
        else:
            per_source = np.bincount(source_of, minlength=len(sources)).tolist()
            for source, count in zip(sources, per_source, strict=True):
                if source in counts:
                    counts[source] = count
        for source, count in counts.items():
            if self.allowed is not None and source not in self.allowed:
                self.unknown_exporter += count
            else:
                self.dropped_exporters += count

    def _without(self, refused, data, lengths, sources, source_of, truncated):
        """The burst without the datagrams of the `refused` sources."""
        self._count_refused(refused, lengths, sources, source_of)
        keep_source = np.array([source not in refused for source in sources])
        keep = keep_source[source_of]
        kept_sources = [source for source in sources if source not in refused]
        renumber = np.cumsum(keep_source) - 1
        rows = np.flatnonzero(keep)
        return (data[rows], lengths[rows], kept_sources, renumber[source_of[rows]],
                None if truncated is None else truncated[rows])

    def _v5_burst(self, data, rows, count, exporter) -> None:
        header = _gather(data, rows, 0, np.ones(len(rows), dtype=np.int64), 24).view(V5_HEADER_DTYPE).reshape(-1)
        counts = count[rows]
        exporter = exporter[rows]
        export_ms = header["secs"].astype(np.int64) * 1000 + header["nsecs"].astype(np.int64) // 1_000_000
        export_ms = self._clamp_ms_array(export_ms, exporter)
        interval = (header["sampling"] & 0x3FFF).astype(np.uint64)
        sequence = header["sequence"].astype(np.int64)
        stream = ((exporter.astype(np.int64) << 16) | (header["engine_type"].astype(np.int64) << 8)
                  | header["engine_id"])
        for key, at in _streams(stream):
            source = self.exporters[key >> 16]
            stats = self.stats[source]
            stats.lost_flows += self._sequence_run((source, (key >> 8) & 0xFF, key & 0xFF), sequence[at], counts[at])
            stats.records += int(counts[at].sum())
            stats.packets += len(counts[at])
        records = _gather(data, rows, 24, counts, 48).view(V5_RECORD).reshape(-1)
        self._v5_blocks.append(Block(records, counts, export_ms - header["uptime"], export_ms,
                                     np.maximum(interval, 1), exporter))

    def _sequence_run(self, key, sequence: np.ndarray, advance: np.ndarray) -> int:
        """Flows lost in front of packets of one stream (in arrival order);
        leaves the next expected sequence number for the stream."""
        expected = np.empty_like(sequence)
        expected[1:] = (sequence[:-1] + advance[:-1]) & 0xFFFFFFFF
        previous = self._sequence.get(key)
        expected[0] = sequence[0] if previous is None else previous
        gap = (sequence - expected) & 0xFFFFFFFF
        self._sequence[key] = int((sequence[-1] + advance[-1]) & 0xFFFFFFFF)
        return int(gap[gap < 0x80000000].sum())

    def _templated_burst(self, data, lengths, rows, fast_ipfix, exporter) -> None:
        """v9 and IPFIX datagrams in arrival order: runs of IPFIX packets
        of a known fixed-layout template in numpy, the others one by one
        (they may bring templates, or wait for theirs)."""
        fast = fast_ipfix[rows]
        slow_at = np.flatnonzero(~fast).tolist()
        position = 0
        for stop in slow_at + [len(rows)]:
            if position < stop:  # no template can change within this run
                run = rows[position:stop]
                usable = self._usable_templates(data, run, exporter)
                edges = np.flatnonzero(usable[1:] != usable[:-1]) + 1
                for part, ok in zip(np.split(run, edges), usable[np.r_[0, edges]].tolist(), strict=True):
                    if ok:
                        self._ipfix_decode(data, part, exporter)
                    else:  # the full path buffers them until their template comes
                        for row in part.tolist():
                            self.feed(bytes(data[row, :lengths[row]]), self.exporters[exporter[row]])
            if stop < len(rows):
                row = int(rows[stop])
                self.feed(bytes(data[row, :lengths[row]]), self.exporters[exporter[row]])
                position = stop + 1

    def _template_keys(self, data, rows, exporter):
        head = _gather(data, rows, 0, np.ones(len(rows), dtype=np.int64), 20).view(IPFIX_HEAD_DTYPE).reshape(-1)
        exporter = exporter[rows]
        key = (exporter.astype(np.int64) << 48) | (head["set_id"].astype(np.int64) << 32) | head["domain"]
        return head, exporter, key

    def _template_of(self, key: int) -> Template | None:
        """The fixed-layout data template of a packet key, or None."""
        template = self.templates.get((self.exporters[key >> 48], key & 0xFFFFFFFF, 10, (key >> 32) & 0xFFFF))
        if template is None or template.dtype is None or template.is_options or not template.record_length:
            return None
        return template

    def _usable_templates(self, data, rows, exporter) -> np.ndarray:
        """Per packet: is its template known and of a fixed layout?"""
        _, _, key = self._template_keys(data, rows, exporter)
        usable = np.zeros(len(rows), dtype=bool)
        for k, at in _streams(key):
            usable[at] = self._template_of(k) is not None
        return usable

    def _ipfix_decode(self, data, rows, exporter) -> None:
        """IPFIX packets of one data set each, well-formed and with a known
        fixed-layout template: records cut out, counted, sequences checked."""
        head, exporter, key = self._template_keys(data, rows, exporter)
        domain = head["domain"].astype(np.int64)
        templates = {k: self._template_of(k) for k, _ in _streams(key)}
        set_length = head["set_length"].astype(np.int64)
        export_ms = self._clamp_ms_array(head["export"].astype(np.int64) * 1000, exporter)
        sequence = head["sequence"].astype(np.int64)
        counts = np.zeros(len(rows), dtype=np.int64)
        for k, at in _streams(key):
            counts[at] = (set_length[at] - 4) // templates[k].record_length
        for k, at in _streams((exporter.astype(np.int64) << 32) | domain):
            source = self.exporters[k >> 32]
            stats = self.stats[source]
            stats.lost_flows += self._sequence_run((source, k & 0xFFFFFFFF, "ipfix"), sequence[at], counts[at])
            stats.records += int(counts[at].sum())
            stats.packets += len(counts[at])
        positions = np.arange(len(rows))
        for k, at in _streams(key):
            template = templates[k]
            source, dom, tid = self.exporters[k >> 48], k & 0xFFFFFFFF, (k >> 32) & 0xFFFF
            at = positions[at]
            at = at[counts[at] > 0]  # a set of padding only
            if not len(at):
                continue
            records = _gather(data, rows[at], 20, counts[at], template.record_length)
            sampling = np.full(len(at), self.sampling.get((source, dom), 1), dtype=np.uint64)
            self._add_chunk((source, dom, 10, tid), template, Block(
                records.view(template.dtype).reshape(-1), counts[at], export_ms[at], export_ms[at], sampling,
                exporter[at]))

    def _feed_templated(self, data: bytes, exporter: str, stats: ExporterStats, *, ipfix: bool) -> None:
        if ipfix:
            if len(data) < IPFIX_HEADER.size:
                raise Malformed("short header")
            _, length, export_time, sequence, domain = IPFIX_HEADER.unpack_from(data)
            if length < IPFIX_HEADER.size or length > len(data):
                raise Malformed("length does not fit the packet")
            end = length
            pos = IPFIX_HEADER.size
            base_ms = export_ms = self._clamp_ms(export_time * 1000, stats)
        else:
            if len(data) < V9_HEADER.size:
                raise Malformed("short header")
            _, _count, uptime, secs, sequence, domain = V9_HEADER.unpack_from(data)
            end = len(data)
            pos = V9_HEADER.size
            export_ms = self._clamp_ms(secs * 1000, stats)
            base_ms = export_ms - uptime
        if ipfix and end - pos >= 4:
            # Fast path, the usual case: one data set of a known fixed-layout template.
            set_id, set_length = SET_HEADER.unpack_from(data, pos)
            if set_id >= 256 and pos + set_length == end:
                key = (exporter, domain, 10, set_id)
                template = self.templates.get(key)
                if template is not None and template.dtype is not None and not template.is_options:
                    count = (set_length - 4) // template.record_length
                    if count:
                        self._add_chunk(key, template, Chunk(
                            data[pos + 4:pos + 4 + count * template.record_length], count, base_ms, export_ms,
                            self.sampling.get((exporter, domain), 1), self._exporter_index[exporter]))
                    stats.records += count
                    seq_key = (exporter, domain, "ipfix")
                    expected = self._sequence.get(seq_key)
                    if expected is not None and sequence != expected:
                        gap = (sequence - expected) & 0xFFFFFFFF
                        if gap < 0x80000000:
                            stats.lost_flows += gap
                    self._sequence[seq_key] = (sequence + count) & 0xFFFFFFFF
                    return
        if not self._admit_scope(exporter, domain, 10 if ipfix else 9, stats):
            return
        # Parse the whole packet first: a malformed set drops the packet
        # with nothing half-applied.
        new_templates: dict[int, tuple | None] = {}
        withdraw_all = False
        data_sets = []  # (template id, bytes)
        while pos < end:
            if end - pos < 4:
                if ipfix:
                    raise Malformed("truncated set header")
                break  # v9 allows padding at the end of the packet
            set_id, set_length = SET_HEADER.unpack_from(data, pos)
            if set_length < 4 or pos + set_length > end:
                raise Malformed("set length does not fit the packet")
            body = data[pos + 4:pos + set_length]
            pos += set_length
            if (ipfix and set_id == 2) or (not ipfix and set_id == 0):
                withdraw_all |= self._parse_templates(body, ipfix, new_templates)
            elif (ipfix and set_id == 3) or (not ipfix and set_id == 1):
                self._parse_options_templates(body, ipfix, new_templates)
            elif set_id >= 256:
                data_sets.append((set_id, body))
            else:
                raise Malformed(f"reserved set id {set_id}")
        # Commit: templates, then the data sets.
        scope = (exporter, domain, 10 if ipfix else 9)
        if withdraw_all:
            self._withdraw_scope(scope)
        arrived = []
        for template_id, spec in new_templates.items():
            key = scope + (template_id,)
            if spec is None:
                self._withdraw_template(key)
            elif self._store_template(key, spec, stats):
                arrived.append(key)
        records = 0
        for set_id, body in data_sets:
            key = scope + (set_id,)
            sampling = self.sampling.get(scope[:2], 1)
            template = self.templates.get(key)
            if template is None:
                stats.unknown_template_sets += 1
                self._buffer(key, body, base_ms, export_ms, stats)
                records = None
                continue
            n = self._add_data_set(key, template, body, base_ms, export_ms, sampling, exporter, stats)
            if records is not None:
                records += n
        for key in arrived:
            self._replay(key, exporter, stats)
        if ipfix:
            seq_key = scope[:2] + ("ipfix",)
            expected = self._sequence.get(seq_key)
            if expected is not None and sequence != expected:
                gap = (sequence - expected) & 0xFFFFFFFF
                if gap < 0x80000000:
                    stats.lost_flows += gap
            self._sequence[seq_key] = None if records is None else (sequence + records) & 0xFFFFFFFF
        else:
            seq_key = scope[:2] + ("v9",)
            expected = self._sequence.get(seq_key)
            if expected is not None and sequence != expected:
                gap = (sequence - expected) & 0xFFFFFFFF
                if gap < 0x80000000:
                    stats.lost_packets += gap
            self._sequence[seq_key] = (sequence + 1) & 0xFFFFFFFF

    def _parse_templates(self, body: bytes, ipfix: bool, out: dict) -> bool:
        """Template records of one set into `out` as (fields, is options,
        scope count), None = withdrawn; compiled only when stored.
        Returns True for an IPFIX "withdraw all" record."""
        pos = 0
        withdraw_all = False
        while len(body) - pos >= 4:
            template_id, count = SET_HEADER.unpack_from(body, pos)
            pos += 4
            if count == 0:
                if not ipfix:
                    raise Malformed("template without fields")
                if template_id == 2:
                    withdraw_all = True
                elif template_id >= 256:
                    out[template_id] = None
                else:
                    raise Malformed("withdrawal of a reserved template id")
                continue
            if template_id < 256 or count > TEMPLATE_MAX_FIELDS:
                raise Malformed("bad template header")
            fields, pos = self._parse_fields(body, pos, count, ipfix)
            out[template_id] = (fields, False, 0)
        return withdraw_all

    def _parse_options_templates(self, body: bytes, ipfix: bool, out: dict) -> None:
        """Options templates are kept only to skip (and read sampling
        rates from) their data records."""
        pos = 0
        while len(body) - pos >= 6:
            if ipfix:
                template_id, count, scope_count = struct.unpack_from("!HHH", body, pos)
                pos += 6
                if count == 0:  # an options template withdrawal
                    out[template_id] = None
                    pos -= 2
                    continue
                if scope_count == 0 or scope_count > count:
                    raise Malformed("bad options template header")
            else:
                template_id, scope_bytes, option_bytes = struct.unpack_from("!HHH", body, pos)
                pos += 6
                if scope_bytes % 4 or option_bytes % 4:
                    raise Malformed("bad options template header")
                scope_count = scope_bytes // 4
                count = scope_count + option_bytes // 4
                if count == 0:
                    raise Malformed("options template without fields")
            if template_id < 256 or count > TEMPLATE_MAX_FIELDS:
                raise Malformed("bad template header")
            fields, pos = self._parse_fields(body, pos, count, ipfix)
            out[template_id] = (fields, True, scope_count)
            if not ipfix:
                break  # v9: one options template per set, then padding

    @staticmethod
    def _parse_fields(body: bytes, pos: int, count: int, ipfix: bool):
        if len(body) - pos >= 4 * count:
            # the usual case, IANA elements only: all the fields at once
            values = np.frombuffer(body, dtype=">u2", count=2 * count, offset=pos)
            ies, lengths = values[0::2], values[1::2]
            if not (ipfix and (ies & 0x8000).any()):
                if not lengths.all():
                    raise Malformed("zero-length field")
                if not ipfix and (lengths == VARIABLE).any():
                    raise Malformed("variable length in v9")
                return list(zip(ies.tolist(), lengths.tolist(), strict=True)), pos + 4 * count
        fields = []
        for _ in range(count):
            if len(body) - pos < 4:
                raise Malformed("template truncated")
            ie, length = SET_HEADER.unpack_from(body, pos)
            pos += 4
            if ipfix and ie & 0x8000:
                if len(body) - pos < 4:
                    raise Malformed("template truncated")
                enterprise = struct.unpack_from("!I", body, pos)[0]
                pos += 4
                # RFC 5103 reverse elements (biflows) keep the IANA number under PEN 29305;
                # other enterprises' elements are kept apart from IANA ids and not used.
                ie = (REVERSE if enterprise == REVERSE_PEN else 0x10000) | (ie & 0x7FFF)
            if length == 0:
                raise Malformed("zero-length field")
            if length == VARIABLE and not ipfix:
                raise Malformed("variable length in v9")
            fields.append((ie, length))
        return fields, pos

    def _add_data_set(self, key, template: Template, body: bytes, base_ms, export_ms, sampling, exporter, stats) -> int:
        if template.is_options:
            self._read_options(key, template, body)
            return 0
        index = self._exporter_index[exporter]
        if template.dtype is not None:
            size = template.record_length
            count = len(body) // size  # the rest is padding
            if count:
                self._add_chunk(key, template, Chunk(body[:count * size], count, base_ms, export_ms, sampling, index,
                                                     key[2] == 9))
        else:
            records = list(_iter_variable(template, body))
            count = len(records)
            if count:
                self._add_chunk(key, template, Chunk(records, count, base_ms, export_ms, sampling, index))
        stats.records += count
        return count

    def _read_options(self, key, template: Template, body: bytes) -> None:
        """Options data: only a sampling rate is of use (applied to the
        exporter's following data records); the rest is ignored."""
        stats = self.stats[key[0]]
        records = list(_iter_variable(template, body))
        stats.options_records += len(records)
        for values in records:
            rate = _sampling_rate(values)
            if rate:
                self.sampling[key[:2]] = rate

    def _buffer(self, key, body, base_ms, export_ms, stats) -> None:
        now = self.clock()
        self._expire(now)
        queue = self._pending.setdefault(key, [])
        total = sum(len(v) for k, v in self._pending.items() if k[0] == key[0])
        if total >= PENDING_MAX_SETS:
            stats.dropped_sets += 1
            return
        queue.append((now, body, base_ms, export_ms))

    def _replay(self, key, exporter, stats) -> None:
        queue = self._pending.pop(key, None)
        if not queue:
            return
        template = self.templates[key]
        sampling = self.sampling.get(key[:2], 1)
        for _, body, base_ms, export_ms in queue:
            self._add_data_set(key, template, body, base_ms, export_ms, sampling, exporter, stats)

    def _expire(self, now: float) -> None:
        for key in list(self._pending):
            queue = self._pending[key]
            keep = [item for item in queue if now - item[0] < self.pending_seconds]
            if len(keep) != len(queue):
                self.stats[key[0]].dropped_sets += len(queue) - len(keep)
                if keep:
                    self._pending[key] = keep
                else:
                    del self._pending[key]

    def expire_pending(self) -> None:
        """Drop (and count) data sets whose template did not come in time."""
        self._expire(self.clock())

    # --- taking --------------------------------------------------------------

    def take_raw(self) -> tuple:
        """Hand over the raw records gathered since the last call (cheap:
        the decoding itself is `decode()`, which may run in another thread)."""
        raw = (self._v5, self._chunks, self._v5_blocks)
        self._v5, self._chunks, self._v5_blocks = [], {}, []
        return raw

    def take(self, rejected: dict | None = None) -> list[Flows]:
        """Decode everything gathered since the last call."""
        return decode(self.take_raw(), max_sampling_rate=self.limits.max_sampling_rate, rejected=rejected)


def decode(raw, *, max_sampling_rate: int = Limits.max_sampling_rate, rejected: dict | None = None) -> list[Flows]:
    """Raw records → one `Flows` per address family (usually one or two).

    A record sampled at more than `max_sampling_rate`, or whose bytes ×
    sampling rate exceed MAX_RECORD_OCTETS (an overflow of 64 bits
    included), is dropped and counted per exporter index in `rejected`;
    the other records of its packet and batch count as usual."""
    v5, chunks, v5_blocks = raw
    v4, v6 = [], []
    if v5:
        v5_blocks = v5_blocks + [_v5_block(v5)]
    if v5_blocks:
        v4.append(_decode_v5(_merge(v5_blocks), max_sampling_rate).without_bad(rejected))
    for layout, items in chunks.values():
        if layout.dtype is not None:
            flows = _decode_fixed(layout, _fixed_block(layout, items), max_sampling_rate)
        else:
            flows = _decode_variable(layout, items, max_sampling_rate)
        if flows is not None:
            flows = flows.without_bad(rejected)
            if len(flows):
                (v6 if flows.v6 else v4).append(flows)
    out = []
    for group in (v4, v6):
        if len(group) == 1:
            out.append(group[0])
        elif group:
            out.append(Flows(*(np.concatenate([getattr(f, name) for f in group])
                               for name in ("src", "dst", "octets", "sport", "dport", "end", "exporter")),
                             v6=group[0].v6))
    return out


def _sampling_rate(values: dict) -> int:
    for ie in SAMPLING_IES:
        rate = values.get(ie)
        if rate:
            if ie == IE_SAMPLING_PACKET_INTERVAL and values.get(IE_SAMPLING_PACKET_SPACE):
                return (rate + values[IE_SAMPLING_PACKET_SPACE]) // rate
            return int(rate)
    return 0


def _end_seconds(end_ms: np.ndarray, export_ms: np.ndarray) -> np.ndarray:
    """Flow end in unix seconds; an end more than a day away from the
    export time (a broken exporter clock) is replaced by the export time."""
    bad = np.abs(end_ms - export_ms) > DAY_MS
    if bad.any():
        end_ms = np.where(bad, export_ms, end_ms)
    return end_ms // 1000


def _scaled(octets: np.ndarray, rate: np.ndarray, max_rate: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(octets × rate, the records to drop or None): a rate above
    `max_rate`, or a product above MAX_RECORD_OCTETS (checked before
    multiplying, so a 64-bit overflow never wraps into a small number)."""
    rate = np.maximum(rate, 1)
    bad = (rate > np.uint64(max_rate)) | (octets > np.uint64(MAX_RECORD_OCTETS) // rate)
    if bad.any():
        return np.where(bad, np.uint64(0), octets) * np.where(bad, np.uint64(1), rate), bad
    return octets * rate, None


def _sampled(octets: np.ndarray, block: Block, max_rate: int) -> tuple[np.ndarray, np.ndarray | None]:
    if (block.sampling == 1).all():
        if octets.dtype.itemsize <= 4 or not (octets > np.uint64(MAX_RECORD_OCTETS)).any():
            return octets, None
    return _scaled(octets, block.per_record("sampling"), max_rate)


def _v5_block(items: list) -> Block:
    """v5 packets fed one by one → a Block."""
    records = np.frombuffer(b"".join([item[0][24:24 + item[1] * 48] for item in items]), dtype=V5_RECORD)
    columns = list(zip(*[item[1:] for item in items], strict=True))
    return Block(records, np.array(columns[0], dtype=np.int64), np.array(columns[1], dtype=np.int64),
                 np.array(columns[2], dtype=np.int64), np.array(columns[3], dtype=np.uint64),
                 np.array(columns[4], dtype=np.int32))


def _fixed_block(template: Template, items: list) -> Block:
    """Chunks (fed one by one) and Blocks (from bursts) of one fixed
    layout → one Block."""
    blocks = [item for item in items if isinstance(item, Block)]
    chunks = [item for item in items if not isinstance(item, Block)]
    if chunks:
        blocks.append(Block(
            np.frombuffer(b"".join(c.data for c in chunks), dtype=template.dtype),
            np.array([c.count for c in chunks], dtype=np.int64), np.array([c.base_ms for c in chunks], dtype=np.int64),
            np.array([c.export_ms for c in chunks], dtype=np.int64),
            np.array([c.sampling for c in chunks], dtype=np.uint64),
            np.array([c.exporter for c in chunks], dtype=np.int32), chunks[0].uptime_based))
    return _merge(blocks)


def _decode_v5(block: Block, max_rate: int = Limits.max_sampling_rate) -> Flows:
    records = block.records
    end = _end_seconds(block.per_record("base_ms") + records["last"].astype(np.int64), block.per_record("export_ms"))
    octets, bad = _sampled(records["octets"].astype(np.uint64), block, max_rate)
    return Flows(records["src"].astype(np.uint32), records["dst"].astype(np.uint32), octets,
                 records["sport"].astype(np.int32), records["dport"].astype(np.int32), end,
                 block.per_record("exporter"), bad=bad)


def _decode_fixed(template: Template, block: Block, max_rate: int = Limits.max_sampling_rate) -> Flows | None:
    names = template.dtype.names
    records = block.records
    n = len(records)
    if "f8" in names and "f12" in names:
        src, dst, v6 = records["f8"].astype(np.uint32), records["f12"].astype(np.uint32), False
    elif "f27" in names and "f28" in names:
        src, dst, v6 = records["f27"].astype(np.uint64), records["f28"].astype(np.uint64), True
    else:
        return None  # a template without addresses cannot be matched
    if "f1" not in names:
        return None
    octets = _as_uint(records["f1"])
    per_record_rate = any(f"f{ie}" in names for ie in SAMPLING_IES)
    if per_record_rate:
        octets, bad = _scaled(octets, _record_sampling(records, names), max_rate)
    else:
        octets, bad = _sampled(octets, block, max_rate)
    zeros = np.zeros(n, dtype=np.int32)
    sport = _as_uint(records["f7"]).astype(np.int32) if "f7" in names else zeros
    dport = _as_uint(records["f11"]).astype(np.int32) if "f11" in names else zeros
    export = block.per_record("export_ms")
    if template.time_mode == "ms":
        end_ms = _as_uint(records["f153"]).astype(np.int64)
    elif template.time_mode == "s":
        end_ms = _as_uint(records["f151"]).astype(np.int64) * 1000
    elif template.time_mode == "uptime" and "f160" in names:
        end_ms = _as_uint(records["f160"]).astype(np.int64) + _as_uint(records["f21"]).astype(np.int64)
    elif template.time_mode == "uptime" and block.uptime_based:  # v9
        end_ms = block.per_record("base_ms") + _as_uint(records["f21"]).astype(np.int64)
    else:
        end_ms = export
    end, exporters = _end_seconds(end_ms, export), block.per_record("exporter")
    flows = Flows(src, dst, octets, sport, dport, end, exporters, v6=v6, bad=bad)
    reverse_name = f"f{IE_REVERSE_OCTETS}"
    if reverse_name in names:  # a biflow: the reverse direction's bytes go from dst to src
        reverse = _as_uint(records[reverse_name])
        if per_record_rate:
            reverse, reverse_bad = _scaled(reverse, _record_sampling(records, names), max_rate)
        else:
            reverse, reverse_bad = _sampled(reverse, block, max_rate)
        keep = reverse > 0
        if reverse_bad is not None:
            keep |= reverse_bad
        flows = Flows(*(np.concatenate([a, b[keep]]) for a, b in (
            (src, dst), (dst, src), (octets, reverse), (sport, dport), (dport, sport), (end, end),
            (exporters, exporters))), v6=v6)
        if bad is not None or reverse_bad is not None:
            zeros = np.zeros(n, dtype=bool)
            flows.bad = np.concatenate([zeros if bad is None else bad,
                                        (zeros if reverse_bad is None else reverse_bad)[keep]])
    return flows


def _record_sampling(records, names) -> np.ndarray:
    rate = np.zeros(len(records), dtype=np.uint64)
    for ie in SAMPLING_IES:
        if f"f{ie}" in names:
            column = _as_uint(records[f"f{ie}"])
            rate = np.where(rate == 0, column, rate)
    return np.maximum(rate, 1)


def _iter_variable(template: Template, body: bytes):
    """Per-record path for templates with variable-length fields (and for
    options records): yields {ie: value} with integers for numbers and
    bytes for addresses."""
    pos = 0
    end = len(body)
    fields = template.fields
    minimum = sum(1 if length == VARIABLE else length for _, length in fields)
    while end - pos >= minimum and minimum > 0:
        values = {}
        for ie, length in fields:
            if length == VARIABLE:
                if pos >= end:
                    raise Malformed("truncated variable-length field")
                length = body[pos]
                pos += 1
                if length == 255:
                    if end - pos < 2:
                        raise Malformed("truncated variable-length field")
                    length = (body[pos] << 8) | body[pos + 1]
                    pos += 2
            if pos + length > end:
                raise Malformed("truncated record")
            raw = body[pos:pos + length]
            pos += length
            if ie in (IE_SRC_V4, IE_DST_V4, IE_SRC_V6, IE_DST_V6):
                values[ie] = raw
            elif length <= 8:
                values.setdefault(ie, int.from_bytes(raw, "big"))
        yield values


def _decode_variable(template: Template, items: list, max_rate: int = Limits.max_sampling_rate) -> Flows | None:
    src, dst, octets, sport, dport, end, exporter = [], [], [], [], [], [], []
    bad = []
    v6 = None
    for chunk in items:
        for values in chunk.data:
            if IE_SRC_V4 in values and IE_DST_V4 in values and len(values[IE_SRC_V4]) == 4:
                s, d, is_v6 = int.from_bytes(values[IE_SRC_V4], "big"), int.from_bytes(values[IE_DST_V4], "big"), False
            elif IE_SRC_V6 in values and IE_DST_V6 in values and len(values[IE_SRC_V6]) == 16:
                s, d, is_v6 = values[IE_SRC_V6], values[IE_DST_V6], True
            else:
                continue
            if v6 is None:
                v6 = is_v6
            if is_v6 != v6 or IE_OCTETS not in values:
                continue
            rate = _sampling_rate(values) or chunk.sampling
            total = values[IE_OCTETS] * rate
            source_port, destination_port = values.get(IE_SRC_PORT, 0), values.get(IE_DST_PORT, 0)
            is_bad = (rate > max_rate or total > MAX_RECORD_OCTETS or source_port > 0xFFFF
                      or destination_port > 0xFFFF)
            bad.append(is_bad)
            src.append(s)
            dst.append(d)
            octets.append(0 if is_bad else total)
            sport.append(0 if is_bad else source_port)
            dport.append(0 if is_bad else destination_port)
            if IE_END_MILLISECONDS in values:
                end_ms = values[IE_END_MILLISECONDS]
            elif IE_END_SECONDS in values:
                end_ms = values[IE_END_SECONDS] * 1000
            else:
                end_ms = chunk.export_ms
            end.append(end_ms if abs(end_ms - chunk.export_ms) <= DAY_MS else chunk.export_ms)
            exporter.append(chunk.exporter)
    if not octets:
        return None
    if v6:
        src_a = np.frombuffer(b"".join(src), dtype=">u8").reshape(-1, 2).astype(np.uint64)
        dst_a = np.frombuffer(b"".join(dst), dtype=">u8").reshape(-1, 2).astype(np.uint64)
    else:
        src_a, dst_a = np.array(src, dtype=np.uint32), np.array(dst, dtype=np.uint32)
    return Flows(src_a, dst_a, np.array(octets, dtype=np.uint64), np.array(sport, dtype=np.int32),
                 np.array(dport, dtype=np.int32), np.array(end, dtype=np.int64) // 1000,
                 np.array(exporter, dtype=np.int32), v6=bool(v6), bad=np.array(bad, dtype=bool) if any(bad) else None)
