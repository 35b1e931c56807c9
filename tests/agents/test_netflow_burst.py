"""The batched receive path: `Decoder.feed_burst()` (many datagrams as the
rows of one receive buffer, decoded in numpy) must count exactly what
`Decoder.feed()` counts one datagram at a time — templates, sequence
gaps, malformed and truncated datagrams included — and
`MmsgReceiver.receive_burst()` must hand real UDP datagrams over as such
a buffer."""

from __future__ import annotations

import random
import socket
import struct
import time

import numpy as np
import pytest

from agents.netflow.mmsg import MmsgReceiver
from agents.netflow.protocol import Decoder
from tests.agents.test_netflow_protocol import FIELDS4, FIELDS6, build_ipfix, build_v5, build_v9, data_set, template_set

STAT_FIELDS = ("packets", "records", "malformed", "unknown_template_sets", "dropped_sets", "options_records",
               "lost_flows", "lost_packets")


def as_rows(datagrams, slot=2048):
    rows = np.zeros((len(datagrams), slot), dtype=np.uint8)
    rows[:] = 0xA5  # stale bytes from earlier datagrams must not matter
    for i, datagram in enumerate(datagrams):
        rows[i, :len(datagram)] = np.frombuffer(datagram, dtype=np.uint8)
    return rows, np.array([len(d) for d in datagrams], dtype=np.uint32)


def feed_burst(decoder, datagrams, exporters, truncated=None):
    sources = sorted(set(exporters))
    rows, lengths = as_rows(datagrams)
    source_of = np.array([sources.index(e) for e in exporters])
    decoder.feed_burst(rows, lengths, sources, source_of if len(sources) > 1 else None,
                       None if truncated is None else np.array(truncated, dtype=bool))


def stats_of(decoder):
    return {name: tuple(getattr(stats, f) for f in STAT_FIELDS) for name, stats in decoder.stats.items()}


def records_of(decoder):
    """Every decoded record with its exporter's address, sorted."""
    out = []
    for flows in decoder.take():
        for i in range(len(flows)):
            out.append((str(flows.src[i].tolist()), str(flows.dst[i].tolist()), int(flows.octets[i]),
                        int(flows.sport[i]), int(flows.dport[i]), int(flows.end[i]),
                        decoder.exporters[int(flows.exporter[i])]))
    return sorted(out)


def stream(rng: random.Random, n: int):
    """A mixed, partly broken export stream: [(datagram, exporter, truncated)]."""
    flow4 = [("10.0.0.1", "8.8.8.8", 1000, 1, 2), ("8.8.8.8", "10.0.0.2", 70, 53, 9)]
    flow6 = [("2001:db8::1", "2001:db8::2", 7, 1, 2)]
    options_body = struct.pack("!HHH", 400, 2, 1) + struct.pack("!HHHH", 149, 4, 34, 4)
    options = struct.pack("!HH", 3, 4 + len(options_body)) + options_body
    sequences: dict = {}
    out = []
    for i in range(n):
        exporter = rng.choice(["192.0.2.1", "192.0.2.2", "2001:db8::99"])
        kind = rng.random()
        key = (exporter, kind < 0.45)
        sequence = sequences.get(key, 0)
        if rng.random() < 0.05:
            sequence += rng.randrange(1, 50)  # a gap
        if kind < 0.45:
            count = rng.randrange(1, 31)
            packet = build_v5([rng.choice(flow4)] * count, sequence=sequence, secs=1_790_000_000 + i,
                              sampling=rng.choice([0, 0, 0, (1 << 14) | 10]), engine=(0, rng.choice([0, 0, 3])))
            sequences[key] = sequence + count
        elif kind < 0.85:
            count = rng.randrange(0, 20)
            template_id = rng.choice([300, 300, 300, 301, 302])
            flows = flow6 if template_id == 301 else flow4
            packet = build_ipfix([data_set(template_id, [rng.choice(flows)] * count, pad=rng.choice([0, 0, 3]))],
                                 sequence=sequence, domain=rng.choice([1, 1, 2]))
            sequences[key] = sequence + count
        elif kind < 0.92:  # templates, refreshes, withdrawals, options with a sampling rate
            template_id = rng.choice([300, 301, 302])
            fields = rng.choice([FIELDS4, FIELDS6, [(1, 8), (8, 4), (12, 4)]])
            sets = [template_set(2, template_id, fields)]
            if rng.random() < 0.2:
                sets = [struct.pack("!HHHH", 2, 8, template_id, 0)]  # withdrawal
            if rng.random() < 0.2:
                sets += [options, struct.pack("!HHII", 400, 12, 1, rng.choice([1, 4]))]
            packet = build_ipfix(sets, sequence=sequence, domain=rng.choice([1, 2]))
        elif kind < 0.95:
            packet = build_v9([template_set(0, 256, FIELDS4), data_set(256, flow4)], sequence=sequence)
        else:
            packet = rng.choice([b"", b"\x00", b"\x00\x05\x00", bytes(range(40)), b"\x00\x0a" + b"\xff" * 40,
                                 build_v5(flow4, count=9), build_ipfix([template_set(2, 300, [(8, 0)])])])
        if rng.random() < 0.1:  # a flipped byte or a cut
            packet = bytearray(packet)
            if packet and rng.random() < 0.5:
                packet[rng.randrange(len(packet))] = rng.randrange(256)
            else:
                packet = packet[:rng.randrange(len(packet) + 1)]
            packet = bytes(packet)
        out.append((packet, exporter, rng.random() < 0.02))
    return out


