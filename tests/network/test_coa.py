"""The CoA/Disconnect outbox (lanbill/network/coa.py) with a stand-in for
the RADIUS agent's sender: what each answer does to a request, the retry
schedule, and the staff's disconnect."""

from __future__ import annotations

import datetime as dt

import pytest

from lanbill.clock import now_utc
from lanbill.errors import ValidationError
from lanbill.models import AuditLog
from lanbill.models.radius import CoaRequest, RadiusSession
from lanbill.network import coa
from tests.factories import ACTOR, make_account, make_nas

RULES = coa.RetryPolicy(timeout=0.01, max_attempts=3, backoff_first=10, backoff_max=25)


class Sender:
    """Answers each request with the next of `answers` (None: silence) and
    remembers what it was asked to send."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.sent: list[list[int]] = []

    def __call__(self, requests, timeout):
        self.sent.append([request.id for request in requests])
        answer = self.answers.pop(0)
        return {} if answer is None else {request.id: answer for request in requests}


def _request(kind="coa", **over) -> CoaRequest:
    account = make_account()
    nas = make_nas()
    data = dict(account_id=account.id, nas_id=nas.id, kind=kind, reason="speed",
                attributes={"User-Name": account.login, "Acct-Session-Id": "s-1", "rate": [512, 512]})
    data.update(over)
    return CoaRequest.create(**data)


def test_backoff_doubles_up_to_its_ceiling():
    assert [RULES.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 25, 25]


def test_the_retry_policy_comes_from_the_settings_given():
    rules = coa.retry_policy({"RADIUS_COA_TIMEOUT": 0.5, "RADIUS_COA_MAX_ATTEMPTS": 4, "RADIUS_COA_BACKOFF": 3,
                              "RADIUS_COA_BACKOFF_MAX": 30})
    assert rules == coa.RetryPolicy(timeout=0.5, max_attempts=4, backoff_first=3.0, backoff_max=30.0)


def test_ack_closes_the_request_and_writes_the_account_history(app):
    request = _request()
    now = now_utc()
    coa.attempt([request], Sender(coa.Answer(acked=True)), rules=RULES, now=now)
    request = CoaRequest.get_by_id(request.id)
    assert request.status == "ack" and request.attempts == 1 and request.finished_at == now
    assert AuditLog.get_or_none((AuditLog.action == "radius.coa.ack")
                                & (AuditLog.object_id == str(request.account_id)))


def test_silence_is_retried_with_backoff_then_given_up_as_failed(app):
    request = _request(kind="disconnect")
    sender = Sender(None, None, None)
    now = now_utc()
    coa.attempt([request], sender, rules=RULES, now=now)
    request = CoaRequest.get_by_id(request.id)
    assert request.status == "pending" and request.result == "timeout"
    assert request.next_attempt_at == now + dt.timedelta(seconds=10)
    assert coa.retry_due(sender, rules=RULES, now=now) == 0  # not due yet
    assert coa.retry_due(sender, rules=RULES, now=now + dt.timedelta(seconds=10)) == 1
    assert coa.retry_due(sender, rules=RULES, now=now + dt.timedelta(seconds=40)) == 1
    request = CoaRequest.get_by_id(request.id)
    assert request.status == "failed" and request.attempts == 3 and len(sender.sent) == 3
    assert AuditLog.get_or_none(AuditLog.action == "radius.disconnect.failed")


def test_a_refused_coa_falls_back_to_a_disconnect(app):
    request = _request()
    coa.attempt([request], Sender(coa.Answer(acked=False, error_cause=501)), rules=RULES)
    request = CoaRequest.get_by_id(request.id)
    assert request.status == "nak" and request.result == "NAK: Administratively-Prohibited"
    [fallback] = coa.unsent_fallbacks()
    assert fallback.kind == "disconnect" and fallback.reason == "fallback"
    assert fallback.attributes == {"User-Name": request.attributes["User-Name"], "Acct-Session-Id": "s-1"}


def test_resources_unavailable_is_retried_and_session_not_found_is_gone(app):
    busy = _request()
    coa.attempt([busy], Sender(coa.Answer(False, coa.ERROR_RESOURCES_UNAVAILABLE)), rules=RULES)
    busy = CoaRequest.get_by_id(busy.id)
    assert busy.status == "pending" and busy.error_cause == 506
    missing = _request()
    coa.attempt([missing], Sender(coa.Answer(False, coa.ERROR_SESSION_NOT_FOUND)), rules=RULES)
    assert CoaRequest.get_by_id(missing.id).status == "gone"


def test_staff_disconnect_of_an_ended_session_is_refused(app):
    account = make_account()
    nas = make_nas()
    now = now_utc()
    session = RadiusSession.create(agent_id=account.agent_id, nas_id=nas.id, account_id=account.id,
                                   login=account.login, acct_session_id="s-9", started_at=now, updated_at=now,
                                   state_changed_at=now)
    request = coa.request_disconnect(session, actor=ACTOR)
    assert request.kind == "disconnect" and request.reason == "staff"
    assert request.attributes == {"User-Name": account.login, "Acct-Session-Id": "s-9"}
    session.stopped_at = now
    with pytest.raises(ValidationError):
        coa.request_disconnect(session, actor=ACTOR)
    assert CoaRequest.select().count() == 1
