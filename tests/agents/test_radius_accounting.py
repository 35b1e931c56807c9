"""Accounting (RFC 2866/2869) keeps the online-sessions table; simultaneous
use; stale sessions; CoA/Disconnect (RFC 5176) to a fake NAS on loopback."""

from __future__ import annotations

import datetime as dt
import socket
import threading

import time_machine
from pyrad import packet

from agents.radius import protocol
from agents.radius.coa import send_batch
from agents.radius.sessions import close_stale_sessions
from lanbill.models.radius import CoaRequest, RadiusSession
from lanbill.network import coa
from tests.factories import ACTOR, make_account
from tests.radius_harness import SECRET, free_port, wait_for


def test_start_interim_stop_with_gigawords(app, radius_factory):
    radius = radius_factory()
    account = make_account(agent=radius.agent, login="acc1", password="pw-1")
    radius.refresh()
    reply = radius.accounting("acc1", "s-1", "Start", Framed_IP_Address="10.0.0.8")
    assert reply.code == packet.AccountingResponse
    session = RadiusSession.get(RadiusSession.acct_session_id == "s-1")
    assert session.account_id == account.id and session.stopped_at is None and session.framed_ip == "10.0.0.8"
    radius.accounting("acc1", "s-1", "Interim-Update", Acct_Session_Time=300, Acct_Input_Octets=10,
                      Acct_Input_Gigawords=1, Acct_Output_Octets=20, Acct_Output_Gigawords=2)
    session = RadiusSession.get_by_id(session.id)
    assert session.input_octets == (1 << 32) + 10
    assert session.output_octets == (2 << 32) + 20
    assert session.session_time == 300
    radius.accounting("acc1", "s-1", "Stop", Acct_Session_Time=400, Acct_Input_Octets=11,
                      Acct_Input_Gigawords=1, Acct_Output_Octets=25, Acct_Output_Gigawords=2,
                      Acct_Terminate_Cause="User-Request")
    session = RadiusSession.get_by_id(session.id)
    assert session.stopped_at is not None and session.close_reason == "stop" and session.terminate_cause == 1
    assert session.output_octets == (2 << 32) + 25
    assert not radius.cache.open_sessions.get(account.id)


def test_accounting_on_closes_the_nas_sessions(app, radius_factory):
    radius = radius_factory()
    make_account(agent=radius.agent, login="acc2", password="pw-1")
    radius.refresh()
    radius.accounting("acc2", "s-a", "Start")
    radius.accounting("acc2", "s-b", "Start")
    client = radius.client()
    req = client.CreateAcctPacket()
    req["Acct-Status-Type"] = "Accounting-On"
    assert client.SendPacket(req).code == packet.AccountingResponse
    rows = list(RadiusSession.select())
    assert len(rows) == 2 and all(r.close_reason == "nas-reboot" and r.stopped_at for r in rows)


def test_simultaneous_use_limit_from_open_sessions(app, radius_factory):
    radius = radius_factory()
    make_account(agent=radius.agent, login="acc3", password="pw-1", max_sessions=1)
    radius.refresh()
    radius.accounting("acc3", "s-1", "Start")
    reply = radius.auth("acc3", "pw-1")
    assert reply.code == packet.AccessReject
    assert reply["Reply-Message"] == ["Too many sessions"]
    radius.accounting("acc3", "s-1", "Stop", Acct_Session_Time=10)
    assert radius.auth("acc3", "pw-1").code == packet.AccessAccept


def test_other_worker_learns_sessions_by_polling(app, radius_factory):
    from agents.radius.cache import Cache

    radius = radius_factory()
    account = make_account(agent=radius.agent, login="acc4", password="pw-1")
    radius.refresh()
    other = Cache([radius.agent.id])
    other.load()
    radius.accounting("acc4", "s-9", "Start")
    other.refresh()
    assert other.session_count(account.id) == 1
    radius.accounting("acc4", "s-9", "Stop")
    other.refresh()
    assert other.session_count(account.id) == 0


