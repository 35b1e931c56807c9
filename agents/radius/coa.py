"""CoA-Request and Disconnect-Request (RFC 5176): what to send when an
account's access changes, the sender, and the retry policy.

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
import os
import queue
import select
import socket
import threading
import time
from typing import NamedTuple

from agents.radius import protocol as p
from agents.radius.cache import agent_connection
from lanbill.clock import now_utc
from lanbill.config import DEFAULTS, radius_coa_settings
from lanbill.db import transaction
from lanbill.models import Account, AccountStateChange, Nas
from lanbill.models.radius import CoaRequest, RadiusCursor, RadiusSession
from lanbill.staff import audit

MAX_ATTEMPTS = DEFAULTS["RADIUS_COA_MAX_ATTEMPTS"]
REPLY_TIMEOUT = DEFAULTS["RADIUS_COA_TIMEOUT"]
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


class Policy(NamedTuple):
    """How requests are sent and retried (the RADIUS_COA_* settings)."""

    timeout: float = REPLY_TIMEOUT
    max_attempts: int = MAX_ATTEMPTS
    backoff_first: float = DEFAULTS["RADIUS_COA_BACKOFF"]
    backoff_max: float = DEFAULTS["RADIUS_COA_BACKOFF_MAX"]

    def backoff(self, attempts: int) -> dt.timedelta:
        """Wait before attempt n+1: first, 2×first, 4×first … at most max."""
        return dt.timedelta(seconds=min(self.backoff_max, self.backoff_first * 2 ** min(30, max(0, attempts - 1))))


def policy(config=None) -> Policy:
    """The policy from `config`, else from the current app's config, else
    from the settings files and environment (a Huey worker thread)."""
    if config is None:
        from flask import current_app, has_app_context

        if has_app_context():
            config = current_app.config
    values = radius_coa_settings(config)
    return Policy(timeout=float(values["RADIUS_COA_TIMEOUT"]), max_attempts=int(values["RADIUS_COA_MAX_ATTEMPTS"]),
                  backoff_first=float(values["RADIUS_COA_BACKOFF"]),
                  backoff_max=float(values["RADIUS_COA_BACKOFF_MAX"]))


def backoff(attempts: int) -> dt.timedelta:
    """The default policy's wait before attempt n+1: 10 s, 20 s … 10 min."""
    return Policy().backoff(attempts)


# --- deciding --------------------------------------------------------------------------------

def agent_options(agent_id: int):
    from agents.radius.cache import AgentOptions
    from lanbill.models import Agent

    return AgentOptions(Agent.get_by_id(agent_id))


def requests_for_change(change: AccountStateChange, options=None, *, actor: str = ACTOR) -> list[CoaRequest]:
    """Queue the CoA/Disconnect requests a state change calls for (in the
    caller's transaction).  Nothing when the access mode stays the same or
    the account has no open session."""
    account = Account.get_or_none(Account.id == change.account_id)
    if account is None:
        return []
    options = options or agent_options(account.agent_id)
    before = options.mode_for(change.state_before)
    after = options.mode_for(change.state_after)
    if before == after:
        return []
    kind = "disconnect" if after == "reject" else "coa"
    reason = "block" if change.action == "set" else "unblock"
    return _queue_for_sessions(account, options, kind, reason, after, change.id, actor)


def requests_for_speed(account: Account, options=None, *, actor: str = ACTOR) -> list[CoaRequest]:
    options = options or agent_options(account.agent_id)
    mode = options.mode_for(account.state)
    if mode != "accept":
        return []
    return _queue_for_sessions(account, options, "coa", "speed", mode, None, actor)


def request_disconnect(session: RadiusSession, *, actor) -> CoaRequest:
    """Staff pressed "disconnect" on the online-sessions page."""
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
    from agents.radius.server import speed_of

    sessions = list(RadiusSession.select().where((RadiusSession.account_id == account.id)
                                                 & RadiusSession.stopped_at.is_null()))
    created = []
    for session in sessions:
        attributes = _session_attributes(session)
        if kind == "coa":
            if mode == "redirect":
                down, up = p.parse_rate(options.redirect_rate)
                pool = options.redirect_pool
            else:
                from agents.radius.cache import TariffEntry

                down, up = speed_of(_SpeedView(account), TariffEntry(account.tariff))
                pool = account.tariff.framed_pool or options.framed_pool
            attributes["rate"] = [down, up]
            if pool:
                attributes["Framed-Pool"] = pool
        created.append(CoaRequest.create(account_id=account.id, session_id=session.id, nas_id=session.nas_id,
                                         kind=kind, reason=reason, state_change_id=change_id,
                                         attributes=attributes, actor=actor))
    return created


