"""What the RADIUS agent refuses to be fooled by, over real UDP on
loopback: retransmissions (RFC 5080 duplicate detection), empty service
passwords, MS-CHAPv1 unless allowed, replayed accounting, and a bad
accounting record in a batch of good ones."""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import struct
import time

import pytest

from agents.radius import protocol as p
from agents.radius.duplicates import ABSENT, NO_REPLY, ReplyCache, SharedReplyCache
from agents.radius.server import MAX_SESSION_OCTETS, Counters
from agents.radius.sessions import Record, Writer
from lanbill.models import Account
from lanbill.models.radius import RadiusSession
from tests.factories import make_account
from tests.radius_harness import SECRET, wait_for

KEY = SECRET.encode()


def access_request(login: str, password: bytes | None = None, *, ident: int = 1, extra: bytes = b"") -> bytes:
    """An Access-Request with a Message-Authenticator, built by hand."""
    authenticator = os.urandom(16)
    body = p.attr(p.USER_NAME, login.encode())
    if password is not None:
        body += p.attr(p.USER_PASSWORD, p.pap_encrypt(password, authenticator, KEY))
    body += extra
    header = struct.pack("!BBH", p.ACCESS_REQUEST, ident, 38 + len(body))
    ma = hmac.digest(KEY, header + authenticator + b"\x50\x12" + bytes(16) + body, "md5")
    return header + authenticator + b"\x50\x12" + ma + body


def accounting_request(attributes: bytes, *, ident: int = 1) -> bytes:
    header = struct.pack("!BBH", p.ACCOUNTING_REQUEST, ident, 20 + len(attributes))
    return header + hashlib.md5(header + bytes(16) + attributes + KEY).digest() + attributes


def accounting(login: str, session_id: str, status: int, **counters) -> bytes:
    body = (p.attr(p.USER_NAME, login.encode()) + p.attr_int(p.ACCT_STATUS_TYPE, status)
            + p.attr(p.ACCT_SESSION_ID, session_id.encode()))
    for name, value in counters.items():
        body += p.attr_int(getattr(p, name.upper()), value)
    return body


class Nas:
    """One NAS socket (one source port), as a retransmitting NAS has."""

    def __init__(self, port: int, timeout: float = 1.0):
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(timeout)

    def send(self, data: bytes) -> None:
        self.sock.sendto(data, ("127.0.0.1", self.port))

    def receive(self) -> bytes | None:
        try:
            return self.sock.recvfrom(4096)[0]
        except TimeoutError:
            return None

    def exchange(self, data: bytes) -> bytes | None:
        self.send(data)
        return self.receive()

    def close(self):
        self.sock.close()


def reply_message(reply: bytes) -> bytes:
    request = p.parse(reply)
    return request.attrs.get(p.REPLY_MESSAGE, b"")


def counter(radius, name: str) -> int:
    return radius.worker.counters.values.get(name, 0)


# --- duplicate detection -------------------------------------------------------------------

def test_retransmitted_access_request_gets_the_same_accept_and_is_not_counted_again(app, radius_factory):
    radius = radius_factory()
    account = make_account(agent=radius.agent, login="retry1", password="pw-1", max_sessions=1)
    radius.refresh()
    nas = Nas(radius.auth_port)
    request = access_request("retry1", b"pw-1", ident=7)
    first = nas.exchange(request)
    again = nas.exchange(request)  # the NAS lost the Accept and sends the same request
    nas.close()
    assert first[0] == p.ACCESS_ACCEPT
    assert again == first
    assert counter(radius, "accepts") == 1 and counter(radius, "duplicates") == 1
    assert radius.cache.session_count(account.id) == 1


def test_same_identifier_and_authenticator_from_another_port_is_a_new_request(app, radius_factory):
    radius = radius_factory()
    make_account(agent=radius.agent, login="retry2", password="pw-1", max_sessions=0)
    radius.refresh()
    request = access_request("retry2", b"pw-1")
    one, two = Nas(radius.auth_port), Nas(radius.auth_port)
    assert one.exchange(request)[0] == p.ACCESS_ACCEPT
    assert two.exchange(request)[0] == p.ACCESS_ACCEPT
    one.close()
    two.close()
    assert counter(radius, "accepts") == 2 and counter(radius, "duplicates") == 0


