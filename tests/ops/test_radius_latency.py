"""The RADIUS reply latency histogram in /metrics: real Access and
Accounting requests over UDP to a running agent, its status published as
the agent publishes it, then /metrics scraped and read back with
prometheus_client's parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from pyrad import packet

from agents.radius.server import LATENCY_BOUNDS, publish_status
from tests.factories import make_account
from tests.radius_harness import wait_for


def _histogram(client, name="lanbill_radius_reply_latency_seconds"):
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        if family.name == name:
            assert family.type == "histogram"
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_latency_histogram_counts_every_reply_sent(app, client, radius_factory):
    radius = radius_factory()
    make_account(agent=radius.agent, login="alice", password="secret-1")
    radius.refresh()
    assert radius.auth("alice", "secret-1").code == packet.AccessAccept
    assert radius.auth("alice", "wrong").code == packet.AccessReject
    assert radius.auth("nobody", "x").code == packet.AccessReject
    assert radius.accounting("alice", "s-1", "Start", Framed_IP_Address="10.0.0.9").code == packet.AccountingResponse
    # a datagram from an unknown NAS gets no reply: no latency counted for it
    assert radius.raw(b"\x01\x01\x00\x14" + b"\x00" * 16, source="127.0.0.2") is None
    wait_for(lambda: radius.worker.counters.values.get("drop:unknown_nas"))
    publish_status(radius.worker, {})

    h = _histogram(client)
    agent = radius.agent.name
    auth = (("agent", agent), ("kind", "auth"))
    acct = (("agent", agent), ("kind", "acct"))
    assert h[("lanbill_radius_reply_latency_seconds_count", auth)] == 3
    assert h[("lanbill_radius_reply_latency_seconds_count", acct)] == 1
    buckets = sorted((float(dict(labels)["le"]), value) for (name, labels), value in h.items()
                     if name.endswith("_bucket") and ("kind", "auth") in labels)
    assert [b for b, _ in buckets] == [*LATENCY_BOUNDS, float("inf")]
    counts = [v for _, v in buckets]
    assert counts == sorted(counts) and counts[-1] == 3  # cumulative, every reply in +Inf
    assert counts[LATENCY_BOUNDS.index(1.0)] == 3  # a loopback reply takes well under a second
    total = h[("lanbill_radius_reply_latency_seconds_sum", auth)]
    assert 0 < total < 3.0


def test_every_bucket_is_there_before_the_first_reply(app, client, radius_factory):
    radius = radius_factory()
    publish_status(radius.worker, {})
    h = _histogram(client)
    for kind in ("auth", "acct"):
        labels = (("agent", radius.agent.name), ("kind", kind))
        assert h[("lanbill_radius_reply_latency_seconds_count", labels)] == 0
        assert len([k for k in h if k[0].endswith("_bucket") and ("kind", kind) in k[1]]) == len(LATENCY_BOUNDS) + 1
