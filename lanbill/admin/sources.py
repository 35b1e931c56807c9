"""Who or what made a change, in the staff's words: "Начисление абонентской
платы" for the billing job, the manager's name for "manager:ivanov",
"Платёж: Сбербанк Онлайн" for a payment a payment system booked.  Used by
the ledger and the histories; names are looked up once per page, never
per row."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from lanbill.models import Account, Agreement, Manager, Payment, PaymentSystem, Subscriber

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


# A block flag set or lifted, as the account's history says it
BLOCK_CHANGE_LABELS = {
    ("admin", "set"): _l("Administrative block set"),
    ("admin", "lift"): _l("Administrative block lifted"),
    ("user", "set"): _l("User block set"),
    ("user", "lift"): _l("User block lifted"),
    ("balance", "set"): _l("Blocked for lack of money"),
    ("balance", "lift"): _l("Balance block lifted"),
    ("traffic", "set"): _l("Blocked: traffic limit used up"),
    ("traffic", "lift"): _l("Traffic block lifted"),
    ("off", "set"): _l("Account disconnected"),
    ("off", "lift"): _l("Account connected again"),
}


def block_change_text(flag: str, action: str) -> str:
    label = BLOCK_CHANGE_LABELS.get((flag, action))
    return str(label) if label is not None else f"{flag}: {action}"


def describe_state_changes(changes) -> None:
    """Give each account state change `.text` ("Административная
    блокировка установлена") and `.who` (the manager's name, the job or
    the subscriber in words), one query for the page."""
    names = manager_names(c.actor for c in changes)
    for change in changes:
        change.text = block_change_text(change.flag, change.action)
        change.who = actor_text(change.actor, names)


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


# Audit actions as staff read them; an action not listed shows its code.
ACTION_LABELS = {
    "account.block": _l("Block set"),
    "account.unblock": _l("Block lifted"),
    "account.create": _l("Account created"),
    "account.delete": _l("Account deleted"),
    "account.service": _l("Service attached"),
    "account.service_end": _l("Service ended"),
    "account.tariff": _l("Tariff changed"),
    "account.tariff_cancelled": _l("Planned tariff change cancelled"),
    "account.tariff_planned": _l("Tariff change planned"),
    "account.update": _l("Account edited"),
    "address.create": _l("Address created"),
    "address.update": _l("Address edited"),
    "agent.create": _l("Agent created"),
    "agent.delete": _l("Agent deleted"),
    "agent.update": _l("Agent edited"),
    "agreement.create": _l("Agreement created"),
    "agreement.credit_limit": _l("Credit limit changed"),
    "agreement.number": _l("Agreement number changed"),
    "agreement.promise": _l("Promised payment given"),
    "agreement.promise_closed": _l("Promised payment closed"),
    "agreement.print": _l("Agreement printed"),
    "agreement.text": _l("Text of the agreement changed"),
    "balance.set": _l("Balance set"),
    "currency.create": _l("Currency created"),
    "currency.rate": _l("Exchange rate set"),
    "currency.rate_delete": _l("Exchange rate deleted"),
    "currency.update": _l("Currency edited"),
    "demo.generate": _l("Demo data generated"),
    "group.create": _l("Group created"),
    "group.delete": _l("Group deleted"),
    "group.update": _l("Group edited"),
    "login.failed": _l("Failed login"),
    "manager.create": _l("Staff member created"),
    "manager.password": _l("Staff password changed"),
    "manager.update": _l("Staff member edited"),
    "nas.create": _l("NAS created"),
    "nas.delete": _l("NAS deleted"),
    "nas.update": _l("NAS edited"),
    "operator.create": _l("Operator created"),
    "operator.default": _l("Default operator chosen"),
    "operator.payment_numbering": _l("Payment document numbering changed"),
    "operator.update": _l("Operator edited"),
    "payment.cancel": _l("Payment cancelled"),
    "payment.create": _l("Payment booked"),
    "personal_data.view": _l("Personal data viewed"),
    "radius.disconnect.request": _l("Session disconnect requested"),
    "role.create": _l("Role created"),
    "role.delete": _l("Role deleted"),
    "role.update": _l("Role edited"),
    "service.create": _l("Service created"),
    "service.update": _l("Service edited"),
    "settings.update": _l("Settings changed"),
    "subscriber.cabinet_password": _l("Cabinet password set"),
    "subscriber.cabinet_view": _l("Cabinet opened by staff (read only)"),
    "subscriber.create": _l("Subscriber created"),
    "subscriber.delete": _l("Subscriber deleted"),
    "subscriber.group_add": _l("Added to a group"),
    "subscriber.group_remove": _l("Removed from a group"),
    "subscriber.update": _l("Subscriber edited"),
    "tariff.archive": _l("Tariff archived"),
    "tariff.category_create": _l("Traffic category created"),
    "tariff.category_delete": _l("Traffic category deleted"),
    "tariff.category_update": _l("Traffic category edited"),
    "tariff.copy": _l("Tariff copied"),
    "tariff.create": _l("Tariff created"),
    "tariff.update": _l("Tariff edited"),
    "token.create": _l("API token created"),
    "token.revoke": _l("API token revoked"),
}
OBJECT_LABELS = {
    "account": _l("Account"), "address": _l("Address"), "agent": _l("Agent"), "agreement": _l("Agreement"),
    "api_token": _l("API token"), "currency": _l("Currency"), "group": _l("Group"), "manager": _l("Staff member"),
    "nas": _l("NAS"), "operator": _l("Operator"), "payment": _l("Payment"), "role": _l("Role"),
    "service": _l("Service"), "setting": _l("Setting"), "subscriber": _l("Subscriber"), "tariff": _l("Tariff"),
}


def action_text(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def object_names(rows) -> dict[tuple[str, str], str]:
    """{(object type, id): its name} for the subscribers (name), agreements
    (number) and accounts (login) among audit rows — three queries at most."""
    wanted: dict[str, set[int]] = {}
    for row in rows:
        if row.object_type in ("subscriber", "agreement", "account") and str(row.object_id).isdigit():
            wanted.setdefault(row.object_type, set()).add(int(row.object_id))
    out = {}
    for kind, model, field in (("subscriber", Subscriber, Subscriber.name), ("agreement", Agreement, Agreement.number),
                               ("account", Account, Account.login)):
        if wanted.get(kind):
            for object_id, name in model.select(model.id, field).where(model.id.in_(wanted[kind])).tuples():
                out[(kind, str(object_id))] = name
    return out


def object_text(object_type: str, object_id: str, names: dict) -> str:
    """"Договор 2026-001", "Абонент Иванов И. И.", "Тариф #7"."""
    label = OBJECT_LABELS.get(object_type)
    word = str(label) if label is not None else object_type
    name = names.get((object_type, str(object_id)))
    if name:
        return f"{word} {name}"
    return f"{word} #{object_id}" if object_id else word


def describe_audit_rows(rows) -> None:
    """Give each audit row `.who_text`, `.action_text` and `.object_text`
    in words, a few queries for the whole page."""
    names = manager_names(r.actor for r in rows)
    objects = object_names(rows)
    for row in rows:
        row.who_text = actor_text(row.actor, names)
        row.action_text = action_text(row.action)
        row.object_text = object_text(row.object_type, row.object_id, objects)
