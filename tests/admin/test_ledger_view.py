"""The agreement's ledger as staff read it: a running balance beside every
entry, sources in words (the billing job, the manager's name, the payment
system) instead of internal labels, periods as dates — on the page and in
the CSV export."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from lanbill.actor import job, staff_actor
from lanbill.billing.ledger import post_entry
from lanbill.billing.payments import post_payment
from lanbill.models import Manager, PaymentSystem
from tests.admin_helpers import ru
from tests.factories import make_agreement


def test_ledger_shows_running_balance_and_sources_in_words(client, admin, login_as):
    Manager.update(name="Иванова Мария").where(Manager.id == admin.id).execute()
    agreement = make_agreement()
    post_entry(agreement.id, Decimal("-650.00"), "rent", actor=job("bill"), period_start=dt.date(2026, 12, 1),
               period_end=dt.date(2026, 12, 31), comment="advance")
    post_payment(agreement, "1000,50", "ПКО-1", actor=staff_actor(Manager.get_by_id(admin.id)))
    sber = PaymentSystem.create(code="sber", name="Сбербанк Онлайн", kind="sberbank_online")
    post_payment(agreement, "200", "S-77", actor="system", payment_system=sber, external_id="77", method="gateway")
    login_as()
    page = client.get(f"/admin/agreements/{agreement.id}?sort=created&dir=asc").get_data(as_text=True)
    assert ru("Monthly fee charged") in page and "job:bill" not in page
    assert "Иванова Мария" in page and "manager:admin" not in page
    assert ru("Payment: %(how)s", how="Сбербанк Онлайн") in page
    assert "01.12.2026–31.12.2026" in page and "2026-12-01" not in page
    assert ru("for the month in advance") in page and ">advance<" not in page
    # balances after each entry, oldest first: −650.00, 350.50, 550.50
    ledger = page[page.index('id="ledger"'):]
    balances = re.findall(r'data-label="[^"]*" class="num"><span class="money[^"]*">([^<]*)</span>', ledger)[1::2]
    assert [b.replace("\xa0", " ") for b in balances] == ["−650,00 ₽", "350,50 ₽", "550,50 ₽"]

    csv_text = client.get(f"/admin/agreements/{agreement.id}?format=csv&sort=created&dir=asc").get_data(as_text=True)
    lines = csv_text.lstrip("\ufeff").splitlines()
    assert ru("Balance after") in lines[0] and ru("Source") in lines[0]
    assert "550,50" in lines[-1]  # a decimal comma for Russian spreadsheets
    assert "Сбербанк Онлайн" in lines[-1]
