"""Bad input never crashes the agent: unknown NAS, wrong secret, missing or
wrong Message-Authenticator, malformed datagrams are dropped and counted,
and the next valid request is still answered.  Also radclient/radtest."""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyrad import packet

from agents.radius import protocol
from tests.factories import make_account
from tests.radius_harness import SECRET


def _valid(radius, login="dave", password="pw-1", max_sessions=0):
    return radius.auth(login, password).code == packet.AccessAccept


def test_unknown_nas_dropped_and_counted(app, radius_factory):
    radius = radius_factory()
    make_account(agent=radius.agent, login="dave", password="pw-1", max_sessions=0)
    radius.refresh()
    client, req = radius.access_request("dave", "pw-1")
    data = req.RequestPacket()
    assert radius.raw(data, source="127.0.0.77") is None
    assert radius.drops("unknown_nas") == 1
    assert _valid(radius)


def test_wrong_secret_dropped_and_counted(app, radius_factory):
    radius = radius_factory()
    make_account(agent=radius.agent, login="dave", password="pw-1", max_sessions=0)
    radius.refresh()
    client, req = radius.access_request("dave", "pw-1", secret="not-the-secret")
    assert radius.raw(req.RequestPacket()) is None
    assert radius.drops("bad_authenticator") == 1
    # accounting with a wrong secret: the request authenticator fails
    acct = radius.client("not-the-secret").CreateAcctPacket(User_Name="dave")
    acct["Acct-Status-Type"] = "Start"
    acct["Acct-Session-Id"] = "x1"
    assert radius.raw(acct.RequestPacket(), port=radius.acct_port) is None
    assert radius.drops("bad_authenticator") == 2
    assert _valid(radius)


def test_message_authenticator_required_missing_and_wrong(app, radius_factory):
    radius = radius_factory()
    make_account(agent=radius.agent, login="dave", password="pw-1", max_sessions=0)
    radius.refresh()
    client, req = radius.access_request("dave", "pw-1", with_ma=False)
    assert radius.raw(req.RequestPacket()) is None
    assert radius.drops("missing_message_authenticator") == 1
    client, req = radius.access_request("dave", "pw-1")
    data = bytearray(req.RequestPacket())
    offset = data.index(b"\x50\x12") + 2
    data[offset] ^= 0xFF
    assert radius.raw(bytes(data)) is None
    assert radius.drops("bad_authenticator") == 1
    assert _valid(radius)


def test_nas_without_requirement_accepts_requests_without_message_authenticator(app, radius_factory):
    radius = radius_factory(nas_over={"require_message_authenticator": False})
    make_account(agent=radius.agent, login="dave", password="pw-1", max_sessions=0)
    radius.refresh()
    client, req = radius.access_request("dave", "pw-1", with_ma=False)
    reply = client.SendPacket(req)
    assert reply.code == packet.AccessAccept
    assert reply.message_authenticator  # always sent in replies


def _acct_with_ma(radius, login, session_id, status="Start"):
    """An Accounting-Request carrying a Message-Authenticator, built by
    pyrad (RFC 3579 §3.2 / RFC 5176 §3.3: HMAC over a zeroed Request
    Authenticator, then the Request Authenticator over the whole packet)."""
    client = radius.client()
    req = client.CreateAcctPacket(User_Name=login, message_authenticator=True)
    req["Acct-Status-Type"] = status
    req["Acct-Session-Id"] = session_id
    req.add_message_authenticator()
    return client, req


def test_accounting_request_with_valid_message_authenticator_answered(app, radius_factory):
    from lanbill.models.radius import RadiusSession

    radius = radius_factory()  # this NAS requires Message-Authenticator (the default)
    make_account(agent=radius.agent, login="dave", password="pw-1")
    radius.refresh()
    client, req = _acct_with_ma(radius, "dave", "ma-1")
    data = req.RequestPacket()
    assert b"\x50\x12" in data[20:]
    reply = radius.raw(data, port=radius.acct_port, timeout=2.0)
    assert reply is not None and reply[0] == packet.AccountingResponse
    assert RadiusSession.get(RadiusSession.acct_session_id == "ma-1").stopped_at is None
    assert radius.drops("bad_authenticator") == 0


