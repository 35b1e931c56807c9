"""Agents on two hosts against one PostgreSQL (DESIGN §14, "outgrowing one
box"): two `flask agents` processes, each running the RADIUS agent (on
its own ports, as two hosts would) and the NetFlow collector, with real
UDP. A NAS fails over between them mid-session, a block is pushed while
both dispatchers follow the state-change feed, and NetFlow datagrams
reach both collectors — every session, CoA request and byte is counted
once. PostgreSQL only: the layout is one database for several hosts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pyrad import packet
from pyrad.client import Client

from agents.radius import protocol
from lanbill.billing import blocks
from lanbill.models import TrafficHourly
from lanbill.models.radius import CoaRequest, RadiusAgentStatus, RadiusSession
from tests.agents.test_netflow_protocol import build_v5
from tests.agents.test_netflow_shutdown import free_udp_port
from tests.agents.test_radius_accounting import FakeNas
from tests.conftest import USE_PG
from tests.factories import ACTOR, make_account, make_agent, make_nas
from tests.radius_harness import DICTIONARY, SECRET, wait_for

pytestmark = pytest.mark.skipif(not USE_PG, reason="several agent hosts share one PostgreSQL database")
ROOT = Path(__file__).resolve().parents[2]


class Host:
    """One `flask agents` process: its own instance folder and ports."""

    def __init__(self, name, app_config, tmp_path):
        self.name = name
        self.auth_port, self.acct_port, self.netflow_port = free_udp_port(), free_udp_port(), free_udp_port()
        env = dict(os.environ)
        env.update({
            "LANBILL_INSTANCE": str(tmp_path / name), "DATABASE_URL": app_config["DATABASE_URL"],
            "HUEY_URL": f"sqlite:///{tmp_path / (name + '-huey.db')}", "LANBILL_DATA_KEY": app_config["DATA_KEY"],
            "LANBILL_SECRET_KEY": "test-secret", "LANBILL_TIMEZONE": "Europe/Moscow",
            "LANBILL_RADIUS_AUTH_PORT": str(self.auth_port), "LANBILL_RADIUS_ACCT_PORT": str(self.acct_port),
            "LANBILL_NETFLOW_PORT": str(self.netflow_port),
        })
        self.proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "agents"], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True)
        self.reader.start()
        wait_for(lambda: any("agents: " in line for line in self.lines) or self.proc.poll() is not None,
                 timeout=180)  # start-up on a busy box
        assert self.proc.poll() is None, self.output

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def client(self) -> Client:
        client = Client(server="127.0.0.1", authport=self.auth_port, acctport=self.acct_port,
                        secret=SECRET.encode(), dict=DICTIONARY)
        client.timeout, client.retries = 5, 2
        return client

    def accounting(self, login, session_id, status, **attributes):
        client = self.client()
        request = client.CreateAcctPacket(User_Name=login)
        request["Acct-Status-Type"] = status
        request["Acct-Session-Id"] = session_id
        for key, value in attributes.items():
            request[key.replace("_", "-")] = value
        reply = client.SendPacket(request)
        assert reply.code == packet.AccountingResponse
        return reply

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(10)
        return self.output


def test_two_agent_hosts_count_sessions_coa_and_traffic_once(app, app_config, tmp_path):
    nas_coa = FakeNas([(protocol.DISCONNECT_ACK, None)] * 10)
    radius = make_agent(name="radius", options={"interim_interval": 60})
    make_nas(ip="127.0.0.1", secret=SECRET, vendor="mikrotik", agent_id=radius.id, coa_port=nas_coa.port)
    alice = make_account(agent=radius, login="alice", password="alice-pw", ips=["10.0.0.7"])
    netflow = make_agent(name="netflow", type="netflow", listen_address="127.0.0.1",
                         options={"flush_seconds": 3600, "exporters": ["127.0.0.1"]})
    bob = make_account(agent=netflow, ips=["10.40.0.0/24"])
    hosts = []
    try:
        # one after the other: each places the shared feed cursor on start
        hosts.append(Host("host-a", app_config, tmp_path))
        hosts.append(Host("host-b", app_config, tmp_path))
        a, b = hosts

        # authentication on either host
        for host in hosts:
            client = host.client()
            request = client.CreateAuthPacket(code=packet.AccessRequest, User_Name="alice")
            request["User-Password"] = request.PwCrypt("alice-pw")
            assert client.SendPacket(request).code == packet.AccessAccept

        # the NAS starts the session on host A, then fails over to host B, which sees the
        # Start again (a NAS resends an unanswered one to its next server) and the interim
        a.accounting("alice", "s-1", "Start", Framed_IP_Address="10.0.0.7")
        b.accounting("alice", "s-1", "Start", Framed_IP_Address="10.0.0.7")
        b.accounting("alice", "s-1", "Interim-Update", Acct_Input_Octets=1000, Acct_Output_Octets=5000,
                     Acct_Session_Time=60)
        b.accounting("alice", "s-2", "Start", Framed_IP_Address="10.0.0.7")  # a second session, on B alone
        sessions = RadiusSession.select().where(RadiusSession.account_id == alice.id)
        assert sorted(s.acct_session_id for s in sessions) == ["s-1", "s-2"]

        # a block: both hosts follow the state-change feed, one Disconnect per session goes out
        blocks.block_by_staff(alice, actor=ACTOR, reason="scale-out test")
        wait_for(lambda: CoaRequest.select().where(CoaRequest.status == "ack").count() == 2, timeout=20)
        time.sleep(3)  # several more polls of both dispatchers
        requests = list(CoaRequest.select().where(CoaRequest.account_id == alice.id))
        assert len(requests) == 2 and {r.kind for r in requests} == {"disconnect"}
        assert sorted(r.attributes["Acct-Session-Id"] for r in requests) == ["s-1", "s-2"]
        assert len(nas_coa.received) == 2
        assert sorted(p.attrs[protocol.ACCT_SESSION_ID] for p in nas_coa.received) == [b"s-1", b"s-2"]

        # the Stop reaches host A
        a.accounting("alice", "s-1", "Stop", Acct_Input_Octets=3000, Acct_Output_Octets=9000,
                     Acct_Session_Time=120)
        [s1] = RadiusSession.select().where(RadiusSession.acct_session_id == "s-1")
        assert s1.stopped_at is not None and (s1.input_octets, s1.output_octets) == (3000, 9000)

        # NetFlow: the exporter sends to both collectors (half each); each adds to the same hourly rows
        expected = 0
        for index, host in enumerate(hosts):
            sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for i in range(40):
                size = 500 + i + index
                flows = [("93.184.216.34", f"10.40.0.{i % 200 + 1}", size, 443, 5000)] * 20
                sender.sendto(build_v5(flows, sequence=i * 20, engine=(index, 0)), ("127.0.0.1", host.netflow_port))
                expected += 20 * size
            sender.close()

        # each host publishes its own counters (every few seconds); together they saw every request once
        def published():
            rows = RadiusAgentStatus.select().where(RadiusAgentStatus.agent_id == radius.id)
            counters = [row.counters for row in rows]
            return len(counters) == 2 and [sum(c.get(k, 0) for c in counters)
                                           for k in ("auth_requests", "acct_requests")] == [2, 5]
        wait_for(published, timeout=30)
    finally:
        outputs = [host.stop() for host in hosts]
        nas_coa.close()
    for host in hosts:
        assert host.proc.returncode == 0, host.output

    rows = TrafficHourly.select().where(TrafficHourly.account_id == bob.id)
    assert sum(r.bytes_in + r.bytes_out for r in rows) == expected, outputs
