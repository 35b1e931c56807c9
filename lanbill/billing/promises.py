"""Promised payments (seed 002 «Обещанный платеж»): a temporary credit.

A subscriber blocked by balance may be given a promised payment: a credit
of up to the group's maximum for the group's term in days.  It is not a
payment: nothing goes to the ledger; `Agreement.promised_amount` (part of
the available funds, DESIGN §5) grows, which lifts the balance block at
once.  When the term ends the credit is removed; if by then the debt is not
repaid (balance + credit limit < 0) the account blocks again and promises
are refused until the debt is repaid.

Settings come from the subscriber's groups (Group.promise_*): a promise is
allowed when one of its groups allows it; of those groups the one with the
largest maximum amount gives the term and the minimum interval between
promises.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from lanbill.actor import actor_of, job
from lanbill.billing import blocks
from lanbill.clock import now_utc
from lanbill.db import transaction
from lanbill.errors import N_, Conflict, NotFound, ValidationError
from lanbill.models import Agreement, Group, PromisedPayment, SubscriberGroup
from lanbill.money import MoneyError, parse_money
from lanbill.staff import audit


def promise_settings(agreement: Agreement) -> Group | None:
    """The group whose promise settings apply to the agreement's subscriber,
    or None when no group of the subscriber allows promises."""
    return (
        Group.select()
        .join(SubscriberGroup)
        .where((SubscriberGroup.subscriber == agreement.subscriber_id) & (Group.promise_allowed == True))  # noqa: E712
        .order_by(Group.promise_max_amount.desc(), Group.id)
        .first()
    )


def _agreement(agreement) -> Agreement:
    found = Agreement.get_or_none(Agreement.id == (agreement.id if isinstance(agreement, Agreement) else agreement))
    if found is None:
        raise NotFound(N_("Agreement not found."))
    return found


def open_promise(agreement) -> PromisedPayment | None:
    agreement_id = agreement.id if isinstance(agreement, Agreement) else agreement
    return PromisedPayment.get_or_none((PromisedPayment.agreement == agreement_id) & (PromisedPayment.state == "open"))


def request_promise(agreement, amount, *, actor, now: dt.datetime | None = None) -> PromisedPayment:
    """Give a promised payment of `amount`, by staff now (the cabinet later).

    Refused when: no group of the subscriber allows promises; the amount is
    not positive or above the group's maximum; a promise is open; the last
    one was given less than the group's interval ago; an earlier promise
    expired unpaid and the debt is not repaid yet."""
    try:
        value = parse_money(amount, allow_negative=False, allow_zero=False)
    except MoneyError as exc:
        raise ValidationError(exc.message, fields={"amount": exc.message}) from None
    now = now or now_utc()
    with transaction():
        current = _agreement(agreement)
        group = promise_settings(current)
        if group is None:
            raise Conflict(N_("Promised payments are not allowed for this subscriber's groups."))
        if value > group.promise_max_amount:
            raise ValidationError(
                N_("A promised payment may be at most %(amount)s."),
                fields={"amount": N_("Above the maximum.")}, amount=str(group.promise_max_amount),
            )
        if current.promise_refused_until_repaid:
            if current.balance + current.credit_limit < 0:
                raise Conflict(N_("An earlier promised payment was not repaid; pay the debt first."))
            Agreement.update(promise_refused_until_repaid=False).where(Agreement.id == current.id).execute()
        if open_promise(current) is not None:
            raise Conflict(N_("A promised payment is already open."))
        last = (
            PromisedPayment.select().where(PromisedPayment.agreement == current.id)
            .order_by(PromisedPayment.created_at.desc()).first()
        )
        if last is not None and now < last.created_at + dt.timedelta(days=group.promise_interval_days):
            raise Conflict(
                N_("The next promised payment is possible from %(when)s."),
                when=(last.created_at + dt.timedelta(days=group.promise_interval_days)).strftime("%Y-%m-%d %H:%M"),
            )
        promise = PromisedPayment.create(
            agreement=current.id, amount=value, created_at=now,
            due_at=now + dt.timedelta(days=group.promise_days), actor=actor_of(actor).label,
        )
        Agreement.update(promised_amount=Agreement.promised_amount + value).where(
            Agreement.id == current.id).execute()
        audit.record(actor, "agreement.promise", "agreement", current.id,
                     after={"amount": str(value), "due_at": promise.due_at.isoformat()})
        blocks.evaluate_agreement(current.id, actor=actor)
    return promise


def expire_due(now: dt.datetime | None = None) -> int:
    """Close every open promise whose term has ended: the credit is
    removed; unpaid debt re-blocks and refuses further promises until it
    is repaid.  Returns the number closed."""
    now = now or now_utc()
    due = PromisedPayment.select().where((PromisedPayment.state == "open") & (PromisedPayment.due_at <= now))
    closed = 0
    for promise in due:
        with transaction():
            agreement = Agreement.get_by_id(promise.agreement_id)
            repaid = agreement.balance + agreement.credit_limit >= 0
            PromisedPayment.update(state="repaid" if repaid else "expired", closed_at=now).where(
                (PromisedPayment.id == promise.id) & (PromisedPayment.state == "open")).execute()
            Agreement.update(
                promised_amount=Agreement.promised_amount - promise.amount,
                promise_refused_until_repaid=not repaid,
            ).where(Agreement.id == agreement.id).execute()
            audit.record(job("promises"), "agreement.promise_closed", "agreement", agreement.id,
                         after={"promise": promise.id, "repaid": repaid})
            blocks.evaluate_agreement(agreement.id, actor=job("promises"))
            closed += 1
    return closed


def amount_allowed(agreement) -> Decimal:
    """The largest promise the agreement could get now (0: none)."""
    current = _agreement(agreement)
    group = promise_settings(current)
    if group is None or open_promise(current) is not None:
        return Decimal("0.00")
    if current.promise_refused_until_repaid and current.balance + current.credit_limit < 0:
        return Decimal("0.00")
    return group.promise_max_amount