def test_accept_that_failed_to_build_does_not_count_against_the_session_limit(app, radius_factory, monkeypatch):
    radius = radius_factory()
    make_account(agent=radius.agent, login="retry3", password="pw-1", max_sessions=1)
    radius.refresh()
    build = radius.worker.accept_attributes
    failures = []

    def fail_once(*args):
        if not failures:
            failures.append(1)
            raise RuntimeError("reply could not be built")
        return build(*args)

    monkeypatch.setattr(radius.worker, "accept_attributes", fail_once)
    nas = Nas(radius.auth_port, timeout=0.3)
    assert nas.exchange(access_request("retry3", b"pw-1")) is None
    nas.sock.settimeout(1.0)
    reply = nas.exchange(access_request("retry3", b"pw-1", ident=2))
    nas.close()
    assert reply[0] == p.ACCESS_ACCEPT, reply_message(reply)
    assert radius.drops("internal_error") == 1


def test_retransmitted_accounting_stop_is_booked_once(app, radius_factory):
    radius = radius_factory()
    make_account(agent=radius.agent, login="retry4", password="pw-1")
    radius.refresh()
    nas = Nas(radius.acct_port)
    assert nas.exchange(accounting_request(accounting("retry4", "dup-1", p.ACCT_START), ident=1))
    stop = accounting_request(accounting("retry4", "dup-1", p.ACCT_STOP, acct_session_time=60), ident=2)
    first = nas.exchange(stop)
    again = nas.exchange(stop)
    nas.close()
    assert first is not None and again == first
    assert RadiusSession.select().where(RadiusSession.acct_session_id == "dup-1").count() == 1
    assert counter(radius, "acct_stop") == 1 and counter(radius, "duplicates") == 1


@pytest.mark.parametrize("cache_class", [ReplyCache, SharedReplyCache])
def test_reply_cache_keeps_replies_their_time_and_at_most_its_size(monkeypatch, cache_class):
    clock = [100.0]
    monkeypatch.setattr("agents.radius.duplicates.time.monotonic", lambda: clock[0])
    replies = cache_class(seconds=30, max_entries=4)
    replies.put("a", b"reply-a")
    clock[0] += 29
    assert replies.get("a") == b"reply-a"
    clock[0] += 32  # kept at least 30 s, at most twice that
    assert replies.get("a") is ABSENT
    for key in "bcdef":
        replies.put(key, NO_REPLY)
    assert len(replies) <= 4 and replies.get("b") is ABSENT and replies.get("f") is NO_REPLY
    replies.fulfil("f", b"reply-f")
    assert replies.get("f") == b"reply-f"
    replies.forget("f")
    assert replies.get("f") is ABSENT


# --- empty service passwords and MS-CHAPv1 ------------------------------------------------

def test_account_with_empty_service_password_is_never_accepted(app, radius_factory):
    radius = radius_factory()
    account = make_account(agent=radius.agent, login="nopw", password="pw-1", max_sessions=0)
    # an account stored before the rule (or written around it)
    Account.update(password="", updated_at=account.updated_at.replace(year=2030)).where(
        Account.id == account.id).execute()
    radius.refresh()
    assert radius.cache.accounts_by_id[account.id].password_bytes == b""
    nas = Nas(radius.auth_port)
    pap = nas.exchange(access_request("nopw", b"", ident=1))
    challenge = os.urandom(16)
    chap = nas.exchange(access_request("nopw", ident=2, extra=(
        p.attr(p.CHAP_PASSWORD, b"\x07" + hashlib.md5(b"\x07" + challenge).digest())
        + p.attr(p.CHAP_CHALLENGE, challenge))))
    mschap_challenge = os.urandom(16)
    peer = os.urandom(16)
    nt = p.generate_nt_response(mschap_challenge, peer, b"nopw", p.nt_password_hash(""))
    mschap2 = nas.exchange(access_request("nopw", ident=3, extra=(
        p.vsa(p.VENDOR_MICROSOFT, p.MS_CHAP_CHALLENGE, mschap_challenge)
        + p.vsa(p.VENDOR_MICROSOFT, p.MS_CHAP2_RESPONSE, b"\x01\x00" + peer + bytes(8) + nt))))
    nas.close()
    for reply in (pap, chap, mschap2):
        assert reply[0] == p.ACCESS_REJECT
    assert counter(radius, "accepts") == 0 and counter(radius, "reject:no_service_password") == 3


