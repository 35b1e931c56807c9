"""Group scope on every route (staff/access.py): a manager whose role sees
one group, with every permission, walks every URL of the app — admin and
API, every method — with the URL's ids pointing at another group's
subscriber and its agreement, account, payment, session, tariff change
and attached service.  Each answer is 403/404, or (for pages not about
one object: lists, forms, exports) a page that does not show the other
group's data; and nothing of the other group's changes."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from lanbill.billing import services, tariff_schedule
from lanbill.billing.payments import post_payment
from lanbill.clock import now_utc, today
from lanbill.customers.cabinet import subscriber_actor
from lanbill.documents.issue import issue_document
from lanbill.helpdesk import tickets
from lanbill.helpdesk.attachments import Upload
from lanbill.models import (
    Account,
    AccountService,
    Agreement,
    ApiToken,
    Document,
    Group,
    LedgerEntry,
    Payment,
    Subscriber,
    SubscriberGroup,
    TariffChange,
)
from lanbill.models.helpdesk import Attachment, Message, Ticket
from lanbill.models.paysys import PaymentSystem
from lanbill.models.radius import CoaRequest, RadiusSession
from lanbill.models.receipts import FiscalReceipt
from lanbill.models.registries import RegistryImport, RegistryRow
from lanbill.staff.tokens import create_token
from tests.admin_helpers import PASSWORD, make_group, make_manager
from tests.factories import ACTOR, make_account, make_agreement, make_subscriber, make_tariff

SECRETS = ("Чужой Секретный", "theirlogin", "THEIR-777", "their@example.ru", "10.66.66.66", "+79996667788")


@pytest.fixture
def world(app, admin):
    """Two groups; the other group's subscriber owns one of everything."""
    mine, theirs = make_group("Мои"), make_group("Чужие")
    own = make_subscriber(name="Свой Абонент", groups=[mine])
    own_account = make_account(make_agreement(own, number="OWN-1"), login="ownlogin")
    other = make_subscriber(name="Чужой Секретный", email="their@example.ru", phone="+79996667788",
                            groups=[theirs])
    agreement = make_agreement(other, number="THEIR-777")
    tariff = make_tariff()
    account = make_account(agreement, login="theirlogin", ips=["10.66.66.66"], tariff=tariff)
    payment, _ = post_payment(agreement, "100.00", "P-THEIR", actor=ACTOR)
    change = tariff_schedule.plan_change(account, make_tariff(), now_utc() + dt.timedelta(days=3), actor=ACTOR)
    service = services.create_service({"name": "Чужая услуга", "kind": "periodic", "price": "10.00"}, actor=ACTOR)
    attached = services.attach_service(account, service, actor=ACTOR, start_date=today())
    started = now_utc() - dt.timedelta(minutes=5)
    session = RadiusSession.create(agent_id=account.agent_id, nas_id=0, account_id=account.id, login="theirlogin",
                                   acct_session_id="their-session", framed_ip="10.66.66.66", started_at=started,
                                   updated_at=started, state_changed_at=started)
    CoaRequest.create(account_id=account.id, session_id=session.id, nas_id=0, kind="disconnect", reason="staff",
                      attributes={"User-Name": "theirlogin"}, status="nak", result="theirlogin refused")
    ticket = tickets.open_ticket(other, "Чужой Секретный запрос", "текст", actor=subscriber_actor(other),
                                 upload_dir=app.instance_path + "/uploads", uploads=[Upload("a.txt", b"THEIR-777")])
    attachment = Attachment.get(Attachment.message << Message.select(Message.id).where(Message.ticket == ticket.id))
    manager = make_manager("limited", groups=[mine])
    document, _ = issue_document(agreement, "invoice", actor=ACTOR, instance_path=app.instance_path, amount="10.00")
    # Another manager's API token: the token screens must not reach it.
    create_token(admin, name="not yours")
    token = ApiToken.select().order_by(ApiToken.id.desc()).get()
    # A 54-FZ receipt of their payment; a bank registry (the bank's file,
    # not a subscriber's) with a row booked onto their agreement.
    receipt = FiscalReceipt.create(payment=payment.id, operator=agreement.operator_id, external_id="pay-their",
                                   amount=payment.amount, client_contact="email:their@example.ru", status="failed")
    system = PaymentSystem.create(code="bank", name="Банк", kind="registry")
    registry = RegistryImport.create(system=system.id, file_name="r.txt", sha256="0" * 64, content=b"x",
                                     status="posted", rows_total=1)
    RegistryRow.create(registry=registry.id, line=2, status="unmatched", account_text="THEIR-777",
                       comment="Чужой Секретный", payer_inn="", amount=payment.amount)
    RegistryRow.create(registry=registry.id, line=3, status="matched", agreement=agreement.id,
                       payment=payment.id, comment="Чужой Секретный their@example.ru", amount=payment.amount)
    return {
        "manager": manager, "mine": mine, "theirs": theirs, "own_account": own_account,
        "ids": {"subscriber_id": other.id, "agreement_id": agreement.id, "account_id": account.id,
                "payment_id": payment.id, "session_id": session.id, "change_id": change.id,
                "attached_id": attached.id, "group_id": theirs.id, "token_id": token.id,
                "ticket_id": ticket.id, "attachment_id": attachment.id, "receipt_id": receipt.id,
                "document_id": document.id},
    }


