"""What the NetFlow collector trusts (DESIGN §7, §9), over real UDP on
loopback: only the agent's exporters count; the state a sender can make it
keep is bounded; one impossible record or a far export time is dropped or
clamped and counted, never the batch."""

from __future__ import annotations

import datetime as dt
import socket
import struct
import threading
import time

import pytest
from pyrad import packet

from agents.netflow.protocol import Decoder, Limits
from agents.netflow.server import start_all
from lanbill.errors import ValidationError
from lanbill.models import TrafficHourly
from lanbill.models.traffic import NetflowAgentStatus, NetflowStatus
from lanbill.network.agent_options import clean_agent_options, netflow_exporters
from tests.agents.test_netflow_protocol import FIELDS4, build_ipfix, build_v5, data_set, template_set
from tests.factories import make_account, make_agent, make_nas, make_tariff

FLOW = ("8.8.8.8", "10.0.0.5", 1000, 53, 40000)


@pytest.fixture
def collector(app):
    """A NetFlow agent whose only exporter is the NAS at 127.0.0.2, and an
    account at 10.0.0.5."""
    agent = make_agent(type="netflow", listen_address="127.0.0.1", options={"flush_seconds": 3600})
    make_nas(ip="127.0.0.2", agent_id=agent.id)
    account = make_account(agent=agent, tariff=make_tariff(prepaid_mb=0), ips=["10.0.0.5/32"])
    app.config["NETFLOW_PORT"] = 0
    return {"agent": agent, "account": account}


class Collector:
    def __init__(self, app):
        self.stop = threading.Event()
        [self.server] = start_all(app, self.stop)
        self.sockets: dict[str, socket.socket] = {}

    def send_from(self, source: str, *packets) -> None:
        sock = self.sockets.get(source)
        if sock is None:
            sock = self.sockets[source] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((source, 0))
        for data in packets:
            sock.sendto(data, ("127.0.0.1", self.server.port))

    def wait_for(self, condition, seconds=5.0) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, "the collector did not get there in time"
            time.sleep(0.02)

    def packets_from(self, exporter: str) -> int:
        stats = self.server.decoder.stats.get(exporter)
        return stats.packets if stats else 0

    def finish(self) -> None:
        self.stop.set()
        self.server.join(30)
        for sock in self.sockets.values():
            sock.close()


def bytes_of(account) -> int:
    return sum(r.bytes_in + r.bytes_out for r in TrafficHourly.select().where(TrafficHourly.account_id == account.id))


def now_v5(flows, **kw):
    return build_v5(flows, secs=int(time.time()), **kw)


# --- only known exporters ---------------------------------------------------------------


def test_flows_from_an_address_that_is_not_an_exporter_are_dropped_and_counted(app, collector):
    running = Collector(app)
    try:
        running.send_from("127.0.0.1", now_v5([FLOW]))  # anyone who can reach the port
        running.send_from("127.0.0.3", now_v5([FLOW] * 2), now_v5([FLOW], sequence=2))
        running.send_from("127.0.0.2", now_v5([("8.8.8.8", "10.0.0.5", 77, 53, 1)]))  # the NAS
        running.wait_for(lambda: running.server.decoder.unknown_exporter == 3
                         and "127.0.0.2" in running.server.decoder.stats)
    finally:
        running.finish()
    assert bytes_of(collector["account"]) == 77
    assert [row.exporter for row in NetflowStatus.select()] == ["127.0.0.2"]
    status = NetflowAgentStatus.get(NetflowAgentStatus.agent_id == collector["agent"].id)
    assert (status.unknown_exporter, status.exporters) == (3, 1)