class _SpeedView:
    def __init__(self, account):
        self.bandwidth_kbit = account.bandwidth_kbit


# --- sending -------------------------------------------------------------------------------

def encode(request: CoaRequest, nas: Nas, ident: int) -> bytes:
    a = request.attributes or {}
    body = [p.attr(p.USER_NAME, a.get("User-Name", "").encode()),
            p.attr(p.ACCT_SESSION_ID, a.get("Acct-Session-Id", "").encode())]
    if a.get("Framed-IP-Address"):
        body.append(p.attr_ip(p.FRAMED_IP_ADDRESS, a["Framed-IP-Address"]))
    if request.kind == "coa":
        rate = a.get("rate") or [0, 0]
        body.append(p.rate_attributes(nas.vendor, int(rate[0]), int(rate[1])))
        if a.get("Framed-Pool"):
            body.append(p.attr(p.FRAMED_POOL, a["Framed-Pool"].encode()))
    code = p.DISCONNECT_REQUEST if request.kind == "disconnect" else p.COA_REQUEST
    return p.build_request(code, ident, (nas.secret or "").encode(), b"".join(body))


def send_batch(requests: list[CoaRequest], timeout: float = REPLY_TIMEOUT) -> dict[int, tuple[int, int | None]]:
    """Send each request once to its NAS's CoA port and wait up to `timeout`
    for the answers.  Returns {request id: (reply code, Error-Cause)} for
    the requests answered with a valid authenticator."""
    if not requests:
        return {}
    nas_map = {n.id: n for n in Nas.select().where(Nas.id.in_({r.nas_id for r in requests}))}
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", 0))
    pending: dict[int, tuple] = {}
    answers: dict[int, tuple[int, int | None]] = {}
    try:
        base = int.from_bytes(os.urandom(1), "big")
        for index, request in enumerate(requests[:256]):
            nas = nas_map.get(request.nas_id)
            if nas is None:
                continue
            ident = (base + index) % 256
            packet = encode(request, nas, ident)
            try:
                sock.sendto(packet, (nas.ip, nas.coa_port))
            except OSError:
                continue
            pending[ident] = (request, nas, packet[4:20])
        deadline = time.monotonic() + timeout
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                break
            data, addr = sock.recvfrom(4096)
            if len(data) < 20 or data[1] not in pending:
                continue
            request, nas, authenticator = pending[data[1]]
            if addr[0] != nas.ip or not p.reply_authenticator_ok(data, authenticator, (nas.secret or "").encode()):
                continue
            try:
                reply = p.parse(data)
            except p.Malformed:
                continue
            cause = reply.integer(p.ERROR_CAUSE) if p.ERROR_CAUSE in reply.attrs else None
            answers[request.id] = (reply.code, cause)
            del pending[data[1]]
    finally:
        sock.close()
    return answers


def attempt(requests: list[CoaRequest], *, now: dt.datetime | None = None,
            timeout: float | None = None, rules: Policy | None = None) -> list[CoaRequest]:
    """One attempt for each request; record the outcomes.  Requests whose
    session already ended are closed as `gone` without sending.  `rules`
    defaults to policy(); `timeout` overrides its reply timeout."""
    now = now or now_utc()
    rules = rules or policy()
    timeout = rules.timeout if timeout is None else timeout
    live = []
    for request in requests:
        if request.session_id is not None:
            session = RadiusSession.get_or_none(RadiusSession.id == request.session_id)
            if session is not None and session.stopped_at is not None:
                _finish(request, "gone", now, "session ended")
                continue
        live.append(request)
    answers = send_batch(live, timeout)
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
        code, cause = answer
        request.error_cause = cause
        if code in (p.DISCONNECT_ACK, p.COA_ACK):
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
                                                  if k in ("User-Name", "Acct-Session-Id", "Framed-IP-Address")},
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


def retry_due(now: dt.datetime | None = None, timeout: float | None = None, rules: Policy | None = None) -> int:
    """Send every pending request whose time has come (the worker's job).
    Returns how many were attempted."""
    now = now or now_utc()
    due = list(CoaRequest.select().where((CoaRequest.status == "pending") & (CoaRequest.next_attempt_at <= now))
               .order_by(CoaRequest.id).limit(256))
    if not due:
        return 0
    attempt(due, now=now, timeout=timeout, rules=rules)
    return len(due)


