"""Who or what made a change, in the staff's words: "Начисление абонентской
платы" for the billing job, the manager's name for "manager:ivanov",
"Платёж: Сбербанк Онлайн" for a payment a payment system booked.  Used by
the ledger and the histories; names are looked up once per page, never
per row."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from lanbill.models import Manager, Payment, PaymentSystem

JOB_LABELS = {
    "bill": _l("Monthly fee charged"),
    "rent": _l("Monthly fee charged"),
    "promises": _l("Promised payment closed"),
    "time": _l("Connection time charged"),
    "tariff_schedule": _l("Planned tariff change"),
}
METHOD_LABELS = {"cash": _l("cash"), "bank": _l("bank transfer"), "card": _l("card"), "gateway": _l("payment gateway")}
# What the billing engine writes in an entry's comment, in words
COMMENT_LABELS = {
    "advance": _l("for the month in advance"),
    "closed": _l("unused days of the month returned"),
    "tariff changed": _l("tariff changed"),
    "active": _l("account working"),
    "balance": _l("blocked for lack of money"),
    "admin": _l("blocked by staff"),
    "user": _l("blocked at the subscriber's request"),
    "traffic": _l("traffic limit used up"),
    "off": _l("disconnected"),
}


def manager_names(labels) -> dict[str, str]:
    """{"manager:<login>" or "api:<login>": the manager's name (or login)}
    for the labels given, in one query."""
    logins = {label.split(":", 1)[1] for label in labels
              if label and label.split(":", 1)[0] in ("manager", "api") and ":" in label}
    if not logins:
        return {}
    return {login: (name or login) for login, name in
            Manager.select(Manager.login, Manager.name).where(Manager.login.in_(logins)).tuples()}


def actor_text(label: str, names: dict[str, str]) -> str:
    """An actor label ("manager:admin", "job:bill", "api:x", "subscriber:7",
    "system") as staff read it."""
    kind, _sep, rest = (label or "").partition(":")
    if kind == "manager":
        return names.get(rest, rest)
    if kind == "api":
        return _("API: %(name)s", name=names.get(rest, rest))
    if kind == "job":
        return str(JOB_LABELS.get(rest, _l("Automatic job")))
    if kind == "subscriber":
        return _("The subscriber in the cabinet")
    return _("System")


def comment_text(comment: str) -> str:
    return str(COMMENT_LABELS[comment]) if comment in COMMENT_LABELS else comment


def describe_entries(entries) -> None:
    """Give each ledger entry `.source` (who or what booked it, in words)
    and `.comment_text`, with two queries for the whole page."""
    payment_ids = [e.payment_id for e in entries if e.payment_id]
    payments = {}
    systems = {}
    if payment_ids:
        payments = {p.id: p for p in Payment.select(Payment.id, Payment.method, Payment.payment_system_id)
                    .where(Payment.id.in_(payment_ids))}
        system_ids = {p.payment_system_id for p in payments.values() if p.payment_system_id}
        if system_ids:
            systems = dict(PaymentSystem.select(PaymentSystem.id, PaymentSystem.name)
                           .where(PaymentSystem.id.in_(system_ids)).tuples())
    names = manager_names(e.actor for e in entries)
    for entry in entries:
        payment = payments.get(entry.payment_id)
        if entry.kind == "payment" and payment is not None:
            how = systems.get(payment.payment_system_id) or METHOD_LABELS.get(payment.method, payment.method)
            who = actor_text(entry.actor, names)
            entry.source = _("Payment: %(how)s", how=how)
            if entry.actor.startswith(("manager:", "api:")):
                entry.source += f" ({who})"
        else:
            entry.source = actor_text(entry.actor, names)
        entry.comment_text = comment_text(entry.comment)
