"""The fiscal settings screen (settings.edit) and the receipts screen
with failures and the retry button (payments.create, group scope)."""

from __future__ import annotations

import pytest

from lanbill.customers.operators import default_operator
from lanbill.models import AuditLog
from lanbill.models.receipts import FiscalReceipt, FiscalSettings
from lanbill.paysys import receipts
from tests.admin_helpers import PASSWORD, make_group, make_manager, ru
from tests.factories import make_agreement, make_subscriber
from tests.paysys.fake_atol import FakeAtol
from tests.paysys.test_receipts import fiscal, pay


@pytest.fixture
def atol():
    fake = FakeAtol().start()
    yield fake
    fake.stop()


def _form(atol, **over):
    data = {"enabled": "y", "api_url": atol.url, "login": atol.login, "password": atol.password,
            "group_code": atol.group, "inn": "4027000011", "sno": "usn_income",
            "payment_address": "https://lk.example.ru", "company_email": "kassa@example.ru", "vat": "none",
            "settlement_mode": "advance", "item_name": "Услуги связи по договору {agreement}", "callback_url": ""}
    data.update(over)
    return data


def test_fiscal_settings_are_saved_from_the_form_and_the_password_never_shown(client, admin, login_as, atol):
    operator = default_operator()
    login_as()
    page = client.get(f"/admin/fiscal/{operator.id}").get_data(as_text=True)
    assert 'id="fiscal-form"' in page and ru("ATOL Online (API v5)") in page
    response = client.post(f"/admin/fiscal/{operator.id}", data=_form(atol, inn="12"))
    assert response.status_code == 422 and ru("ИНН is 10 or 12 digits.") in response.get_data(as_text=True)
    assert FiscalSettings.select().count() == 0
    response = client.post(f"/admin/fiscal/{operator.id}", data=_form(atol))
    assert response.status_code == 302
    settings = FiscalSettings.get()
    assert settings.group_code == atol.group and settings.password == atol.password
    page = client.get(f"/admin/fiscal/{operator.id}").get_data(as_text=True)
    assert atol.password not in page
    audit = AuditLog.get(AuditLog.action == "fiscal.save")
    assert atol.password not in str(audit.after)
    listing = client.get("/admin/fiscal").get_data(as_text=True)
    assert atol.group in listing


def test_fiscal_settings_need_settings_edit(client, app, login_as):
    make_manager("cashier", permissions=["payments.create"])
    login_as("cashier", PASSWORD)
    assert client.get(f"/admin/fiscal/{default_operator().id}").status_code == 403
    assert client.get("/admin/receipts").status_code == 200


def test_receipts_screen_shows_failures_and_retry_sends_again(client, admin, login_as, atol):
    fiscal(atol)
    payment = pay(make_agreement(number="F-1"))
    atol.refuse_next = 1
    receipts.send_due()
    receipt = FiscalReceipt.get(FiscalReceipt.payment == payment.id)
    assert receipt.status == "failed"
    login_as()
    page = client.get("/admin/receipts").get_data(as_text=True)
    assert 'id="failed-receipts"' in page and "F-1" in page and f"/admin/receipts/{receipt.id}/retry" in page
    client.post(f"/admin/receipts/{receipt.id}/retry")
    assert FiscalReceipt.get_by_id(receipt.id).status == "pending"
    receipts.send_due()
    page = client.get("/admin/receipts?status=done").get_data(as_text=True)
    assert "9999078900012345" in page and ru("Registered") in page


def test_receipts_of_other_groups_are_not_shown(client, app, login_as, atol):
    fiscal(atol)
    north = make_group("Север")
    pay(make_agreement(make_subscriber(groups=[north.id]), number="N-1"))
    other = pay(make_agreement(number="S-1"))
    make_manager("north", permissions=["payments.create"], groups=[north])
    login_as("north", PASSWORD)
    page = client.get("/admin/receipts").get_data(as_text=True)
    assert "N-1" in page and "S-1" not in page
    hidden = FiscalReceipt.get(FiscalReceipt.payment == other.id)
    FiscalReceipt.update(status="failed").where(FiscalReceipt.id == hidden.id).execute()
    assert client.post(f"/admin/receipts/{hidden.id}/retry").status_code == 404