def test_the_status_page_shows_what_was_dropped(app, client, admin, login_as, collector):
    agent_id = collector["agent"].id
    NetflowAgentStatus.create(agent_id=agent_id, unknown_exporter=1234, dropped_exporters=5)
    NetflowStatus.create(agent_id=agent_id, exporter="127.0.0.2", bad_records=7, clamped_times=8,
                         dropped_templates=9, dropped_domains=11)
    login_as()
    page = client.get("/admin/netflow").get_data(as_text=True)
    assert "не являющихся экспортёрами этого агента: 1234" in page
    assert "сверх предела: 5" in page
    for cell in ("<td class=\"num\">7</td>", "<td class=\"num\">8</td>", "<td class=\"num\">9</td>",
                 "<td class=\"num\">11</td>"):
        assert cell in page


def test_an_exporter_added_to_the_options_counts_within_two_seconds(app, collector):
    running = Collector(app)
    try:
        running.send_from("127.0.0.4", now_v5([FLOW]))
        running.wait_for(lambda: running.server.decoder.unknown_exporter == 1)
        agent = collector["agent"]
        agent.options = {"flush_seconds": 3600, "exporters": ["127.0.0.4"]}
        agent.save()
        running.wait_for(lambda: "127.0.0.4" in (running.server.decoder.allowed or ()), seconds=3)
        running.send_from("127.0.0.4", now_v5([FLOW], sequence=1))
        running.wait_for(lambda: "127.0.0.4" in running.server.decoder.stats)
    finally:
        running.finish()
    assert bytes_of(collector["account"]) == 1000


def test_an_agent_without_exporters_counts_nothing(app):
    agent = make_agent(type="netflow", listen_address="127.0.0.1")
    account = make_account(agent=agent, ips=["10.0.0.5/32"])
    app.config["NETFLOW_PORT"] = 0
    running = Collector(app)
    try:
        running.send_from("127.0.0.1", now_v5([FLOW]))
        running.wait_for(lambda: running.server.decoder.unknown_exporter == 1)
    finally:
        running.finish()
    assert bytes_of(account) == 0


def test_the_exporters_option_takes_single_ip_addresses_only():
    assert clean_agent_options("netflow", {"exporters": ["192.0.2.1", "2001:db8::1"]})
    for bad in (["10.0.0.0/8"], ["router"], "192.0.2.1", [1], ["192.0.2.1"] * 1025):
        with pytest.raises(ValidationError) as refused:
            clean_agent_options("netflow", {"exporters": bad})
        assert "options.exporters" in refused.value.fields
    assert netflow_exporters({"exporters": ["192.0.2.1"]}, ["2001:DB8::1", "::ffff:192.0.2.7", "not-an-ip"]) == {
        "192.0.2.1", "::ffff:192.0.2.1", "2001:db8::1", "192.0.2.7", "::ffff:192.0.2.7"}


def test_one_packet_from_each_of_2000_addresses_leaves_no_status_rows(app, collector):
    running = Collector(app)
    try:
        for i in range(2000):
            running.send_from(f"127.1.{i // 250}.{i % 250 + 1}", now_v5([FLOW]))
        running.send_from("127.0.0.2", now_v5([FLOW]))
        running.wait_for(lambda: running.server.decoder.unknown_exporter == 2000
                         and "127.0.0.2" in running.server.decoder.stats, seconds=20)
    finally:
        running.finish()
    assert NetflowStatus.select().count() == 1
    assert NetflowAgentStatus.get().unknown_exporter == 2000


def test_an_idle_exporter_is_forgotten_and_its_status_row_goes(app, collector):
    app.config["NETFLOW_EXPORTER_IDLE_SECONDS"] = 3  # longer than a flush: the row is written first
    agent = collector["agent"]
    agent.options = {"flush_seconds": 1, "exporters": ["127.0.0.3"]}
    agent.save()
    running = Collector(app)
    try:
        running.send_from("127.0.0.3", now_v5([FLOW]))
        running.wait_for(lambda: NetflowStatus.select().where(NetflowStatus.exporter == "127.0.0.3").exists())
        running.wait_for(lambda: "127.0.0.3" not in running.server.decoder.stats, seconds=10)
        flushes = running.server.flushes
        running.wait_for(lambda: running.server.flushes > flushes, seconds=10)
    finally:
        running.finish()
    assert not NetflowStatus.select().exists()
    assert bytes_of(collector["account"]) == 1000


