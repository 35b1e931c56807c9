"""The CoA/Disconnect outbox (RFC 5176, DESIGN §5, §7): which requests an
account's change calls for, when each is retried, and how its outcome is
recorded.  The RADIUS agent's sender (agents/radius/coa.py) puts them on
the wire; every function here that sends takes that sender as `send`.

The event feed is `AccountStateChange` read by increasing id (DESIGN §5):
- the access mode (accept / redirect / reject, from the agent's
  blocked_policy) changes to reject → Disconnect-Request per open session;
- it changes to redirect or back to accept → CoA-Request with the new rate
  and pool (a NAK falls back to a Disconnect, so the subscriber reconnects
  into the right pool);
- the speed of an online account changes → CoA-Request with the new rate.

Outcomes (CoaRequest.status): ack; nak (final, with Error-Cause); gone (the
NAS answered Session-Context-Not-Found, or the session ended meanwhile);
failed (no answer after RADIUS_COA_MAX_ATTEMPTS).  A timeout or a NAK with
Resources-Unavailable (506) is retried with backoff: RADIUS_COA_BACKOFF
(10 s) doubling up to RADIUS_COA_BACKOFF_MAX (10 min); one attempt waits
RADIUS_COA_TIMEOUT (2 s) for the answer — settings in lanbill/config.py,
LANBILL_* in the environment.  Every final outcome is written to the audit
log of the account, which its history shows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import NamedTuple

from lanbill.clock import now_utc
from lanbill.config import DEFAULTS, radius_coa_settings
from lanbill.db import is_sqlite, transaction
from lanbill.errors import N_, ValidationError
from lanbill.models import Account, AccountStateChange, Agent
from lanbill.models.radius import CoaRequest, RadiusCursor, RadiusSession
from lanbill.network.agent_options import RadiusOptions
from lanbill.network.radius_access import parse_rate, speed_of
from lanbill.staff import audit

MAX_ATTEMPTS = DEFAULTS["RADIUS_COA_MAX_ATTEMPTS"]
ACTOR = "agent:radius"
ERROR_SESSION_NOT_FOUND = 503
ERROR_RESOURCES_UNAVAILABLE = 506
ERROR_CAUSES = {
    401: "Unsupported-Attribute", 402: "Missing-Attribute", 403: "NAS-Identification-Mismatch",
    404: "Invalid-Request", 405: "Unsupported-Service", 406: "Unsupported-Extension",
    407: "Invalid-Attribute-Value", 501: "Administratively-Prohibited", 502: "Request-Not-Routable",
    503: "Session-Context-Not-Found", 504: "Session-Context-Not-Removable", 505: "Other-Proxy-Processing-Error",
    506: "Resources-Unavailable", 507: "Request-Initiated", 508: "Multiple-Session-Selection-Unsupported",
}
# Attributes that name a session; a fallback Disconnect carries only these.
SESSION_ATTRIBUTES = ("User-Name", "Acct-Session-Id", "Framed-IP-Address")
BATCH = 256  # requests sent at once: one RADIUS identifier each


class Answer(NamedTuple):
    """What a NAS answered one request: ACK or NAK, and its Error-Cause."""

    acked: bool
    error_cause: int | None = None


# send(requests, timeout) → {request id: Answer} for the requests answered
Sender = Callable[[list[CoaRequest], float], dict[int, Answer]]


class RetryPolicy(NamedTuple):
    """How requests are sent and retried (the RADIUS_COA_* settings)."""

    timeout: float = DEFAULTS["RADIUS_COA_TIMEOUT"]
    max_attempts: int = MAX_ATTEMPTS
    backoff_first: float = DEFAULTS["RADIUS_COA_BACKOFF"]
    backoff_max: float = DEFAULTS["RADIUS_COA_BACKOFF_MAX"]

    def backoff(self, attempts: int) -> dt.timedelta:
        """Wait before attempt n+1: first, 2×first, 4×first … at most max."""
        return dt.timedelta(seconds=min(self.backoff_max, self.backoff_first * 2 ** min(30, max(0, attempts - 1))))


def retry_policy(config: Mapping | None = None) -> RetryPolicy:
    """The policy from `config` (an app's or an agent's settings), or from
    the settings files and environment where it lacks them
    (lanbill.config.radius_coa_settings)."""
    values = radius_coa_settings(config)
    return RetryPolicy(timeout=float(values["RADIUS_COA_TIMEOUT"]),
                       max_attempts=int(values["RADIUS_COA_MAX_ATTEMPTS"]),
                       backoff_first=float(values["RADIUS_COA_BACKOFF"]),
                       backoff_max=float(values["RADIUS_COA_BACKOFF_MAX"]))


# --- deciding --------------------------------------------------------------------------------

def stored_options(agent_id: int) -> RadiusOptions:
    """The agent's RADIUS options as stored (when no agent cache is at hand)."""
    return RadiusOptions(Agent.get_by_id(agent_id).options)