# URL parameters that name one of the other group's objects: the answer
# must be 403 or 404 whatever the page.
OWNED = {"subscriber_id", "agreement_id", "account_id", "payment_id", "session_id", "change_id", "attached_id",
         "group_id", "token_id", "ticket_id", "attachment_id", "receipt_id", "document_id"}
# Other parameters, filled with a plain value (a catalogue object, a name).
PLAIN = {"level": "building", "entry_id": 1, "building_id": 1, "agent_type": "radius", "name": "subscribers",
         "kind": "admin", "path": "x", "filename": "x.css", "tariff_id": 1, "agent_id": 1, "nas_id": 1,
         "currency_id": 1, "rate_id": 1, "role_id": 1, "manager_id": 1, "operator_id": 1, "service_id": 1,
         "category_id": 1, "search_id": 1, "class_id": 1, "article_id": 1, "registry_id": 1, "row_id": 2,
         "token": "0123456789abcdef", "series_id": 1, "card_id": 1, "system_id": 1, "message_id": 1,
         "event": "payment_received", "channel": "email"}
# Query arguments every GET carries: screens that take an object from the
# query string (the payments form, a new account for a subscriber).
QUERY_KEYS = {"subscriber": "subscriber_id", "agreement": "agreement_id", "account": "account_id"}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _url(rule, ids) -> str:
    values = {}
    for argument in rule.arguments:
        values[argument] = ids[argument] if argument in OWNED else PLAIN[argument]
    url = rule.rule
    for argument, value in values.items():
        url = re.sub(r"<(?:[a-z]+:)?" + argument + ">", str(value), url)
    return url


def _row(model, object_id):
    found = model.get_or_none(model.id == object_id)
    return None if found is None else found.__data__


def _snapshot(ids) -> dict:
    """What must not change: the other group's objects and their ledger."""
    return {
        "subscriber": _row(Subscriber, ids["subscriber_id"]),
        "agreement": _row(Agreement, ids["agreement_id"]),
        "account": _row(Account, ids["account_id"]),
        "payment": _row(Payment, ids["payment_id"]),
        "change": _row(TariffChange, ids["change_id"]),
        "attached": _row(AccountService, ids["attached_id"]),
        "session": _row(RadiusSession, ids["session_id"]),
        "group": _row(Group, ids["group_id"]),
        "token": _row(ApiToken, ids["token_id"]),
        "ledger": LedgerEntry.select().where(LedgerEntry.agreement == ids["agreement_id"]).count(),
        "groups": sorted(g.group_id for g in SubscriberGroup.select().where(
            SubscriberGroup.subscriber == ids["subscriber_id"])),
        "coa": CoaRequest.select().where(CoaRequest.account_id == ids["account_id"]).count(),
        "ticket": _row(Ticket, ids["ticket_id"]),
        "messages": Message.select().where(Message.ticket == ids["ticket_id"]).count(),
        "document": _row(Document, ids["document_id"]),
    }


def _walk(app, send, ids, prefix):
    problems = []
    for rule, method in _routes(app):
        if not rule.rule.startswith(prefix) or rule.endpoint in ("admin.language", "auth.logout"):
            continue
        url = _url(rule, ids)
        if method == "GET":
            query = "&".join(f"{key}={ids[value]}" for key, value in QUERY_KEYS.items())
            url += ("&" if "?" in url else "?") + query
        before = _snapshot(ids)
        response = send(method, url)
        body = response.get_data(as_text=True)
        owned = [a for a in rule.arguments if a in OWNED]
        if owned:
            if response.status_code not in (403, 404):
                problems.append(f"{method} {url}: {response.status_code} for another group's {owned}")
        elif response.status_code not in (403, 404, 405):
            leaked = [s for s in SECRETS if s in body]
            if leaked:
                problems.append(f"{method} {url}: shows {leaked}")
        if _snapshot(ids) != before:
            problems.append(f"{method} {url}: changed another group's data")
    return problems


def test_every_admin_route_keeps_another_groups_subscriber_out_of_reach(app, client, login_as, world):
    login_as("limited", PASSWORD)

    def send(method, url):
        return client.open(url, method=method, data={})

    problems = _walk(app, send, world["ids"], "/admin")
    assert not problems, "\n".join(problems)


def test_every_api_route_keeps_another_groups_subscriber_out_of_reach(app, client, world):
    token = create_token(world["manager"], name="limited")

    def send(method, url):
        return client.open(url, method=method, json={}, headers={"Authorization": f"Bearer {token}"})

    problems = _walk(app, send, world["ids"], "/api/v1")
    assert not problems, "\n".join(problems)
