"""The NetFlow listener over real UDP on loopback: v5, v9 and IPFIX
packets with known contents, malformed ones, sequence gaps, unmatched
traffic, the per-address detail, cache refresh, and a real exporter
(Debian's softflowd reading a pcap written here)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import socket
import struct
import subprocess
import threading
import time

import numpy as np
import pytest

from agents.netflow.server import start_all
from lanbill.models import TrafficDetail, TrafficHourly
from lanbill.models.traffic import NetflowStatus
from lanbill.network import traffic_categories
from tests.agents.test_netflow_protocol import (
    EXPORT_TIME,
    FIELDS4,
    FIELDS6,
    build_ipfix,
    build_v5,
    build_v9,
    data_set,
    template_set,
)
from tests.factories import ACTOR, make_account, make_agent, make_tariff

HOUR = EXPORT_TIME // 3600 * 3600


@pytest.fixture
def setup(app):
    agent = make_agent(type="netflow", listen_address="127.0.0.1", options={"exporters": ["127.0.0.1", "::1"]})
    tariff = make_tariff(prepaid_mb=0)
    local = traffic_categories.create_category(tariff.id, {"name": "Local", "networks": "192.168.0.0/16, fd00::/8",
                                                          "price_in_mb": "0"}, actor=ACTOR)
    internet = traffic_categories.create_category(tariff.id, {"name": "Internet", "networks": "",
                                                             "price_in_mb": "1.00"}, actor=ACTOR)
    plain = make_account(agent=agent, tariff=tariff, ips=["10.0.0.5/32"])
    subnet = make_account(agent=agent, tariff=tariff, ips=["10.0.1.0/24", "2001:db8::/64"],
                          keep_remote_address=True, keep_remote_port=True)
    other_agent = make_account(agent=make_agent(type="radius"), tariff=tariff,
                               ips=["10.0.2.0/24"])
    app.config["NETFLOW_PORT"] = 0
    app.config["NETFLOW_MAX_CLOCK_SKEW_SECONDS"] = 0  # the packets carry EXPORT_TIME, a fixed moment
    return {"agent": agent, "local": local.id, "internet": internet.id, "plain": plain.id, "subnet": subnet.id,
            "other": other_agent.id}


class Running:
    def __init__(self, app):
        self.stop = threading.Event()
        self.servers = start_all(app, self.stop)
        assert len(self.servers) == 1
        self.server = self.servers[0]
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send(self, *packets):
        for packet in packets:
            self.sock.sendto(packet, ("127.0.0.1", self.server.port))

    def finish(self):
        self.stop.set()
        for server in self.servers:
            server.join(30)
        self.sock.close()


def hour_start(unix: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=unix // 3600 * 3600)


def sums(account_id):
    rows = list(TrafficHourly.select().where(TrafficHourly.account_id == account_id))
    return sum(r.bytes_in for r in rows), sum(r.bytes_out for r in rows)


def by_category(account_id):
    out = {}
    for r in TrafficHourly.select().where(TrafficHourly.account_id == account_id):
        a, b = out.get(r.category_id, (0, 0))
        out[r.category_id] = (a + r.bytes_in, b + r.bytes_out)
    return out


def test_v5_v9_and_ipfix_over_udp_are_counted_per_account_category_and_hour(app, setup):
    running = Running(app)
    running.send(
        build_v5([("8.8.8.8", "10.0.0.5", 1000, 53, 40000), ("10.0.0.5", "8.8.8.8", 200, 40000, 53),
                  ("192.168.1.1", "10.0.0.5", 5000, 80, 40001)]),
        build_v9([template_set(0, 256, FIELDS4), data_set(256, [("1.1.1.1", "10.0.1.77", 700, 443, 5555)])]),
        build_ipfix([template_set(2, 300, FIELDS4), template_set(2, 301, FIELDS6),
                     data_set(300, [("10.0.1.9", "1.1.1.1", 30, 5556, 443)]),
                     data_set(301, [("2001:db8::10", "2a00::1", 11, 1000, 80),
                                    ("fd00::1", "2001:db8::10", 13, 22, 1000)])]),
    )
    running.finish()
    assert by_category(setup["plain"]) == {setup["internet"]: (1000, 200), setup["local"]: (5000, 0)}
    assert by_category(setup["subnet"]) == {setup["internet"]: (700, 41), setup["local"]: (13, 0)}
    assert {r.hour for r in TrafficHourly.select()} == {hour_start(HOUR)}
    status = NetflowStatus.get(NetflowStatus.agent_id == setup["agent"].id)
    assert (status.packets, status.records, status.malformed) == (3, 7, 0)


def test_flows_are_bucketed_by_the_hour_they_ended_in(app, setup):
    running = Running(app)
    running.send(build_v5([("8.8.8.8", "10.0.0.5", 100, 1, 2)], secs=HOUR + 10, uptime=100_000),
                 build_v5([("8.8.8.8", "10.0.0.5", 100, 1, 2)], secs=HOUR + 3610, uptime=100_000, sequence=1))
    running.finish()
    rows = list(TrafficHourly.select().order_by(TrafficHourly.hour))
    # each flow ended 1 s before its packet's export time
    assert [(r.hour, r.bytes_in) for r in rows] == [(hour_start(HOUR), 100), (hour_start(HOUR + 3600), 100)]


def test_malformed_packets_are_dropped_and_counted_and_valid_ones_still_counted(app, setup):
    running = Running(app)
    good = build_v5([("8.8.8.8", "10.0.0.5", 1000, 53, 40000)])
    running.send(
        b"\x00\x05\x00",  # short header
        good,
        build_v5([("8.8.8.8", "10.0.0.5", 1, 1, 2)], count=9),  # count larger than the packet
        build_v9([template_set(0, 256, [(8, 4), (12, 0)])], sequence=0),  # zero-length field
        bytes(range(256)) * 4,  # garbage
        build_v5([("8.8.8.8", "10.0.0.5", 24, 53, 40000)], sequence=1),
    )
    running.finish()
    assert sums(setup["plain"]) == (1024, 0)
    status = NetflowStatus.get(NetflowStatus.agent_id == setup["agent"].id)
    assert status.malformed == 4
    assert status.packets == 6


def test_sequence_gaps_are_reported_as_lost_flows(app, setup):
    running = Running(app)
    flow = ("8.8.8.8", "10.0.0.5", 10, 53, 40000)
    running.send(build_v5([flow] * 2, sequence=0), build_v5([flow], sequence=2), build_v5([flow], sequence=20))
    running.send(build_ipfix([template_set(2, 300, FIELDS4), data_set(300, [flow] * 3)], sequence=0, domain=7),
                 build_ipfix([data_set(300, [flow])], sequence=5, domain=7))
    running.finish()
    status = NetflowStatus.get(NetflowStatus.agent_id == setup["agent"].id)
    assert status.lost_flows == 17 + 2
    assert sums(setup["plain"]) == (80, 0)


def test_traffic_of_no_account_is_counted_as_unmatched(app, setup):
    running = Running(app)
    running.send(build_v5([("8.8.8.8", "10.9.9.9", 1000, 53, 1), ("10.0.2.7", "8.8.8.8", 10, 1, 53),
                           ("8.8.8.8", "10.0.0.5", 5, 53, 1)]))
    running.finish()
    status = NetflowStatus.get(NetflowStatus.agent_id == setup["agent"].id)
    # 10.0.2.0/24 belongs to an account of another agent: not ours
    assert (status.unmatched_records, status.unmatched_bytes) == (2, 1010)
    assert sums(setup["other"]) == (0, 0)


def test_detail_per_remote_address_and_port_only_for_accounts_that_keep_it(app, setup):
    running = Running(app)
    running.send(build_v5([("1.1.1.1", "10.0.1.77", 700, 443, 5555), ("1.1.1.1", "10.0.1.77", 300, 443, 5556),
                           ("10.0.1.77", "1.1.1.2", 50, 5557, 80), ("8.8.8.8", "10.0.0.5", 1000, 53, 1)]))
    running.finish()
    rows = {(r.account_id, r.remote, r.port): (r.bytes_in, r.bytes_out) for r in TrafficDetail.select()}
    assert rows == {(setup["subnet"], "1.1.1.1", 443): (1000, 0), (setup["subnet"], "1.1.1.2", 80): (0, 50)}


def test_a_new_account_is_matched_within_two_seconds(app, setup):
    running = Running(app)
    try:
        account = make_account(agent=setup["agent"], ips=["10.0.3.3/32"])
        address = np.array([int(ipaddress.IPv4Address("10.0.3.3"))], dtype=np.uint32)
        deadline = time.monotonic() + 2.0
        while running.server.matcher.match4(address)[0] < 0:
            assert time.monotonic() < deadline, "the new account was not seen within 2 s"
            time.sleep(0.05)
        running.send(build_v5([("8.8.8.8", "10.0.3.3", 77, 53, 1)]))
    finally:
        running.finish()
    assert sums(account.id) == (77, 0)


def test_counters_are_flushed_every_interval_without_losing_any(app, setup):
    agent = setup["agent"]
    agent.options = {"port": 0, "flush_seconds": 0.2, "exporters": ["127.0.0.1"]}
    agent.save()
    running = Running(app)
    try:
        for i in range(20):
            running.send(build_v5([("8.8.8.8", "10.0.0.5", 10, 53, 1)] * 30, sequence=i * 30))
            if i == 10:
                deadline = time.monotonic() + 5
                while running.server.flushes == 0 and time.monotonic() < deadline:
                    time.sleep(0.05)
    finally:
        running.finish()
    assert running.server.flushes >= 2
    assert sums(setup["plain"]) == (20 * 30 * 10, 0)
    assert TrafficHourly.select().count() == 1


# --- a real exporter ---------------------------------------------------------------


def write_pcap(path, packets):
    """A classic pcap of Ethernet frames carrying IPv4 UDP/TCP packets:
    packets = [(t, src, dst, proto, sport, dport, payload length)]."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for t, src, dst, proto, sport, dport, size in packets:
        if proto == 17:
            l4 = struct.pack("!HHHH", sport, dport, 8 + size, 0)
        else:
            l4 = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x18, 65535, 0, 0)
        total = 20 + len(l4) + size
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 1, 0, 64, proto, 0, socket.inet_aton(src),
                         socket.inet_aton(dst))
        frame = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + l4 + b"\x00" * size
        seconds, micros = int(t), int((t - int(t)) * 1e6)
        out.append(struct.pack("<IIII", seconds, micros, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))
    return sum(20 + (8 if proto == 17 else 20) + size for _, _, _, proto, _, _, size in packets)


