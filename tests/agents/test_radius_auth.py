"""RADIUS authentication over real UDP on loopback (DESIGN §7): PAP,
CHAP, MS-CHAPv2, every reject reason, NAS and secret checks, replies."""

from __future__ import annotations

import hashlib

from pyrad import packet

from agents.radius import protocol
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


PEER_CHALLENGE = bytes.fromhex("21402324255E262A28295F2B3A337C7E")


def _mschap2_request(radius, login, password, *, peer=PEER_CHALLENGE,
                     challenge=bytes.fromhex("5B5D7C7D7B3F2F3E3C2C602132262628")):
    client, req = radius.access_request(login)
    nt = protocol.generate_nt_response(challenge, peer, login.encode(), protocol.nt_password_hash(password))
    req["MS-CHAP-Challenge"] = challenge
    req["MS-CHAP2-Response"] = b"\x01\x00" + peer + bytes(8) + nt
    req.add_message_authenticator()
    return client, req, nt


def test_mschap2_rfc2759_vectors():
    """RFC 2759 §9.2: the worked example, byte for byte; RFC 3079 §3.5.3 keys."""
    password_hash = protocol.nt_password_hash("clientPass")
    assert password_hash.hex().upper() == "44EBBA8D5312B8D611474411F56989AE"
    auth_challenge = bytes.fromhex("5B5D7C7D7B3F2F3E3C2C602132262628")
    peer_challenge = bytes.fromhex("21402324255E262A28295F2B3A337C7E")
    assert protocol.challenge_hash(peer_challenge, auth_challenge, b"User").hex().upper() == "D02E4386BCE91226"
    nt = protocol.generate_nt_response(auth_challenge, peer_challenge, b"User", password_hash)
    assert nt.hex().upper() == "82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF"
    assert (protocol.authenticator_response(password_hash, nt, peer_challenge, auth_challenge, b"User")
            == b"S=407A5589115FD0D6209F510FE9C04566932CDA56")
    send_key, _ = protocol.mppe_master_keys(password_hash, nt)
    assert send_key.hex().upper() == "8B7CDC149B993A1BA118CB153F56DCCB"


def test_mschap2_accept_with_success_and_mppe_keys(app, radius_factory):
    radius = radius_factory()
    make_account(agent=radius.agent, login="User", password="clientPass")
    radius.refresh()
    client, req, nt = _mschap2_request(radius, "User", "clientPass")
    reply = client.SendPacket(req)
    assert reply.code == packet.AccessAccept
    assert reply["MS-CHAP2-Success"] == [b"\x01S=407A5589115FD0D6209F510FE9C04566932CDA56"]
    send_key, recv_key = protocol.mppe_master_keys(protocol.nt_password_hash("clientPass"), nt)
    raw = reply.raw_packet
    parsed = protocol.parse(raw[:1] + raw[1:])  # reply layout is the same as a request's
    hidden_send = parsed.vsa[(protocol.VENDOR_MICROSOFT, protocol.MS_MPPE_SEND_KEY)]
    hidden_recv = parsed.vsa[(protocol.VENDOR_MICROSOFT, protocol.MS_MPPE_RECV_KEY)]
    assert protocol.salt_decrypt(hidden_send, req.authenticator, b"testing123") == send_key
    assert protocol.salt_decrypt(hidden_recv, req.authenticator, b"testing123") == recv_key


def test_mschap2_wrong_password_rejected_with_ms_chap_error(app, radius_factory):
    radius = radius_factory()
    make_account(agent=radius.agent, login="User", password="clientPass")
    radius.refresh()
    client, req, _ = _mschap2_request(radius, "User", "not-the-password")
    reply = client.SendPacket(req)
    assert reply.code == packet.AccessReject
    assert reply["Reply-Message"] == ["Wrong password"]
    assert reply["MS-CHAP-Error"][0].endswith("E=691 R=0 V=3")


