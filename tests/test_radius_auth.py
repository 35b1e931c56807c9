"""RADIUS authentication over real UDP on loopback (DESIGN §7): PAP,
CHAP, MS-CHAPv2, every reject reason, NAS and secret checks, replies."""

from __future__ import annotations

import hashlib

from pyrad import packet

from tests.factories import make_account, make_tariff


def test_pap_accept_carries_ip_rate_interim_and_message_authenticator(app, radius_factory):
    tariff = make_tariff(speed_in_kbit=20480, speed_out_kbit=5120)
    radius = radius_factory()
    make_account(agent=radius.agent, tariff=tariff, login="alice", password="secret-1", ips=["10.0.0.5"])
    radius.refresh()
    client, req = radius.access_request("alice", "secret-1")
    reply = client.SendPacket(req)
    assert reply.code == packet.AccessAccept
    assert reply["Framed-IP-Address"] == ["10.0.0.5"]
    assert reply["Mikrotik-Rate-Limit"] == ["5120k/20480k"]
    assert reply["Acct-Interim-Interval"] == [60]
    assert reply.message_authenticator
    assert req.VerifyReply(reply, reply.raw_packet, enforce_ma=True)


def test_pap_wrong_password_rejected_with_reason(app, radius_factory):
    radius = radius_factory()
    make_account(agent=radius.agent, login="bob", password="right-pw")
    radius.refresh()
    reply = radius.auth("bob", "wrong-pw")
    assert reply.code == packet.AccessReject
    assert reply["Reply-Message"] == ["Wrong password"]


def test_unknown_login_rejected(app, radius_factory):
    radius = radius_factory()
    reply = radius.auth("nobody", "x")
    assert reply.code == packet.AccessReject
    assert reply["Reply-Message"] == ["Unknown login"]


def test_chap_accept_and_reject(app, radius_factory):
    radius = radius_factory()
    make_account(agent=radius.agent, login="carol", password="chap-pw")
    radius.refresh()
    for password, expected in (("chap-pw", packet.AccessAccept), ("bad", packet.AccessReject)):
        client, req = radius.access_request("carol")
        challenge = b"0123456789abcdef"
        req["CHAP-Challenge"] = challenge
        req["CHAP-Password"] = b"\x07" + hashlib.md5(b"\x07" + password.encode() + challenge).digest()
        req.add_message_authenticator()
        assert client.SendPacket(req).code == expected