@pytest.mark.skipif(shutil.which("softflowd") is None, reason="softflowd is not installed")
@pytest.mark.parametrize("version", ["5", "9", "10", "10-bidirectional"])
def test_softflowd_reading_a_pcap_exports_what_lanbill_stores(app, setup, tmp_path, version):
    running = Running(app)
    start = float(EXPORT_TIME)
    packets = []
    expected_in = expected_out = reply_in = 0
    for i in range(300):
        size = 100 + (i * 37) % 1200
        if i % 3 == 0:
            packets.append((start + i * 0.01, "10.0.0.5", "93.184.216.34", 6, 40000 + i % 7, 443, size))
            expected_out += 40 + size
            # the reply: the same flow in the other direction (a biflow's reverse counters)
            packets.append((start + i * 0.01 + 0.001, "93.184.216.34", "10.0.0.5", 6, 443, 40000 + i % 7, size // 2))
            reply_in += 40 + size // 2
        else:
            packets.append((start + i * 0.01, "93.184.216.34", "10.0.1.20", 17, 53, 30000 + i % 5, size))
            expected_in += 28 + size
    write_pcap(tmp_path / "flows.pcap", packets)
    result = subprocess.run(
        ["softflowd", "-r", str(tmp_path / "flows.pcap"), "-n", f"127.0.0.1:{running.server.port}",
         "-v", version[:2], *(["-b"] if "bidirectional" in version else []), "-D",
         "-p", str(tmp_path / "pid"), "-c", "none"],
        capture_output=True, timeout=30,
    )
    running.finish()
    assert result.returncode == 0, result.stderr
    assert sums(setup["plain"]) == (reply_in, expected_out)
    assert sums(setup["subnet"]) == (expected_in, 0)
    status = NetflowStatus.get(NetflowStatus.agent_id == setup["agent"].id)
    assert status.malformed == 0 and status.dropped_sets == 0


def test_listener_on_ipv6_loopback_and_oversized_datagrams(app, setup):
    agent = setup["agent"]
    agent.listen_address = "::1"
    agent.save()
    running = Running(app)
    sender = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        sender.sendto(build_v5([("8.8.8.8", "10.0.0.5", 123, 53, 1)]), ("::1", running.server.port))
        sender.sendto(b"\x00\x0a" + b"\x00" * 12000, ("::1", running.server.port))  # longer than a receive slot
    finally:
        sender.close()
        running.finish()
    assert sums(setup["plain"]) == (123, 0)
    status = NetflowStatus.get(NetflowStatus.agent_id == agent.id)
    assert (status.exporter, status.packets, status.malformed) == ("::1", 2, 1)