def _mschap1(login: str, password: str, ident: int) -> bytes:
    challenge = os.urandom(8)
    response = p.challenge_response(challenge, p.nt_password_hash(password))
    return access_request(login, ident=ident, extra=(
        p.vsa(p.VENDOR_MICROSOFT, p.MS_CHAP_CHALLENGE, challenge)
        + p.vsa(p.VENDOR_MICROSOFT, p.MS_CHAP_RESPONSE, b"\x01\x01" + bytes(24) + response)))


def test_mschap1_is_rejected_unless_the_agent_allows_it(app, radius_factory):
    strict = radius_factory()
    make_account(agent=strict.agent, login="old1", password="pw-1", max_sessions=0)
    strict.refresh()
    nas = Nas(strict.auth_port)
    reply = nas.exchange(_mschap1("old1", "pw-1", 1))
    nas.close()
    assert reply[0] == p.ACCESS_REJECT and reply_message(reply) == b"MS-CHAPv1 is not allowed"
    assert counter(strict, "reject:mschap1_disabled") == 1

    lenient = radius_factory(options={"allow_mschap1": True}, nas_over={"ip": "127.0.0.2"})
    make_account(agent=lenient.agent, login="old2", password="pw-2", max_sessions=0)
    lenient.refresh()
    nas = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    nas.bind(("127.0.0.2", 0))
    nas.settimeout(1.0)
    for password, code in (("pw-2", p.ACCESS_ACCEPT), ("wrong", p.ACCESS_REJECT)):
        nas.sendto(_mschap1("old2", password, 2 if code == p.ACCESS_ACCEPT else 3), ("127.0.0.1", lenient.auth_port))
        assert nas.recvfrom(4096)[0][0] == code
    nas.close()


# --- replayed accounting -------------------------------------------------------------------

def test_interim_update_with_counters_going_backwards_is_dropped(app, radius_factory):
    radius = radius_factory()
    make_account(agent=radius.agent, login="replay1", password="pw-1")
    radius.refresh()
    nas = Nas(radius.acct_port, timeout=0.5)
    assert nas.exchange(accounting_request(accounting("replay1", "r-1", p.ACCT_START), ident=1))
    newer = accounting("replay1", "r-1", p.ACCT_INTERIM, acct_session_time=600, acct_input_octets=5000,
                       acct_output_octets=9000)
    older = accounting("replay1", "r-1", p.ACCT_INTERIM, acct_session_time=300, acct_input_octets=2000,
                       acct_output_octets=4000)
    assert nas.exchange(accounting_request(newer, ident=2))
    assert nas.exchange(accounting_request(older, ident=3)) is None
    nas.close()
    session = RadiusSession.get(RadiusSession.acct_session_id == "r-1")
    assert (session.session_time, session.input_octets, session.output_octets) == (600, 5000, 9000)
    assert radius.drops("counters_backwards") == 1


def test_replayed_accounting_on_and_interim_with_old_event_timestamp_are_dropped(app, radius_factory):
    radius = radius_factory()
    make_account(agent=radius.agent, login="replay2", password="pw-1")
    radius.refresh()
    nas = Nas(radius.acct_port, timeout=0.5)
    assert nas.exchange(accounting_request(accounting("replay2", "r-2", p.ACCT_START), ident=1))
    two_days_ago = int(time.time()) - 2 * 86400
    reboot = p.attr_int(p.ACCT_STATUS_TYPE, p.ACCT_ON) + p.attr_int(p.EVENT_TIMESTAMP, two_days_ago)
    assert nas.exchange(accounting_request(reboot, ident=2)) is None
    interim = accounting("replay2", "r-2", p.ACCT_INTERIM, acct_session_time=900, event_timestamp=two_days_ago)
    assert nas.exchange(accounting_request(interim, ident=3)) is None
    delayed = accounting("replay2", "r-2", p.ACCT_INTERIM, acct_session_time=900, acct_delay_time=3 * 86400)
    assert nas.exchange(accounting_request(delayed, ident=4)) is None
    session = RadiusSession.get(RadiusSession.acct_session_id == "r-2")
    assert session.stopped_at is None and session.session_time == 0
    assert radius.drops("stale_event") == 3
    # a timely Accounting-On still closes the NAS's sessions
    now = p.attr_int(p.ACCT_STATUS_TYPE, p.ACCT_ON) + p.attr_int(p.EVENT_TIMESTAMP, int(time.time()))
    assert nas.exchange(accounting_request(now, ident=5))
    nas.close()
    assert RadiusSession.get_by_id(session.id).close_reason == "nas-reboot"