@pytest.mark.parametrize("seed, few", [(1, 1), (2, 1), (3, 24), (4, 24)])
def test_a_burst_counts_exactly_what_one_by_one_feeding_counts(seed, few):
    """`few`: bursts shorter than this are fed one datagram at a time (1: never)."""
    rng = random.Random(seed)
    datagrams = stream(rng, 1500)
    clock = lambda: 1000.0  # noqa: E731 - pending data sets never expire here
    single, batched = Decoder(clock=clock), Decoder(clock=clock, few=few)
    for packet, exporter, truncated in datagrams:
        if truncated:  # what the listener does with a datagram cut short by its buffer
            stats = single.exporter_stats(exporter)
            stats.packets += 1
            stats.malformed += 1
        else:
            single.feed(packet, exporter)
    position = 0
    while position < len(datagrams):
        size = rng.choice([1, 2, 7, 64, 256])
        part = datagrams[position:position + size]
        feed_burst(batched, [p for p, _, _ in part], [e for _, e, _ in part], [t for _, _, t in part])
        position += size
    assert stats_of(batched) == stats_of(single)
    assert sum(s.malformed for s in single.stats.values()) > 20  # the stream did test the bad cases
    assert sum(s.lost_flows for s in single.stats.values()) > 0
    assert records_of(batched) == records_of(single)


def test_a_malformed_datagram_inside_a_burst_of_valid_ones_is_counted_and_the_rest_decoded():
    decoder = Decoder(few=1)
    flow = ("10.0.0.1", "8.8.8.8", 100, 1, 2)
    datagrams = [build_ipfix([template_set(2, 300, FIELDS4)])]
    datagrams += [build_v5([flow] * 30, sequence=i * 30) for i in range(10)]
    datagrams += [bytes(range(256)), build_v5([flow], count=20, sequence=300), b"\x00\x05"]
    datagrams += [build_v5([flow] * 30, sequence=300 + i * 30) for i in range(10)]
    datagrams += [build_ipfix([data_set(300, [flow] * 5)], sequence=i * 5) for i in range(4)]
    datagrams += [build_ipfix([data_set(300, [flow] * 5)])[:-3]]  # a set cut short
    datagrams += [build_ipfix([data_set(300, [flow] * 5)], sequence=20 + i * 5) for i in range(4)]
    truncated = [False] * len(datagrams)
    truncated[5] = True  # longer than its receive slot
    feed_burst(decoder, datagrams, ["e"] * len(datagrams), truncated)
    stats = decoder.stats["e"]
    assert stats.packets == len(datagrams)
    assert stats.malformed == 5
    assert stats.records == 19 * 30 + 8 * 5
    assert stats.lost_flows == 30  # the truncated v5 datagram's flows are missing from the sequence
    assert sum(int(f.octets.sum()) for f in decoder.take()) == (19 * 30 + 8 * 5) * 100


def test_templates_inside_a_burst_apply_in_arrival_order():
    decoder = Decoder(few=1)
    first = ("10.0.0.1", "8.8.8.8", 10, 1, 2)
    refreshed = [(1, 4), (8, 4), (12, 4)]  # the same id, another layout: octets, src, dst
    record = struct.pack("!III", 77, 0x0A000002, 0x08080808)
    datagrams = [
        build_ipfix([data_set(300, [first])], sequence=0),  # before its template: buffered
        build_ipfix([template_set(2, 300, FIELDS4)], sequence=1),  # arrives: the buffered set is counted
        build_ipfix([data_set(300, [first] * 2)], sequence=1),
        build_ipfix([template_set(2, 300, refreshed)], sequence=3),
        build_ipfix([struct.pack("!HH", 300, 4 + len(record)) + record], sequence=3),
        build_ipfix([struct.pack("!HHHH", 2, 8, 300, 0)], sequence=4),  # withdrawn
        build_ipfix([data_set(300, [first])], sequence=4),  # unknown again: buffered
    ]
    feed_burst(decoder, datagrams, ["e"] * len(datagrams))
    assert sorted(int(o) for f in decoder.take() for o in f.octets) == [10, 10, 10, 77]
    stats = decoder.stats["e"]
    assert (stats.packets, stats.records, stats.unknown_template_sets, stats.malformed) == (7, 4, 2, 0)