def test_blocked_account_rejected_and_off_account_rejected(app, radius_factory):
    from lanbill.billing import blocks
    from tests.factories import ACTOR

    radius = radius_factory()
    blocked = make_account(agent=radius.agent, login="blocked1", password="pw-1")
    off = make_account(agent=radius.agent, login="off1", password="pw-1")
    blocks.block_by_staff(blocked, actor=ACTOR, reason="test")
    blocks.set_flag(off, "off", True, actor=ACTOR, reason="test")
    radius.refresh()
    assert radius.auth("blocked1", "pw-1")["Reply-Message"] == ["Account blocked"]
    assert radius.auth("off1", "pw-1")["Reply-Message"] == ["Account is off"]


def test_redirect_policy_accepts_balance_blocked_into_redirect_pool(app, radius_factory):
    from lanbill.billing import blocks
    from tests.factories import ACTOR

    radius = radius_factory(options={"blocked_policy": "redirect", "redirect_pool": "unpaid",
                                     "redirect_rate": "256/128"})
    debtor = make_account(agent=radius.agent, login="debtor", password="pw-1", ips=["10.0.0.9"])
    blocks.set_flag(debtor, "balance", True, actor=ACTOR, reason="test")
    radius.refresh()
    reply = radius.auth("debtor", "pw-1")
    assert reply.code == packet.AccessAccept
    assert reply["Framed-Pool"] == ["unpaid"]
    assert "Framed-IP-Address" not in reply
    assert reply["Mikrotik-Rate-Limit"] == ["128k/256k"]


def test_vendor_speed_attributes_follow_account_bandwidth_then_tariff():
    assert protocol.rate_attributes("accel-ppp", 2048, 512) == protocol.attr(protocol.FILTER_ID, b"2048/512")
    generic = protocol.rate_attributes("generic", 1000, 500)
    assert protocol.vsa(protocol.VENDOR_WISPR, 8, (1000000).to_bytes(4, "big")) in generic
    cisco = protocol.rate_attributes("cisco", 1000, 500)
    assert b"rate-limit output 1000000" in cisco and b"rate-limit input 500000" in cisco
    assert protocol.rate_attributes("mikrotik", 0, 0) == b""


def test_account_bandwidth_overrides_tariff_speed(app, radius_factory):
    tariff = make_tariff(speed_in_kbit=20480, speed_out_kbit=5120)
    radius = radius_factory()
    make_account(agent=radius.agent, tariff=tariff, login="fast", password="pw-1", bandwidth_kbit=1000)
    radius.refresh()
    assert radius.auth("fast", "pw-1")["Mikrotik-Rate-Limit"] == ["1000k/1000k"]


def test_per_minute_tariff_gets_session_timeout_and_pool(app, radius_factory):
    from lanbill.billing.payments import post_payment  # noqa: F401

    tariff = make_tariff(price_per_minute="1.00", prepaid_minutes=30, framed_pool="main-pool", rent="0")
    radius = radius_factory()
    make_account(agent=radius.agent, tariff=tariff, login="minute", password="pw-1")
    radius.refresh()
    reply = radius.auth("minute", "pw-1")
    assert reply["Framed-Pool"] == ["main-pool"]
    assert reply["Session-Timeout"] == [30 * 60]


def test_cache_sees_a_password_change_within_a_refresh(app, radius_factory):
    from lanbill.customers import accounts
    from tests.factories import ACTOR

    radius = radius_factory()
    account = make_account(agent=radius.agent, login="changer", password="old-pw", max_sessions=5)
    radius.refresh()
    assert radius.auth("changer", "old-pw").code == packet.AccessAccept
    accounts.update_account(account, {"password": "new-pw"}, actor=ACTOR)
    radius.refresh()
    assert radius.auth("changer", "old-pw").code == packet.AccessReject
    assert radius.auth("changer", "new-pw").code == packet.AccessAccept