def requests_for_change(change: AccountStateChange, options: RadiusOptions | None = None, *,
                        actor: str = ACTOR) -> list[CoaRequest]:
    """Queue the CoA/Disconnect requests a state change calls for (in the
    caller's transaction).  Nothing when the access mode stays the same or
    the account has no open session."""
    account = Account.get_or_none(Account.id == change.account_id)
    if account is None:
        return []
    options = options or stored_options(account.agent_id)
    before = options.mode_for(change.state_before)
    after = options.mode_for(change.state_after)
    if before == after:
        return []
    kind = "disconnect" if after == "reject" else "coa"
    reason = "block" if change.action == "set" else "unblock"
    return _queue_for_sessions(account, options, kind, reason, after, change.id, actor)


def requests_for_speed(account: Account, options: RadiusOptions | None = None, *,
                       actor: str = ACTOR) -> list[CoaRequest]:
    """Queue a CoA-Request with the new rate for each open session of an
    account whose speed changed.  Nothing for an account not let in as
    it is (a redirected one runs at the redirect rate until it pays)."""
    options = options or stored_options(account.agent_id)
    mode = options.mode_for(account.state)
    if mode != "accept":
        return []
    return _queue_for_sessions(account, options, "coa", "speed", mode, None, actor)


def request_disconnect(session: RadiusSession, *, actor) -> CoaRequest:
    """Staff asked to disconnect an online session: a Disconnect-Request is
    queued and the request written to the account's audit log.  A session
    that has already ended is refused."""
    if session.stopped_at is not None:
        raise ValidationError(N_("The session has already ended."))
    label = audit.actor_of(actor).label
    with transaction():
        request = CoaRequest.create(account_id=session.account_id, session_id=session.id, nas_id=session.nas_id,
                                    kind="disconnect", reason="staff", attributes=_session_attributes(session),
                                    actor=label)
        audit.record(actor, "radius.disconnect.request", "account", session.account_id,
                     after={"session": session.acct_session_id, "request": request.id})
    return request


def _session_attributes(session: RadiusSession) -> dict:
    out = {"User-Name": session.login, "Acct-Session-Id": session.acct_session_id}
    if session.framed_ip:
        out["Framed-IP-Address"] = session.framed_ip
    return out


def _queue_for_sessions(account, options, kind, reason, mode, change_id, actor) -> list[CoaRequest]:
    sessions = list(RadiusSession.select().where((RadiusSession.account_id == account.id)
                                                 & RadiusSession.stopped_at.is_null()))
    created = []
    for session in sessions:
        attributes = _session_attributes(session)
        if kind == "coa":
            if mode == "redirect":
                down, up = parse_rate(options.redirect_rate)
                pool = options.redirect_pool
            else:
                tariff = account.tariff
                down, up = speed_of(account.bandwidth_kbit, (tariff.speed_in_kbit, tariff.speed_out_kbit))
                pool = tariff.framed_pool or options.framed_pool
            attributes["rate"] = [down, up]
            if pool:
                attributes["Framed-Pool"] = pool
        created.append(CoaRequest.create(account_id=account.id, session_id=session.id, nas_id=session.nas_id,
                                         kind=kind, reason=reason, state_change_id=change_id,
                                         attributes=attributes, actor=actor))
    return created


# --- the state-change feed -------------------------------------------------------------------

def start_cursor(name: str) -> None:
    """A new reader of the feed starts from its current end: old changes
    were someone else's to push."""
    with transaction():
        if RadiusCursor.get_or_none(RadiusCursor.name == name) is None:
            last = AccountStateChange.select(AccountStateChange.id).order_by(AccountStateChange.id.desc()).first()
            # another host of the same agents may place it at the same moment
            RadiusCursor.insert(name=name, value=last.id if last else 0).on_conflict_ignore().execute()


def queue_from_feed(cursor_name: str, options_by_agent: Mapping[int, RadiusOptions],
                    speed_changed: list[int]) -> list[CoaRequest]:
    """Read the state changes after the cursor for accounts of the given
    agents and the accounts whose speed changed, queue what they call for
    and move the cursor — all in one transaction (nothing queued twice,
    nothing skipped).  Agents of the same ids on several hosts share the
    cursor: on PostgreSQL its row is locked (FOR UPDATE) until the commit,
    so a second host reads it moved and does not queue the same changes
    again (SQLite has one writer at a time anyway)."""
    created: list[CoaRequest] = []
    with transaction():
        query = RadiusCursor.select().where(RadiusCursor.name == cursor_name)
        cursor = (query if is_sqlite() else query.for_update()).get()
        changes = list(AccountStateChange.select().where(AccountStateChange.id > cursor.value)
                       .order_by(AccountStateChange.id).limit(1000))
        if changes:
            agent_of = {a.id: a.agent_id for a in Account.select(Account.id, Account.agent)
                        .where(Account.id.in_({c.account_id for c in changes}))}
            for change in changes:
                agent_id = agent_of.get(change.account_id)
                if agent_id in options_by_agent:
                    created.extend(requests_for_change(change, options_by_agent[agent_id]))
            RadiusCursor.update(value=changes[-1].id).where(RadiusCursor.id == cursor.id).execute()
        if speed_changed:
            for account in Account.select().where(Account.id.in_(speed_changed)).order_by(Account.id):
                created.extend(requests_for_speed(account, options_by_agent.get(account.agent_id)))
    return created