def test_stale_session_closed_after_three_interim_intervals(app, radius_factory):
    radius = radius_factory()
    make_account(agent=radius.agent, login="acc5", password="pw-1")
    radius.refresh()
    radius.accounting("acc5", "s-5", "Start")
    session = RadiusSession.get(RadiusSession.acct_session_id == "s-5")
    assert close_stale_sessions(radius.agent.id, 60, now=session.updated_at + dt.timedelta(seconds=179)) == 0
    assert close_stale_sessions(radius.agent.id, 60, now=session.updated_at + dt.timedelta(seconds=181)) == 1
    session = RadiusSession.get_by_id(session.id)
    assert session.close_reason == "stale" and session.stopped_at == session.updated_at
    # a late Stop lands on the stale row instead of making a new one
    radius.accounting("acc5", "s-5", "Stop", Acct_Session_Time=99)
    assert RadiusSession.select().count() == 1
    assert RadiusSession.get_by_id(session.id).session_time == 99


# Reply timeout where the fake NAS does answer: it only bounds a lost reply,
# the sender returns as soon as every answer is in.
ANSWERED = 5.0


class FakeNas:
    """A NAS's CoA port on loopback: answers with the codes it is given
    (None = stay silent) and records what it received."""

    def __init__(self, answers):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.answers = list(answers)
        self.received = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            try:
                data, addr = self.sock.recvfrom(4096)
            except OSError:
                continue
            req = protocol.parse(data)
            assert protocol.accounting_authenticator_ok(req, SECRET.encode())
            assert protocol.message_authenticator_ok(req, SECRET.encode())
            self.received.append(req)
            answer = self.answers.pop(0) if self.answers else None
            if answer is None:
                continue
            code, cause = answer
            attributes = protocol.attr_int(protocol.ERROR_CAUSE, cause) if cause else b""
            self.sock.sendto(protocol.build_reply(code, req, SECRET.encode(), attributes, with_ma=False), addr)

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close()


def test_block_sends_disconnect_that_the_nas_acks(app, radius_factory):
    from lanbill.billing import blocks
    from lanbill.models import AuditLog

    nas = FakeNas([(protocol.DISCONNECT_ACK, None)])
    try:
        radius = radius_factory(nas_over={"coa_port": nas.port}, coa_timeout=ANSWERED)
        account = make_account(agent=radius.agent, login="acc6", password="pw-1")
        radius.refresh()
        radius.accounting("acc6", "s-6", "Start", Framed_IP_Address="10.0.0.6")
        blocks.block_by_staff(account, actor=ACTOR, reason="debt")
        request = wait_for(lambda: CoaRequest.get_or_none(CoaRequest.status == "ack"))
        assert request.kind == "disconnect" and request.reason == "block"
        sent = nas.received[0]
        assert sent.code == protocol.DISCONNECT_REQUEST
        assert sent.attrs[protocol.USER_NAME] == b"acc6" and sent.attrs[protocol.ACCT_SESSION_ID] == b"s-6"
        assert AuditLog.get_or_none((AuditLog.action == "radius.disconnect.ack")
                                    & (AuditLog.object_id == str(account.id)))
    finally:
        nas.close()


def test_timeout_and_nak_retried_with_backoff_until_ack(app, radius_factory):
    from lanbill.billing import blocks

    nas = FakeNas([None, (protocol.DISCONNECT_NAK, 506), (protocol.DISCONNECT_ACK, None)])
    try:
        radius = radius_factory(nas_over={"coa_port": nas.port}, coa_timeout=0.3)
        account = make_account(agent=radius.agent, login="acc7", password="pw-1")
        radius.refresh()
        radius.accounting("acc7", "s-7", "Start")
        blocks.block_by_staff(account, actor=ACTOR, reason="debt")
        request = wait_for(lambda: CoaRequest.get_or_none(CoaRequest.attempts == 1))
        assert request.status == "pending" and request.result == "timeout"
        assert coa.retry_due(send_batch, rules=coa.RetryPolicy(), timeout=0.3) == 0  # backoff not over yet
        # the NAS answers these: a generous timeout only bounds a lost reply
        # (the send returns as soon as the answer is in), so a busy machine
        # cannot turn a late NAK into a "timeout"
        with time_machine.travel(request.next_attempt_at + dt.timedelta(seconds=1), tick=False):
            assert coa.retry_due(send_batch, rules=coa.RetryPolicy(), timeout=ANSWERED) == 1
        request = CoaRequest.get_by_id(request.id)
        assert request.status == "pending" and request.result.startswith("NAK") and request.error_cause == 506
        with time_machine.travel(request.next_attempt_at + dt.timedelta(seconds=1), tick=False):
            coa.retry_due(send_batch, rules=coa.RetryPolicy(), timeout=ANSWERED)
        request = CoaRequest.get_by_id(request.id)
        assert request.status == "ack" and request.attempts == 3
        assert len(nas.received) == 3
    finally:
        nas.close()