def send_now(request_id: int, timeout: float | None = None) -> CoaRequest:
    request = CoaRequest.get_by_id(request_id)
    if request.status == "pending":
        attempt([request], timeout=timeout)
    return CoaRequest.get_by_id(request_id)


def history(account_id: int) -> list[CoaRequest]:
    """The account's CoA/Disconnect requests, newest first (for its history)."""
    return list(CoaRequest.select().where(CoaRequest.account_id == account_id).order_by(CoaRequest.id.desc()))


# --- the dispatcher thread of the agent ---------------------------------------------------------

class Dispatcher:
    """Reads the state-change feed and speed changes, queues and sends the
    first attempt at once; later attempts are the worker's (retry_due)."""

    def __init__(self, cache, config: dict, poll: float = 0.5):
        self.cache = cache
        self.config = config
        self.poll = poll
        self.speed_changes: queue.Queue = queue.Queue()
        self.cursor_name = "coa:" + ",".join(str(i) for i in sorted(cache.agent_ids))
        self.rules = policy(config)
        self.timeout = self.rules.timeout

    def on_account_changed(self, old, new, old_tariff=None) -> None:
        """A cache listener (the refresher's thread): the account's entry
        went from `old` to `new`, or its tariff from `old_tariff` to the
        cached one.  A changed speed of an online account queues a CoA."""
        from agents.radius.server import speed_of

        if old.state != new.state:
            return  # the state-change feed handles it
        before = speed_of(old, old_tariff or self.cache.tariffs.get(old.tariff_id))
        after = speed_of(new, self.cache.tariffs.get(new.tariff_id))
        if before != after and self.cache.open_sessions.get(new.id):
            self.speed_changes.put(new.id)

    def start(self, stop: threading.Event) -> threading.Thread:
        # The cursor is placed before the agent answers its first packet
        # (not later in the thread): a block set right after start-up is
        # then after the cursor and is pushed, never skipped.
        with agent_connection():
            self._init_cursor()
        thread = threading.Thread(target=self._run, args=(stop,), name="radius-coa", daemon=True)
        thread.start()
        return thread

    def _run(self, stop) -> None:
        while not stop.wait(self.poll):
            try:
                with agent_connection():
                    self.process_once()
            except Exception:
                pass

    def _init_cursor(self) -> None:
        """A new agent starts from the current end of the feed: old changes
        were someone else's to push."""
        with transaction():
            if RadiusCursor.get_or_none(RadiusCursor.name == self.cursor_name) is None:
                last = AccountStateChange.select(AccountStateChange.id).order_by(AccountStateChange.id.desc()).first()
                RadiusCursor.create(name=self.cursor_name, value=last.id if last else 0)

    def _take_speed_changes(self) -> list[int]:
        ids = set()
        while True:
            try:
                ids.add(self.speed_changes.get_nowait())
            except queue.Empty:
                return sorted(ids)

    def process_once(self) -> list[CoaRequest]:
        created: list[CoaRequest] = []
        speed = self._take_speed_changes()
        try:
            with transaction():
                cursor = RadiusCursor.get(RadiusCursor.name == self.cursor_name)
                changes = list(AccountStateChange.select().where(AccountStateChange.id > cursor.value)
                               .order_by(AccountStateChange.id).limit(1000))
                if changes:
                    agent_ids = set(self.cache.agent_ids)
                    accounts = {a.id: a.agent_id for a in Account.select(Account.id, Account.agent)
                                .where(Account.id.in_({c.account_id for c in changes}))}
                    for change in changes:
                        agent_id = accounts.get(change.account_id)
                        if agent_id in agent_ids:
                            created.extend(requests_for_change(change, self.cache.agents.get(agent_id)))
                    RadiusCursor.update(value=changes[-1].id).where(RadiusCursor.id == cursor.id).execute()
                if speed:
                    for account in Account.select().where(Account.id.in_(speed)).order_by(Account.id):
                        created.extend(requests_for_speed(account, self.cache.agents.get(account.agent_id)))
        except Exception:
            for account_id in speed:  # rolled back: queued again for the next poll
                self.speed_changes.put(account_id)
            raise
        if created:
            # no transaction held while waiting for the NAS
            attempt(created, rules=self.rules)
            fallback = list(CoaRequest.select().where((CoaRequest.status == "pending")
                                                      & (CoaRequest.reason == "fallback")
                                                      & (CoaRequest.attempts == 0)))
            if fallback:
                attempt(fallback, rules=self.rules)
        return created