# --- one bad record in a batch --------------------------------------------------------------

def test_start_with_absurd_gigawords_beside_a_valid_start_both_answered(app, radius_factory):
    radius = radius_factory()
    make_account(agent=radius.agent, login="giga1", password="pw-1")
    make_account(agent=radius.agent, login="giga2", password="pw-1")
    radius.refresh()
    nas = Nas(radius.acct_port)
    bad = accounting("giga1", "g-1", p.ACCT_START, acct_input_gigawords=0xFFFFFFFF, acct_input_octets=0xFFFFFFFF)
    good = accounting("giga2", "g-2", p.ACCT_START)
    nas.send(accounting_request(bad, ident=1))  # sent together: one batch
    nas.send(accounting_request(good, ident=2))
    answers = {nas.receive(), nas.receive()}
    assert None not in answers and {reply[1] for reply in answers} == {1, 2}
    interim = accounting("giga1", "g-1", p.ACCT_INTERIM, acct_session_time=60, acct_output_gigawords=0xFFFFFFFF)
    assert nas.exchange(accounting_request(interim, ident=3))
    nas.close()
    sessions = {s.acct_session_id: s for s in RadiusSession.select()}
    assert set(sessions) == {"g-1", "g-2"} and sessions["g-1"].input_octets == 0
    assert sessions["g-1"].output_octets == MAX_SESSION_OCTETS


def test_a_record_the_database_refuses_is_dropped_alone_and_the_batch_is_booked(app, radius_factory):
    radius = radius_factory()
    writer = radius.worker.writer
    results = {}
    good = Record("start", radius.agent.id, radius.nas.id, None, "w1", "w-good")
    bad = Record("interim", radius.agent.id, radius.nas.id, None, "w2", "w-bad", input_octets=2**64)
    # the batch is queued before the writer wakes up: both in one transaction
    writer.queue.append((bad, lambda record, ok: results.__setitem__("bad", ok)))
    writer.submit(good, lambda record, ok: results.__setitem__("good", ok))
    wait_for(lambda: len(results) == 2)
    assert results == {"good": True, "bad": False}
    assert [s.acct_session_id for s in RadiusSession.select()] == ["w-good"]
    assert radius.drops("bad_record") == 1


def test_writer_keeps_answering_after_a_record_that_failed_alone(app):
    counters = Counters()
    writer = Writer(counters).start()
    results = []
    writer.submit(Record("interim", 1, 1, None, "x", "x-1", input_octets=2**64), lambda record, ok: results.append(ok))
    wait_for(lambda: results)
    writer.submit(Record("start", 1, 1, None, "y", "y-1"), lambda record, ok: results.append(ok))
    wait_for(lambda: len(results) == 2)
    writer.stop()
    assert results == [False, True] and counters.values["drop:bad_record"] == 1


def test_nul_characters_in_accounting_text_do_not_break_the_batch(app, radius_factory):
    radius = radius_factory()
    make_account(agent=radius.agent, login="nul1", password="pw-1")
    radius.refresh()
    nas = Nas(radius.acct_port)
    start = (p.attr(p.USER_NAME, b"nul1") + p.attr_int(p.ACCT_STATUS_TYPE, p.ACCT_START)
             + p.attr(p.ACCT_SESSION_ID, b"n\x00ul") + p.attr(p.CALLING_STATION_ID, b"aa\x00bb"))
    assert nas.exchange(accounting_request(start))
    nas.close()
    session = RadiusSession.get()
    assert (session.acct_session_id, session.calling_station_id) == ("nul", "aabb")
