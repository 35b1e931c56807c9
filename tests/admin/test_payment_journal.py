"""The payment journal: payments across every agreement the manager may
see, filtered by period, how they came, manager and cancellation — with
totals of what is shown and a CSV export."""

from __future__ import annotations

import datetime as dt
import re

from lanbill.actor import staff_actor
from lanbill.billing.payments import cancel_payment, post_payment
from lanbill.models import Manager, Payment, PaymentSystem, SubscriberGroup
from tests.admin_helpers import PASSWORD, make_group, make_manager, ru
from tests.factories import make_agreement, make_subscriber
from tests.rendered_forms import form_values


def _journal(client, **args):
    return client.get("/admin/payments/journal", query_string=args).get_data(as_text=True)


def _rows(page: str) -> list[str]:
    table = page[page.index('id="journal"'):]
    return re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]


def test_journal_filters_and_totals(client, admin, login_as):
    Manager.update(name="Кассир Анна").where(Manager.id == admin.id).execute()
    boss = staff_actor(Manager.get_by_id(admin.id))
    first, second = make_agreement(), make_agreement()
    sber = PaymentSystem.create(code="sber", name="Сбербанк Онлайн", kind="sberbank_online")
    cash, _ = post_payment(first, "100", "ПКО-1", actor=boss, paid_at=dt.date(2026, 11, 3))
    post_payment(second, "250,50", "ПКО-2", actor=boss, paid_at=dt.date(2026, 11, 20), method="bank")
    post_payment(second, "300", "S-1", actor="system", paid_at=dt.date(2026, 11, 21), payment_system=sber,
                 external_id="s-1", method="gateway")
    post_payment(first, "999", "ПКО-3", actor=boss, paid_at=dt.date(2026, 10, 31))  # outside the period
    cancel_payment(cash, actor=boss, reason="ошибка кассира")
    login_as()

    page = _journal(client, **{"from": "2026-11-01", "to": "2026-11-30"})
    assert len(_rows(page)) == 3
    totals = page[page.index('id="journal-totals"'):page.index("</p>", page.index('id="journal-totals"'))]
    assert "550,50" in totals and "100,00" in totals  # booked 550.50, cancelled 100.00 apart
    assert "Сбербанк Онлайн" in page and "Кассир Анна" in page and "ошибка кассира" in page

    # the rendered filter form: payments of the payment system only
    fields = form_values(page, "how")
    assert fields["from"] == "2026-11-01"
    fields["how"] = f"system:{sber.id}"
    rows = _rows(_journal(client, **fields))
    assert len(rows) == 1 and "S-1" in rows[0]
    fields["how"], fields["cancelled"] = "", "yes"
    rows = _rows(_journal(client, **fields))
    assert len(rows) == 1 and "ПКО-1" in rows[0]
    fields["cancelled"], fields["how"] = "no", "bank"
    rows = _rows(_journal(client, **fields))
    assert len(rows) == 1 and "ПКО-2" in rows[0]

    csv_text = client.get("/admin/payments/journal", query_string={
        "from": "2026-11-01", "to": "2026-11-30", "format": "csv"}).get_data(as_text=True)
    lines = csv_text.lstrip("\ufeff").splitlines()
    assert len(lines) == 4 and ru("Document number") in lines[0]
    assert Payment.select().count() == 4  # the journal changes nothing


def test_journal_shows_only_the_managers_groups(client, admin, login_as):
    group = make_group("Север")
    inside = make_subscriber(name="Свой Абонент")
    SubscriberGroup.create(subscriber=inside, group=group)
    mine = make_agreement(inside)
    theirs = make_agreement(make_subscriber(name="Чужой Абонент"))
    post_payment(mine, "10", "A-1", actor="system")
    post_payment(theirs, "20", "B-1", actor="system")
    make_manager("north", groups=[group])
    login_as("north", PASSWORD)
    page = _journal(client)
    assert "Свой Абонент" in page and "Чужой Абонент" not in page
    csv_text = client.get("/admin/payments/journal?format=csv").get_data(as_text=True)
    assert "A-1" in csv_text and "B-1" not in csv_text
