"""NetFlow v5/v9/IPFIX decoding (agents.netflow.protocol), with packets
built by hand here from the formats' field layouts."""

from __future__ import annotations

import ipaddress
import struct

import numpy as np
import pytest

from agents.netflow.protocol import Decoder

EXPORT_TIME = 1_790_000_000  # 2026-09-21 14:13:20 UTC


def ip4(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def build_v5(flows, *, sequence=0, secs=EXPORT_TIME, uptime=100_000, sampling=0, engine=(0, 0), count=None):
    """flows: [(src, dst, octets, sport, dport)] (addresses as text)."""
    header = struct.pack("!HHIIIIBBH", 5, len(flows) if count is None else count, uptime, secs, 0, sequence,
                         engine[0], engine[1], sampling)
    body = b"".join(
        struct.pack("!IIIHHIIIIHHBBBBHHBBH", ip4(s), ip4(d), 0, 1, 2, 1, octets, uptime - 5000, uptime - 1000,
                    sport, dport, 0, 0, 6, 0, 0, 0, 24, 24, 0)
        for s, d, octets, sport, dport in flows
    )
    return header + body


# A v9/IPFIX template: src v4, dst v4, src port, dst port, proto, octets (8), packets (4)
FIELDS4 = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 8), (2, 4)]
FIELDS6 = [(27, 16), (28, 16), (7, 2), (11, 2), (4, 1), (1, 8), (2, 4)]


def template_set(set_id, template_id, fields):
    body = struct.pack("!HH", template_id, len(fields)) + b"".join(struct.pack("!HH", ie, n) for ie, n in fields)
    return struct.pack("!HH", set_id, 4 + len(body)) + body


def data_set(template_id, flows, *, pad=0):
    body = b""
    for s, d, octets, sport, dport in flows:
        if ":" in s:
            addresses = ipaddress.IPv6Address(s).packed + ipaddress.IPv6Address(d).packed
        else:
            addresses = struct.pack("!II", ip4(s), ip4(d))
        body += addresses + struct.pack("!HHBQI", sport, dport, 6, octets, 1)
    body += b"\0" * pad
    return struct.pack("!HH", template_id, 4 + len(body)) + body


def build_v9(sets, *, sequence=0, source_id=1, secs=EXPORT_TIME, uptime=100_000):
    return struct.pack("!HHIIII", 9, len(sets), uptime, secs, sequence, source_id) + b"".join(sets)


def build_ipfix(sets, *, sequence=0, domain=1, export_time=EXPORT_TIME):
    body = b"".join(sets)
    return struct.pack("!HHIII", 10, 16 + len(body), export_time, sequence, domain) + body


def totals(decoder):
    out = {}
    for flows in decoder.take():
        for i in range(len(flows)):
            key = (flows.src[i].tolist(), flows.dst[i].tolist())
            out[str(key)] = out.get(str(key), 0) + int(flows.octets[i])
    return out


def all_octets(decoder):
    return sum(int(f.octets.sum()) for f in decoder.take())


def test_v5_records_are_decoded_with_ports_and_flow_end_time():
    decoder = Decoder()
    assert decoder.feed(build_v5([("10.0.0.1", "8.8.8.8", 1000, 1234, 53), ("8.8.8.8", "10.0.0.1", 3000, 53, 1234)]),
                        "192.0.2.1")
    [flows] = decoder.take()
    assert flows.src.tolist() == [ip4("10.0.0.1"), ip4("8.8.8.8")]
    assert flows.octets.tolist() == [1000, 3000]
    assert flows.sport.tolist() == [1234, 53]
    # end = export time - (uptime - last) = EXPORT_TIME - 1 s
    assert flows.end.tolist() == [EXPORT_TIME - 1, EXPORT_TIME - 1]
    assert decoder.stats["192.0.2.1"].records == 2


def test_v5_sampling_interval_multiplies_bytes():
    decoder = Decoder()
    decoder.feed(build_v5([("10.0.0.1", "8.8.8.8", 1000, 1, 2)], sampling=(1 << 14) | 100), "e")
    assert all_octets(decoder) == 100_000


