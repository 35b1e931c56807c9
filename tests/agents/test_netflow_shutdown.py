"""`flask --app app agents` as a real subprocess: counters held in memory
(the minute's flush not yet due) are written on SIGTERM, none lost — also
when SIGTERM arrives in the middle of a stream of bursts."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from lanbill.models import TrafficHourly
from lanbill.models.traffic import NetflowStatus
from tests.agents.test_netflow_protocol import FIELDS4, build_ipfix, build_v5, data_set, template_set
from tests.factories import make_account, make_agent

ROOT = Path(__file__).resolve().parents[2]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_line(proc, text: str, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    seen = ""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            seen += line
            if text in line:
                return seen
            if not line and proc.poll() is not None:
                break
    raise AssertionError(f"no {text!r} from the agents process; output:\n{seen}")


def test_sigterm_writes_every_counter_held_in_memory(app, app_config, tmp_path):
    agent = make_agent(type="netflow", options={"flush_seconds": 3600, "exporters": ["127.0.0.1"]},
                       listen_address="127.0.0.1")
    account = make_account(agent=agent, ips=["10.20.0.0/24"])
    port = free_udp_port()
    env = dict(os.environ)
    env.update({
        "LANBILL_INSTANCE": str(tmp_path / "agents-instance"),
        "DATABASE_URL": app_config["DATABASE_URL"],
        "HUEY_URL": f"sqlite:///{tmp_path / 'agents-huey.db'}",
        "LANBILL_DATA_KEY": app_config["DATA_KEY"],
        "LANBILL_SECRET_KEY": "test-secret",
        "LANBILL_NETFLOW_PORT": str(port),
        "LANBILL_TIMEZONE": "Europe/Moscow",
    })
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "agents"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_line(proc, "listening on")
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        expected = 0
        sender.sendto(build_ipfix([template_set(2, 300, FIELDS4)]), ("127.0.0.1", port))
        for i in range(200):
            size = 1000 + i
            sender.sendto(build_v5([("93.184.216.34", f"10.20.0.{i % 250 + 1}", size, 443, 5000)] * 30,
                                   sequence=i * 30), ("127.0.0.1", port))
            sender.sendto(build_ipfix([data_set(300, [(f"10.20.0.{i % 250 + 1}", "1.1.1.1", size, 1, 2)])],
                                      sequence=i), ("127.0.0.1", port))
            expected += 31 * size
        sender.close()
        assert not NetflowStatus.select().exists()  # nothing flushed yet: all of it is in memory
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output
    rows = list(TrafficHourly.select().where(TrafficHourly.account_id == account.id))
    assert sum(r.bytes_in + r.bytes_out for r in rows) == expected, output
    status = NetflowStatus.get(NetflowStatus.agent_id == agent.id)
    assert status.packets == 401 and status.lost_flows == 0 and status.malformed == 0


def test_sigterm_in_the_middle_of_a_stream_loses_no_counted_record(app, app_config, tmp_path):
    """Datagrams keep coming (in bursts, a malformed one among every ten)
    while SIGTERM arrives: whatever the listener counted as received —
    records and malformed datagrams — is in the database afterwards."""
    agent = make_agent(type="netflow", options={"flush_seconds": 3600, "exporters": ["127.0.0.1"]},
                       listen_address="127.0.0.1")
    account = make_account(agent=agent, ips=["10.30.0.0/16"])
    port = free_udp_port()
    env = dict(os.environ)
    env.update({
        "LANBILL_INSTANCE": str(tmp_path / "agents-instance"), "DATABASE_URL": app_config["DATABASE_URL"],
        "HUEY_URL": f"sqlite:///{tmp_path / 'agents-huey.db'}", "LANBILL_DATA_KEY": app_config["DATA_KEY"],
        "LANBILL_SECRET_KEY": "test-secret", "LANBILL_NETFLOW_PORT": str(port), "LANBILL_TIMEZONE": "Europe/Moscow",
    })
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "agents"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    stop = threading.Event()
    sent = {"packets": 0}

    def send_forever():
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        flows = [("93.184.216.34", f"10.30.{i // 250}.{i % 250 + 1}", 100, 443, 5000) for i in range(30)]
        i = 0
        while not stop.is_set():
            for _ in range(50):
                packet = b"\x00\x05garbage" if i % 10 == 9 else build_v5(flows, sequence=i * 30)
                try:
                    sender.sendto(packet, ("127.0.0.1", port))
                except OSError:
                    pass
                i += 1
            sent["packets"] = i
            time.sleep(0.002)
        sender.close()

    thread = threading.Thread(target=send_forever, daemon=True)
    try:
        wait_for_line(proc, "listening on")
        thread.start()
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)  # the stream goes on while the listener shuts down
        stop.set()
        thread.join(10)
        output, _ = proc.communicate(timeout=60)
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output
    status = NetflowStatus.get(NetflowStatus.agent_id == agent.id)
    assert status.packets > 200 and status.malformed > 20, (status.packets, sent)
    assert status.records == 30 * (status.packets - status.malformed)
    rows = list(TrafficHourly.select().where(TrafficHourly.account_id == account.id))
    assert sum(r.bytes_in for r in rows) == status.records * 100
    assert sum(r.bytes_out for r in rows) == 0