def test_disconnect_given_up_is_recorded_as_failed(app):
    from lanbill.models import AuditLog
    from tests.factories import make_nas

    nas = make_nas(ip="127.0.0.1", secret=SECRET, coa_port=free_port())
    account = make_account(login="acc8", password="pw-1")
    request = CoaRequest.create(account_id=account.id, nas_id=nas.id, kind="disconnect", reason="block",
                                attributes={"User-Name": "acc8", "Acct-Session-Id": "x"},
                                attempts=coa.MAX_ATTEMPTS - 1)
    coa.retry_due(send_batch, rules=coa.RetryPolicy(), timeout=0.05)
    request = CoaRequest.get_by_id(request.id)
    assert request.status == "failed"
    assert AuditLog.get_or_none(AuditLog.action == "radius.disconnect.failed")


def test_redirect_policy_sends_coa_with_redirect_rate_and_pool(app, radius_factory):
    from lanbill.billing import blocks

    nas = FakeNas([(protocol.COA_ACK, None)])
    try:
        radius = radius_factory(options={"blocked_policy": "redirect", "redirect_pool": "unpaid",
                                         "redirect_rate": "256/128"},
                                nas_over={"coa_port": nas.port}, coa_timeout=ANSWERED)
        account = make_account(agent=radius.agent, login="acc9", password="pw-1")
        radius.refresh()
        radius.accounting("acc9", "s-9", "Start")
        blocks.set_flag(account, "balance", True, actor=ACTOR, reason="debt")
        request = wait_for(lambda: CoaRequest.get_or_none(CoaRequest.status == "ack"))
        assert request.kind == "coa"
        sent = nas.received[0]
        assert sent.code == protocol.COA_REQUEST
        assert sent.attrs[protocol.FRAMED_POOL] == b"unpaid"
        assert sent.vsa[(protocol.VENDOR_MIKROTIK, 8)] == b"128k/256k"
    finally:
        nas.close()


def test_interim_after_stale_close_reopens_the_session(app, radius_factory):
    radius = radius_factory()
    make_account(agent=radius.agent, login="acc10", password="pw-1")
    radius.refresh()
    radius.accounting("acc10", "s-10", "Start")
    session = RadiusSession.get(RadiusSession.acct_session_id == "s-10")
    close_stale_sessions(radius.agent.id, 60, now=session.updated_at + dt.timedelta(seconds=200))
    # the agent still counts it open (no refresh yet): the UPDATE finds nothing, the upsert reopens it
    radius.accounting("acc10", "s-10", "Interim-Update", Acct_Session_Time=500)
    open_rows = list(RadiusSession.select().where(RadiusSession.stopped_at.is_null()))
    assert len(open_rows) == 1 and open_rows[0].session_time == 500



def test_coa_cursor_placed_before_the_agent_answers(app, radius_factory):
    """The feed cursor exists when start-up returns: a block set the moment
    the agent is up is after it (placed later by the dispatcher thread, the
    cursor could land past that block and skip it)."""
    from lanbill.billing import blocks
    from lanbill.models import AccountStateChange
    from lanbill.models.radius import RadiusCursor

    account = make_account(login="acc11", password="pw-1")
    blocks.block_by_staff(account, actor=ACTOR, reason="old")  # before the agent: not its to push
    last = AccountStateChange.select().order_by(AccountStateChange.id.desc()).first()
    radius = radius_factory()
    cursor = RadiusCursor.get_or_none(RadiusCursor.name == radius.service.dispatcher.cursor_name)
    assert cursor is not None and cursor.value == last.id