def test_v5_sequence_gap_is_counted_as_lost_flows():
    decoder = Decoder()
    decoder.feed(build_v5([("10.0.0.1", "8.8.8.8", 1, 1, 2)] * 3, sequence=100), "e")
    decoder.feed(build_v5([("10.0.0.1", "8.8.8.8", 1, 1, 2)], sequence=103), "e")  # in order
    decoder.feed(build_v5([("10.0.0.1", "8.8.8.8", 1, 1, 2)], sequence=110), "e")  # 6 flows lost
    assert decoder.stats["e"].lost_flows == 6


def test_v9_template_then_data_in_one_packet_and_later_packets():
    decoder = Decoder()
    decoder.feed(build_v9([template_set(0, 256, FIELDS4), data_set(256, [("10.0.0.1", "1.1.1.1", 500, 1, 2)])]), "e")
    decoder.feed(build_v9([data_set(256, [("1.1.1.1", "10.0.0.1", 700, 2, 1)], pad=3)], sequence=1), "e")
    assert all_octets(decoder) == 1200
    assert decoder.stats["e"].records == 2
    assert decoder.stats["e"].lost_packets == 0


def test_v9_sequence_counts_packets():
    decoder = Decoder()
    decoder.feed(build_v9([template_set(0, 256, FIELDS4)], sequence=5), "e")
    decoder.feed(build_v9([data_set(256, [("10.0.0.1", "1.1.1.1", 1, 1, 2)])], sequence=9), "e")
    assert decoder.stats["e"].lost_packets == 3


def test_templates_are_per_exporter_and_source_id():
    decoder = Decoder()
    decoder.feed(build_v9([template_set(0, 256, FIELDS4)], source_id=1), "a")
    decoder.feed(build_v9([data_set(256, [("10.0.0.1", "1.1.1.1", 5, 1, 2)])], source_id=2), "a")
    decoder.feed(build_v9([data_set(256, [("10.0.0.1", "1.1.1.1", 5, 1, 2)])], source_id=1), "b")
    assert all_octets(decoder) == 0
    assert decoder.stats["a"].unknown_template_sets == 1
    assert decoder.stats["b"].unknown_template_sets == 1


def test_ipfix_ipv4_and_ipv6_records():
    decoder = Decoder()
    decoder.feed(build_ipfix([template_set(2, 300, FIELDS4), template_set(2, 301, FIELDS6),
                              data_set(300, [("10.0.0.1", "1.1.1.1", 10, 1, 2)]),
                              data_set(301, [("2001:db8::1", "2001:db8:1::5", 20, 1, 2)])]), "e")
    flows = {f.v6: f for f in decoder.take()}
    assert flows[False].octets.tolist() == [10]
    assert flows[True].octets.tolist() == [20]
    hi, lo = flows[True].src[0].tolist()
    assert ipaddress.IPv6Address((hi << 64) | lo) == ipaddress.IPv6Address("2001:db8::1")


def test_ipfix_data_before_template_is_buffered_then_counted():
    decoder = Decoder()
    decoder.feed(build_ipfix([data_set(300, [("10.0.0.1", "1.1.1.1", 10, 1, 2)])]), "e")
    assert decoder.stats["e"].unknown_template_sets == 1
    decoder.feed(build_ipfix([template_set(2, 300, FIELDS4)], sequence=1), "e")
    assert all_octets(decoder) == 10
    assert decoder.stats["e"].dropped_sets == 0


def test_data_whose_template_never_comes_is_dropped_and_counted():
    now = [0.0]
    decoder = Decoder(pending_seconds=5, clock=lambda: now[0])
    decoder.feed(build_ipfix([data_set(300, [("10.0.0.1", "1.1.1.1", 10, 1, 2)])]), "e")
    now[0] = 6.0
    decoder.expire_pending()
    decoder.feed(build_ipfix([template_set(2, 300, FIELDS4)], sequence=1), "e")
    assert all_octets(decoder) == 0
    assert decoder.stats["e"].dropped_sets == 1