# --- bounded state ----------------------------------------------------------------------


def template_flood_packet(domain: int, first_id: int, count: int) -> bytes:
    return build_ipfix([template_set(2, first_id + i, FIELDS4) for i in range(count)], domain=domain,
                       export_time=int(time.time()))


def test_a_template_flood_stays_within_the_limits_and_is_counted(app, collector):
    app.config.update(NETFLOW_MAX_DOMAINS_PER_EXPORTER=4, NETFLOW_MAX_TEMPLATES_PER_DOMAIN=10)
    running = Collector(app)
    try:
        for domain in range(8):
            for first in range(256, 256 + 200, 50):
                running.send_from("127.0.0.2", template_flood_packet(domain, first, 50))
        running.wait_for(lambda: running.packets_from("127.0.0.2") == 32)
        templates = len(running.server.decoder.templates)
    finally:
        running.finish()
    assert templates == 4 * 10
    status = NetflowStatus.get(NetflowStatus.exporter == "127.0.0.2")
    assert status.dropped_domains == 4 * 4  # the packets of the domains 4..7
    assert status.dropped_templates == 4 * 200 - 4 * 10


def test_radius_in_the_same_process_keeps_answering_during_a_template_flood(app, collector, radius_factory):
    radius = radius_factory()
    make_account(agent=radius.agent, login="alice", password="secret-1")
    radius.refresh()
    running = Collector(app)
    stop_flood = threading.Event()
    sent = [0]

    def flood():
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.2", 0))
        while not stop_flood.is_set():
            for first in range(256, 65000, 100):
                sock.sendto(template_flood_packet(sent[0] % 64, first, 100), ("127.0.0.1", running.server.port))
                sent[0] += 1
                if stop_flood.is_set():
                    break
        sock.close()

    flooder = threading.Thread(target=flood)
    flooder.start()
    waits = []
    try:
        time.sleep(0.3)
        for _ in range(20):
            started = time.monotonic()
            reply = radius.auth("alice", "secret-1")
            waits.append(time.monotonic() - started)
            # answered (the second login may meet the simultaneous-use limit)
            assert reply.code in (packet.AccessAccept, packet.AccessReject)
        decoder = running.server.decoder
        kept = len(decoder.templates)
    finally:
        stop_flood.set()
        flooder.join()
        running.finish()
    limits = running.server.limits
    assert sent[0] > 100
    assert kept <= limits.max_domains_per_exporter * limits.max_templates_per_domain
    assert max(waits) < 1.0, waits
    status = NetflowStatus.get(NetflowStatus.exporter == "127.0.0.2")
    assert status.dropped_templates > 0 and status.dropped_domains > 0


class NoScans(dict):
    """A template table that fails the test if anything walks through it."""

    def __iter__(self):
        raise AssertionError("every template was scanned")

    def keys(self):
        raise AssertionError("every template was scanned")

    def items(self):
        raise AssertionError("every template was scanned")


def test_withdraw_all_templates_touches_only_its_own_domain():
    decoder = Decoder(limits=Limits(max_domains_per_exporter=100, max_templates_per_domain=400))
    for domain in range(100):
        decoder.feed(build_ipfix([template_set(2, 256 + i, FIELDS4) for i in range(400)], domain=domain), "e")
    assert len(decoder.templates) == 40_000
    decoder.templates = NoScans(decoder.templates)
    withdraw_all = struct.pack("!HHHH", 2, 8, 2, 0)
    assert decoder.feed(build_ipfix([withdraw_all], domain=7, sequence=0), "e")
    assert len(decoder.templates) == 39_600
    assert not any(key[1] == 7 for key in dict.keys(decoder.templates))


# --- one bad record, far export times ---------------------------------------------------


SAMPLED_FIELDS = [(8, 4), (12, 4), (1, 8), (34, 4)]  # src, dst, octets, samplingInterval