def test_accounting_request_with_wrong_message_authenticator_dropped_and_counted(app, radius_factory):
    from lanbill.models.radius import RadiusSession

    radius = radius_factory()
    make_account(agent=radius.agent, login="dave", password="pw-1")
    radius.refresh()
    client, req = _acct_with_ma(radius, "dave", "ma-2")
    data = bytearray(req.RequestPacket())
    offset = data.index(b"\x50\x12", 20) + 2
    data[offset] ^= 0xFF
    # the Request Authenticator is made right again over the altered bytes:
    # only the Message-Authenticator is wrong, and it alone must drop it
    data[4:20] = bytes(16)
    data[4:20] = hashlib.md5(bytes(data) + SECRET.encode()).digest()
    mangled = protocol.parse(bytes(data))
    assert protocol.accounting_authenticator_ok(mangled, SECRET.encode())
    assert not protocol.message_authenticator_ok(mangled, SECRET.encode())
    assert radius.raw(bytes(data), port=radius.acct_port) is None
    assert radius.drops("bad_authenticator") == 1
    assert RadiusSession.get_or_none(RadiusSession.acct_session_id == "ma-2") is None
    # the next valid one is answered
    assert radius.accounting("dave", "ma-2", "Start").code == packet.AccountingResponse
    assert RadiusSession.get(RadiusSession.acct_session_id == "ma-2").stopped_at is None


def test_accounting_request_without_message_authenticator_answered_even_when_required(app, radius_factory):
    """The requirement (CVE-2024-3596) is on Access-Request, as in FreeRADIUS's
    require_message_authenticator: an Accounting-Request is already signed
    whole by its Request Authenticator, and MikroTik/accel-ppp send none."""
    from lanbill.models.radius import RadiusSession

    radius = radius_factory(nas_over={"require_message_authenticator": True})
    make_account(agent=radius.agent, login="dave", password="pw-1")
    radius.refresh()
    client = radius.client()
    req = client.CreateAcctPacket(User_Name="dave")
    req["Acct-Status-Type"] = "Start"
    req["Acct-Session-Id"] = "ma-3"
    data = req.RequestPacket()
    assert b"\x50\x12" not in data[20:]
    reply = radius.raw(data, port=radius.acct_port, timeout=2.0)
    assert reply is not None and reply[0] == packet.AccountingResponse
    assert RadiusSession.get(RadiusSession.acct_session_id == "ma-3")
    assert radius.drops("missing_message_authenticator") == 0


@pytest.mark.parametrize("mangle,reason", [
    (lambda d: d[:15], "truncated"),
    (lambda d: d[:2] + struct.pack("!H", len(d) + 40) + d[4:], "truncated"),
    (lambda d: d[:2] + struct.pack("!H", 12) + d[4:], "bad_length"),
    (lambda d: d + b"\x01", None),  # padding past Length is ignored (RFC 2865 §3)
    (lambda d: d[:20] + b"\x01\x00" + d[20:], "bad_attribute"),
    (lambda d: d[:20] + b"\x05\x03\x00" + d[20:], "bad_attribute"),
    (lambda d: d[:20] + b"\x1a\x05\x00\x00\x00" + d[20:], "bad_attribute"),
])
def test_malformed_packets_dropped_counted_and_next_request_answered(app, radius_factory, mangle, reason):
    radius = radius_factory(nas_over={"require_message_authenticator": False})
    make_account(agent=radius.agent, login="dave", password="pw-1", max_sessions=0)
    radius.refresh()
    client, req = radius.access_request("dave", "pw-1", with_ma=False)
    data = mangle(req.RequestPacket())
    if reason is not None:
        fixed = data[:2] + struct.pack("!H", len(data)) + data[4:] if reason == "bad_attribute" else data
        assert radius.raw(fixed) is None
        assert radius.drops(reason) == 1
    else:
        assert radius.raw(data) is not None
    assert _valid(radius)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=0, max_size=300))