def test_ipfix_template_withdrawal_and_refresh():
    decoder = Decoder()
    decoder.feed(build_ipfix([template_set(2, 300, FIELDS4)]), "e")
    withdrawal = struct.pack("!HHHH", 2, 8, 300, 0)
    decoder.feed(build_ipfix([withdrawal]), "e")
    decoder.feed(build_ipfix([data_set(300, [("10.0.0.1", "1.1.1.1", 10, 1, 2)])]), "e")
    assert all_octets(decoder) == 0
    # refreshed with a different layout (ports swapped order)
    decoder.feed(build_ipfix([template_set(2, 300, FIELDS4)]), "e")
    assert all_octets(decoder) == 10  # the buffered set is replayed


def test_ipfix_sequence_gap_counts_data_records():
    decoder = Decoder()
    decoder.feed(build_ipfix([template_set(2, 300, FIELDS4),
                              data_set(300, [("10.0.0.1", "1.1.1.1", 10, 1, 2)] * 4)], sequence=0), "e")
    decoder.feed(build_ipfix([data_set(300, [("10.0.0.1", "1.1.1.1", 10, 1, 2)])], sequence=4), "e")
    decoder.feed(build_ipfix([data_set(300, [("10.0.0.1", "1.1.1.1", 10, 1, 2)])], sequence=12), "e")
    assert decoder.stats["e"].lost_flows == 7


def test_options_template_is_skipped_and_sampling_rate_applied():
    decoder = Decoder()
    # IPFIX options template 400: scope observationDomainId (149, 4), option samplingInterval (34, 4)
    body = struct.pack("!HHH", 400, 2, 1) + struct.pack("!HHHH", 149, 4, 34, 4)
    options_template = struct.pack("!HH", 3, 4 + len(body)) + body
    options_data = struct.pack("!HHII", 400, 12, 1, 10)
    decoder.feed(build_ipfix([options_template, options_data, template_set(2, 300, FIELDS4),
                              data_set(300, [("10.0.0.1", "1.1.1.1", 7, 1, 2)])]), "e")
    assert all_octets(decoder) == 70
    assert decoder.stats["e"].options_records == 1
    assert decoder.stats["e"].malformed == 0


def test_variable_length_template_uses_the_slow_path():
    decoder = Decoder()
    fields = [(8, 4), (12, 4), (82, 65535), (1, 4)]  # interfaceName is variable
    record = struct.pack("!II", ip4("10.0.0.1"), ip4("1.1.1.1")) + b"\x03eth" + struct.pack("!I", 99)
    record2 = struct.pack("!II", ip4("10.0.0.2"), ip4("1.1.1.1")) + b"\xff\x00\x02ab" + struct.pack("!I", 1)
    data = struct.pack("!HH", 300, 4 + len(record + record2)) + record + record2
    decoder.feed(build_ipfix([template_set(2, 300, fields), data]), "e")
    assert all_octets(decoder) == 100


@pytest.mark.parametrize("packet", [
    b"\x00\x05",  # short header
    build_v5([("10.0.0.1", "8.8.8.8", 1, 1, 2)], count=5),  # count larger than the packet
    build_v9([template_set(0, 256, [(8, 4), (12, 0)])]),  # zero-length field
    build_ipfix([template_set(2, 300, [(8, 0)])]),
    build_ipfix([data_set(300, [])])[:-2] + b"\x00\x10",  # set longer than the message
    bytes(range(200)),  # garbage
    b"\x00\x0a" + b"\xff" * 40,  # IPFIX with a length beyond the datagram
])
def test_malformed_packets_are_dropped_and_counted(packet):
    decoder = Decoder()
    assert decoder.feed(packet, "e") is False
    assert decoder.stats["e"].malformed == 1
    assert decoder.feed(build_v5([("10.0.0.1", "8.8.8.8", 42, 1, 2)]), "e") is True
    assert all_octets(decoder) == 42


def test_a_malformed_packet_applies_none_of_its_templates():
    decoder = Decoder()
    bad = build_ipfix([template_set(2, 300, FIELDS4), template_set(2, 301, [(8, 0)])])
    assert not decoder.feed(bad, "e")
    decoder.feed(build_ipfix([data_set(300, [("10.0.0.1", "1.1.1.1", 10, 1, 2)])]), "e")
    assert decoder.stats["e"].unknown_template_sets == 1