def unsent_fallbacks() -> list[CoaRequest]:
    """Disconnects queued after a NAK and not yet tried."""
    return list(CoaRequest.select().where((CoaRequest.status == "pending") & (CoaRequest.reason == "fallback")
                                          & (CoaRequest.attempts == 0)))


# --- attempts and outcomes -------------------------------------------------------------------

def attempt(requests: list[CoaRequest], send: Sender, *, rules: RetryPolicy, now: dt.datetime | None = None,
            timeout: float | None = None) -> list[CoaRequest]:
    """One attempt for each request through `send`; record the outcomes.
    Requests whose session already ended are closed as `gone` without
    sending.  `timeout` overrides the policy's reply timeout."""
    now = now or now_utc()
    timeout = rules.timeout if timeout is None else timeout
    live = []
    for request in requests:
        if request.session_id is not None:
            session = RadiusSession.get_or_none(RadiusSession.id == request.session_id)
            if session is not None and session.stopped_at is not None:
                _finish(request, "gone", now, "session ended")
                continue
        live.append(request)
    answers = send(live, timeout) if live else {}
    for request in live:
        request.attempts += 1
        request.last_attempt_at = now
        answer = answers.get(request.id)
        if answer is None:
            if request.attempts >= rules.max_attempts:
                _finish(request, "failed", now, f"no answer after {request.attempts} attempts")
            else:
                request.result = "timeout"
                request.next_attempt_at = now + rules.backoff(request.attempts)
                request.save()
            continue
        cause = answer.error_cause
        request.error_cause = cause
        if answer.acked:
            _finish(request, "ack", now, "ACK")
        elif cause == ERROR_SESSION_NOT_FOUND:
            _finish(request, "gone", now, "NAK: " + ERROR_CAUSES[cause])
        elif cause == ERROR_RESOURCES_UNAVAILABLE and request.attempts < rules.max_attempts:
            request.result = "NAK: " + ERROR_CAUSES[cause]
            request.next_attempt_at = now + rules.backoff(request.attempts)
            request.save()
        else:
            with transaction():  # the NAK and its fallback Disconnect land together
                _finish(request, "nak", now, "NAK" + (f": {ERROR_CAUSES.get(cause, cause)}" if cause else ""))
                if request.kind == "coa":
                    CoaRequest.create(account_id=request.account_id, session_id=request.session_id,
                                      nas_id=request.nas_id, kind="disconnect", reason="fallback",
                                      state_change_id=request.state_change_id,
                                      attributes={k: v for k, v in (request.attributes or {}).items()
                                                  if k in SESSION_ATTRIBUTES},
                                      actor=ACTOR, next_attempt_at=now)
    return requests


def _finish(request: CoaRequest, status: str, now, result: str) -> None:
    """Close a request and write its outcome to the account's history in one
    transaction: nobody sees the final status without its audit row."""
    request.status = status
    request.result = result
    request.finished_at = now
    with transaction():
        request.save()
        audit.record(ACTOR, f"radius.{request.kind}.{status}", "account", request.account_id,
                     after={"request": request.id, "reason": request.reason, "result": result,
                            "session": (request.attributes or {}).get("Acct-Session-Id"),
                            "attempts": request.attempts})


def retry_due(send: Sender, *, rules: RetryPolicy, now: dt.datetime | None = None,
              timeout: float | None = None) -> int:
    """Send every pending request whose time has come (the worker's job).
    Returns how many were attempted."""
    now = now or now_utc()
    due = list(CoaRequest.select().where((CoaRequest.status == "pending") & (CoaRequest.next_attempt_at <= now))
               .order_by(CoaRequest.id).limit(BATCH))
    if not due:
        return 0
    attempt(due, send, rules=rules, now=now, timeout=timeout)
    return len(due)


def send_now(request_id: int, send: Sender, *, rules: RetryPolicy, timeout: float | None = None) -> CoaRequest:
    """One attempt for a queued request right away (the "disconnect" button)."""
    request = CoaRequest.get_by_id(request_id)
    if request.status == "pending":
        attempt([request], send, rules=rules, timeout=timeout)
    return CoaRequest.get_by_id(request_id)


def history(account_id: int) -> list[CoaRequest]:
    """The account's CoA/Disconnect requests, newest first (for its history)."""
    return list(CoaRequest.select().where(CoaRequest.account_id == account_id).order_by(CoaRequest.id.desc()))