def test_a_burst_from_several_exporters_keeps_their_counters_and_templates_apart():
    decoder = Decoder(few=1)
    flow = ("10.0.0.1", "8.8.8.8", 5, 1, 2)
    datagrams = [build_ipfix([template_set(2, 300, FIELDS4)]), build_ipfix([data_set(300, [flow] * 3)]),
                 build_ipfix([data_set(300, [flow] * 2)], sequence=3), build_v5([flow] * 4, sequence=0),
                 build_v5([flow] * 4, sequence=10)]
    exporters = ["a", "b", "a", "a", "b"]
    feed_burst(decoder, datagrams, exporters)
    a, b = decoder.stats["a"], decoder.stats["b"]
    assert (a.packets, a.records, a.lost_flows, a.unknown_template_sets) == (3, 6, 3, 0)  # IPFIX 0 → 3 expected 0
    assert (b.packets, b.records, b.unknown_template_sets) == (2, 4, 1)
    by_exporter: dict = {}
    for flows in decoder.take():
        for index, octets in zip(flows.exporter.tolist(), flows.octets.tolist(), strict=True):
            name = decoder.exporters[index]
            by_exporter[name] = by_exporter.get(name, 0) + octets
    assert by_exporter == {"a": 30, "b": 20}


def test_receive_burst_reads_real_datagrams_into_rows():
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.setblocking(False)
    receiver = MmsgReceiver(listener, count=16, slot=512)
    senders = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    senders[1].bind(("127.0.0.2", 0))  # another exporter (the whole 127/8 is loopback)
    third = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # same address as senders[0], another port
    flow = ("10.0.0.1", "8.8.8.8", 9, 1, 2)
    try:
        with pytest.raises(BlockingIOError):
            receiver.receive_burst()
        target = listener.getsockname()
        sent = [(senders[0], build_v5([flow] * 2)), (senders[1], build_v5([flow] * 3)),
                (third, build_v5([flow] * 1, sequence=2)), (senders[0], build_v5([flow] * 30, sequence=2))]
        for sender, packet in sent:
            sender.sendto(packet, target)
        time.sleep(0.2)
        burst = receiver.receive_burst()
        assert len(burst) == 4
        assert burst.lengths.tolist() == [len(p) for _, p in sent[:3]] + [512]  # cut to its slot
        assert sorted(burst.sources) == ["127.0.0.1", "127.0.0.2"]
        assert [burst.sources[i] for i in burst.source_of] == ["127.0.0.1", "127.0.0.2", "127.0.0.1", "127.0.0.1"]
        assert burst.truncated.tolist() == [False, False, False, True]  # 1464 bytes in a 512-byte slot
        assert bytes(burst.data[1, :burst.lengths[1]]) == sent[1][1]
        decoder = Decoder(few=1)
        burst.feed(decoder)
        assert decoder.stats["127.0.0.1"].records == 3 and decoder.stats["127.0.0.1"].malformed == 1
        assert decoder.stats["127.0.0.2"].records == 3
        assert sum(int(f.octets.sum()) for f in decoder.take()) == 6 * 9
    finally:
        for sock in senders + [third, listener]:
            sock.close()


@pytest.mark.parametrize("rows", [1, 2, 5])
def test_records_are_copied_out_of_the_receive_buffer(rows):
    """The receiver reuses its buffer for the next burst while the matching
    thread still decodes the last one: nothing may point into it."""
    decoder = Decoder(few=1)
    flow = ("10.0.0.1", "8.8.8.8", 1234, 1, 2)
    decoder.feed(build_ipfix([template_set(2, 300, FIELDS4)]), "e")
    for datagrams in ([build_v5([flow] * 30, sequence=i * 30) for i in range(rows)],
                      [build_ipfix([data_set(300, [flow] * 3)], sequence=i * 3) for i in range(rows)]):
        buffer, lengths = as_rows(datagrams)
        decoder.feed_burst(buffer, lengths, ["e"])
        buffer[:] = 0xFF  # the next recvmmsg call
    assert sum(int(f.octets.sum()) for f in decoder.take()) == rows * 33 * 1234


def test_a_flood_of_data_before_its_template_is_buffered_up_to_the_cap_and_cheap():
    """After a restart an exporter may send thousands of data sets before
    it repeats its template: bounded buffering, each drop counted, and no
    per-datagram numpy pass over the rest of the burst."""
    decoder = Decoder(clock=lambda: 1000.0)
    flow = ("10.0.0.1", "8.8.8.8", 10, 1, 2)
    datagrams = [build_ipfix([data_set(300, [flow] * 30)], sequence=i * 30) for i in range(256)]
    rows, lengths = as_rows(datagrams)
    started = time.process_time()
    for _ in range(20):
        decoder.feed_burst(rows, lengths, ["e"])
    assert time.process_time() - started < 2.0  # ≈ 5,000 datagrams
    stats = decoder.stats["e"]
    assert (stats.packets, stats.unknown_template_sets, stats.records) == (5120, 5120, 0)
    assert stats.dropped_sets == 5120 - 256  # PENDING_MAX_SETS wait for the template
    feed_burst(decoder, [build_ipfix([template_set(2, 300, FIELDS4)])], ["e"])
    assert sum(int(f.octets.sum()) for f in decoder.take()) == 256 * 30 * 10