def test_many_packets_are_decoded_in_one_batch():
    decoder = Decoder()
    for i in range(100):
        decoder.feed(build_v5([("10.0.0.1", "8.8.8.8", i, 1, 2)] * 30, sequence=i * 30), "e")
    [flows] = decoder.take()
    assert len(flows) == 3000
    assert int(flows.octets.sum()) == 30 * sum(range(100))
    assert np.all(flows.dport == 2)
    assert decoder.stats["e"].lost_flows == 0


def test_v9_template_refresh_with_a_new_layout_applies_to_later_data_only():
    decoder = Decoder()
    decoder.feed(build_v9([template_set(0, 256, FIELDS4), data_set(256, [("10.0.0.1", "1.1.1.1", 500, 1, 2)])]), "e")
    # the same id now describes: octets (4), src, dst
    refreshed = [(1, 4), (8, 4), (12, 4)]
    record = struct.pack("!III", 77, ip4("10.0.0.2"), ip4("1.1.1.1"))
    data = struct.pack("!HH", 256, 4 + len(record)) + record
    decoder.feed(build_v9([template_set(0, 256, refreshed), data], sequence=1), "e")
    assert sorted(int(o) for f in decoder.take() for o in f.octets) == [77, 500]


def test_sampling_interval_in_each_record():
    decoder = Decoder()
    fields = [(8, 4), (12, 4), (1, 4), (34, 4)]
    record = struct.pack("!IIII", ip4("10.0.0.1"), ip4("1.1.1.1"), 10, 64)
    data = struct.pack("!HH", 256, 4 + len(record)) + record
    decoder.feed(build_v9([template_set(0, 256, fields), data]), "e")
    assert all_octets(decoder) == 640


def test_ipfix_biflow_reverse_octets_count_for_the_other_direction():
    decoder = Decoder()
    # src, dst, octets, reverseOctetDeltaCount (IE 1 under PEN 29305, RFC 5103)
    body = struct.pack("!HH", 300, 4) + struct.pack("!HHHHHHHHI", 8, 4, 12, 4, 1, 8, 0x8001, 8, 29305)
    template = struct.pack("!HH", 2, 4 + len(body)) + body
    record = struct.pack("!IIQQ", ip4("10.0.0.1"), ip4("1.1.1.1"), 100, 5000)
    data = struct.pack("!HH", 300, 4 + len(record)) + record
    decoder.feed(build_ipfix([template, data]), "e")
    [flows] = decoder.take()
    pairs = sorted(zip(flows.src.tolist(), flows.dst.tolist(), flows.octets.tolist(), strict=True))
    assert pairs == sorted([(ip4("10.0.0.1"), ip4("1.1.1.1"), 100), (ip4("1.1.1.1"), ip4("10.0.0.1"), 5000)])


def test_mutated_packets_never_raise():
    """Fuzz: flipped bytes and truncations of valid packets are parsed or
    counted as malformed; neither feeding nor decoding ever raises."""
    import random

    rng = random.Random(11)
    seeds = [
        build_v5([("10.0.0.1", "8.8.8.8", 1000, 1, 2)] * 3),
        build_v9([template_set(0, 256, FIELDS4), data_set(256, [("10.0.0.1", "1.1.1.1", 5, 1, 2)] * 2)]),
        build_ipfix([template_set(2, 300, FIELDS6), data_set(300, [("2001:db8::1", "2001:db8::2", 7, 1, 2)])]),
        build_ipfix([template_set(2, 301, [(8, 4), (12, 4), (82, 65535), (1, 3)]),
                     struct.pack("!HH", 301, 4 + 13) + struct.pack("!II", 1, 2) + b"\x01x" + b"\x00\x00\x05"]),
    ]
    decoder = Decoder()
    for i in range(3000):
        packet = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            packet[rng.randrange(len(packet))] = rng.randrange(256)
        if rng.random() < 0.2:
            packet = packet[:rng.randrange(len(packet))]
        assert decoder.feed(bytes(packet), f"192.0.2.{i % 3}") in (True, False)
        if i % 100 == 99:
            for flows in decoder.take():
                assert len(flows.octets) == len(flows.src)
    assert sum(s.packets for s in decoder.stats.values()) == 3000