def sampled_records(rows) -> bytes:
    body = b"".join(struct.pack("!4s4sQI", socket.inet_aton(s), socket.inet_aton(d), octets, rate)
                    for s, d, octets, rate in rows)
    return struct.pack("!HH", 300, 4 + len(body)) + body


def variable_template(template_id: int) -> bytes:
    fields = [(8, 4), (12, 4), (1, 8), (34, 4), (82, 65535)]  # ... and an interface name of variable length
    body = struct.pack("!HH", template_id, len(fields)) + b"".join(struct.pack("!HH", ie, n) for ie, n in fields)
    return struct.pack("!HH", 2, 4 + len(body)) + body


def variable_records(template_id: int, rows) -> bytes:
    body = b"".join(struct.pack("!4s4sQIB", socket.inet_aton(s), socket.inet_aton(d), octets, rate, 3) + b"ge0"
                    for s, d, octets, rate in rows)
    return struct.pack("!HH", template_id, 4 + len(body)) + body


def test_one_record_overflowing_64_bits_is_dropped_and_counted_not_its_batch(app, collector):
    now = int(time.time())
    running = Collector(app)
    try:
        running.send_from("127.0.0.2", build_ipfix([
            template_set(2, 300, SAMPLED_FIELDS), variable_template(301),
            sampled_records([("8.8.8.8", "10.0.0.5", 1000, 1), ("8.8.8.8", "10.0.0.5", 1 << 40, 1 << 30),
                             ("8.8.8.8", "10.0.0.5", 10, 4_000_000_000), ("8.8.8.8", "10.0.0.5", 5, 2)]),
            variable_records(301, [("8.8.8.8", "10.0.0.5", 300, 1), ("8.8.8.8", "10.0.0.5", (1 << 64) - 1, 7)]),
        ], export_time=now))
        # the same again through the burst path (templates known: numpy decoding)
        running.send_from("127.0.0.2", *[build_ipfix([sampled_records([
            ("8.8.8.8", "10.0.0.5", 1, 1), ("8.8.8.8", "10.0.0.5", 1 << 63, 3)])], export_time=now, sequence=6 + i * 2)
            for i in range(40)])
        running.wait_for(lambda: running.packets_from("127.0.0.2") == 41)
    finally:
        running.finish()
    assert running.server.failed_batches == 0
    assert bytes_of(collector["account"]) == 1000 + 10 + 300 + 40
    status = NetflowStatus.get(NetflowStatus.exporter == "127.0.0.2")
    assert status.bad_records == 3 + 40


def test_an_export_time_far_from_now_is_clamped_and_counted(app, collector):
    app.config["NETFLOW_MAX_CLOCK_SKEW_SECONDS"] = 3600
    running = Collector(app)
    before = int(time.time()) // 3600
    try:
        running.send_from("127.0.0.2", build_v5([FLOW], secs=int(time.time()) + 20 * 365 * 86400),
                          build_ipfix([template_set(2, 300, FIELDS4), data_set(300, [FLOW])], export_time=1))
        running.wait_for(lambda: running.packets_from("127.0.0.2") == 2)
    finally:
        running.finish()
    after = int(time.time()) // 3600
    hours = {int((r.hour - dt.datetime(1970, 1, 1)).total_seconds()) // 3600 for r in TrafficHourly.select()}
    assert hours and all(before <= hour <= after for hour in hours)  # counted now, not in 2046 or 1970
    assert bytes_of(collector["account"]) == 2000
    assert NetflowStatus.get(NetflowStatus.exporter == "127.0.0.2").clamped_times == 2


def test_sums_are_unchanged_for_honest_records():
    decoder = Decoder()
    decoder.feed(build_ipfix([template_set(2, 300, SAMPLED_FIELDS),
                              sampled_records([("10.0.0.1", "8.8.8.8", 1500, 1000)])]), "e")
    rejected: dict = {}
    assert [int(f.octets.sum()) for f in decoder.take(rejected)] == [1_500_000]
    assert rejected == {}