def test_parser_never_raises_anything_but_malformed(data):
    try:
        protocol.parse(data)
    except protocol.Malformed:
        pass


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 255), st.binary(max_size=40)), max_size=12))
def test_parser_reads_back_every_well_formed_attribute(attributes):
    body = b"".join(bytes((t, len(v) + 2)) + v for t, v in attributes)
    data = struct.pack("!BBH", 1, 7, 20 + len(body)) + bytes(16) + body
    try:
        req = protocol.parse(data)
    except protocol.Malformed:
        return  # a fixed-size attribute with the wrong size, or a bad VSA
    for attr_type, _value in attributes:
        if attr_type not in (protocol.VENDOR_SPECIFIC, protocol.PROXY_STATE, protocol.MESSAGE_AUTHENTICATOR):
            assert attr_type in req.attrs
    assert req.ident == 7


def test_garbage_flood_then_valid_request(app, radius_factory):
    radius = radius_factory()
    make_account(agent=radius.agent, login="dave", password="pw-1", max_sessions=0)
    radius.refresh()
    for _ in range(200):
        radius.raw(os.urandom(40), timeout=0.001)
    assert _valid(radius)
    assert sum(v for k, v in radius.worker.counters.values.items() if k.startswith("drop:")) >= 190


needs_radclient = pytest.mark.skipif(shutil.which("radclient") is None, reason="freeradius-utils not installed")


@needs_radclient
def test_radclient_pap_accept_and_reject(app, radius_factory):
    radius = radius_factory()
    make_account(agent=radius.agent, login="eve", password="eve-pw", ips=["10.1.0.7"], max_sessions=0)
    radius.refresh()
    for password, expected in (("eve-pw", "Access-Accept"), ("nope", "Access-Reject")):
        out = subprocess.run(
            ["radclient", "-x", "-r", "1", "-t", "2", f"127.0.0.1:{radius.auth_port}", "auth", "testing123"],
            input=f'User-Name = "eve"\nUser-Password = "{password}"\nMessage-Authenticator = 0x00\n',
            capture_output=True, text=True, timeout=10)
        assert f"Received {expected}" in out.stdout, out.stdout + out.stderr
    assert "Framed-IP-Address = 10.1.0.7" in subprocess.run(
        ["radclient", "-x", f"127.0.0.1:{radius.auth_port}", "auth", "testing123"],
        input='User-Name = "eve"\nUser-Password = "eve-pw"\nMessage-Authenticator = 0x00\n',
        capture_output=True, text=True, timeout=10).stdout


@needs_radclient
def test_radtest_chap_and_mschap(app, radius_factory):
    radius = radius_factory(options={"allow_mschap1": True}, nas_over={"require_message_authenticator": False})
    make_account(agent=radius.agent, login="frank", password="frank-pw", max_sessions=0)
    radius.refresh()
    for method in ("chap", "mschap"):
        out = subprocess.run(["radtest", "-t", method, "frank", "frank-pw", f"127.0.0.1:{radius.auth_port}", "0",
                              "testing123"], capture_output=True, text=True, timeout=15)
        assert "Received Access-Accept" in out.stdout, method + out.stdout + out.stderr
        bad = subprocess.run(["radtest", "-t", method, "frank", "bad-pw", f"127.0.0.1:{radius.auth_port}", "0",
                              "testing123"], capture_output=True, text=True, timeout=15)
        assert "Received Access-Reject" in bad.stdout, method + bad.stdout


@needs_radclient
def test_radclient_accounting_start_and_stop(app, radius_factory):
    from lanbill.models.radius import RadiusSession

    radius = radius_factory()
    make_account(agent=radius.agent, login="gina", password="pw-1")
    radius.refresh()
    for status in ("Start", "Stop"):
        out = subprocess.run(["radclient", "-x", f"127.0.0.1:{radius.acct_port}", "acct", "testing123"],
                             input=f'User-Name = "gina"\nAcct-Status-Type = {status}\nAcct-Session-Id = "rc-1"\n'
                                   'Acct-Session-Time = 60\nAcct-Output-Octets = 1000\n',
                             capture_output=True, text=True, timeout=10)
        assert "Received Accounting-Response" in out.stdout, out.stdout + out.stderr
    session = RadiusSession.get(RadiusSession.acct_session_id == "rc-1")
    assert session.stopped_at is not None and session.output_octets == 1000
