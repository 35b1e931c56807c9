"""The payment systems screen: settings.edit only, the form saves through
the domain, the secret is never shown back and an empty field keeps it,
refusals are shown in Russian with nothing saved."""

from __future__ import annotations

from lanbill.models import AuditLog, Role
from lanbill.models.paysys import PaymentSystem
from lanbill.staff.managers import create_manager
from tests.factories import ACTOR, table_counts
from tests.pay.helpers import fresh_system_cache  # noqa: F401 - autouse fixture

SECRET = "Kassa-secret-9931"


def _form(**over):
    data = {"code": "kassa", "name": "ЮKassa", "kind": "yookassa", "operator": "0", "allowed_networks": "",
            "login": "", "password": SECRET, "account_identifier": "agreement", "min_amount": "10,00",
            "max_amount": "", "enabled": "y", "shop_id": "556677", "api_url": "http://127.0.0.1:9/v3",
            "methods": ["bank_card", "sbp"], "autopay": "y", "autopay_days_before": "3"}
    data.update(over)
    return data


def test_staff_configure_a_yookassa_system_and_never_see_its_secret(client, admin, login_as):
    login_as()
    page = client.get("/admin/payment-systems/new")
    assert page.status_code == 200
    assert "Платёжн" in page.get_data(as_text=True)
    response = client.post("/admin/payment-systems/new", data=_form())
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    system = PaymentSystem.get(PaymentSystem.code == "kassa")
    assert system.password == SECRET and str(system.min_amount) == "10.00"
    assert system.options["shop_id"] == "556677" and system.options["methods"] == ["bank_card", "sbp"]
    edit = client.get(f"/admin/payment-systems/{system.id}")
    html = edit.get_data(as_text=True)
    assert SECRET not in html and "••••••••" in html and "/pay/kassa/notify" in html
    saved = client.post(f"/admin/payment-systems/{system.id}",
                        data=_form(name="ЮKassa магазин", password="", version=str(system.version)))
    assert saved.status_code == 302
    system = PaymentSystem.get_by_id(system.id)
    assert system.name == "ЮKassa магазин" and system.password == SECRET
    listing = client.get("/admin/payment-systems").get_data(as_text=True)
    assert "ЮKassa магазин" in listing and "/pay/kassa" in listing
    assert all(SECRET not in str(r.before) + str(r.after) for r in AuditLog.select())


def test_bad_input_is_shown_in_russian_and_nothing_saved(client, admin, login_as):
    login_as()
    before = table_counts()
    response = client.post("/admin/payment-systems/new",
                           data=_form(code="Плохой код", shop_id="abc", allowed_networks="10.0.0.0/40"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Латинские" in html or "латинск" in html
    assert "185.71.76.0/27" in html
    assert table_counts() == before


def test_the_screen_needs_settings_edit(client, admin, login_as):
    role = Role.create(name="Кассир", permissions=["payments.create"], all_groups=True)
    create_manager("cashier", role=role, actor=ACTOR, password="Cashier-pass-1")
    login_as("cashier", "Cashier-pass-1")
    assert client.get("/admin/payment-systems").status_code == 403
    assert client.post("/admin/payment-systems/new", data=_form()).status_code == 403
    assert PaymentSystem.select().count() == 0
