"""Payment systems configuration (DESIGN §11): validation, the write-only
encrypted secret, the audit log without it, the API, the check digit."""

from __future__ import annotations

import pytest

from lanbill.db import database
from lanbill.errors import ValidationError
from lanbill.models import AuditLog, Operator
from lanbill.models.paysys import PaymentSystem
from lanbill.paysys import systems
from lanbill.paysys.check_digit import check_digit, strip_check_digit, with_check_digit
from tests.factories import ACTOR, table_counts
from tests.pay.helpers import fresh_system_cache  # noqa: F401 - autouse fixture

SECRET = "Shop-secret-key-0042"


def test_check_digit_is_the_digit_sum_mod_10():
    assert check_digit("123456") == "1"
    assert check_digit("0") == "0"
    assert with_check_digit("9999") == "99996"
    assert strip_check_digit("99996") == "9999"
    assert strip_check_digit("99995") is None
    assert strip_check_digit("9") is None
    assert strip_check_digit("12a4") is None
    with pytest.raises(ValueError):
        check_digit("12a")


def test_create_checks_every_field_and_saves_nothing_when_wrong(app):
    before = table_counts()
    with pytest.raises(ValidationError) as refused:
        systems.create_system({"code": "Bad Code!", "name": "", "kind": "bitcoin", "allowed_networks": "10.0.0.0/33",
                               "account_identifier": "phone", "min_amount": "abc", "options": []}, actor=ACTOR)
    assert set(refused.value.fields) >= {"code", "name", "kind", "allowed_networks", "account_identifier",
                                         "min_amount", "options"}
    with pytest.raises(ValidationError) as refused:
        systems.create_system({"code": "kassa", "name": "ЮKassa", "kind": "yookassa",
                               "options": {"api_url": "ftp://x", "methods": ["cash"], "autopay_days_before": 40}},
                              actor=ACTOR)
    assert set(refused.value.fields) >= {"options.shop_id", "options.api_url", "options.methods",
                                         "options.autopay_days_before", "password"}
    with pytest.raises(ValidationError) as refused:
        systems.create_system({"code": "t1", "name": "T", "kind": "osmp", "min_amount": "100",
                               "max_amount": "10", "login": "x"}, actor=ACTOR)
    assert set(refused.value.fields) == {"max_amount", "password"}
    assert table_counts() == before


def test_code_is_unique_and_the_kind_is_fixed(app):
    system = systems.create_system({"code": "qiwi", "name": "QIWI", "kind": "osmp"}, actor=ACTOR)
    with pytest.raises(ValidationError) as refused:
        systems.create_system({"code": "qiwi", "name": "Another", "kind": "osmp"}, actor=ACTOR)
    assert "code" in refused.value.fields
    with pytest.raises(ValidationError) as refused:
        systems.update_system(system.id, {"kind": "sberbank_online"}, actor=ACTOR)
    assert "kind" in refused.value.fields


def test_secret_is_encrypted_at_rest_write_only_and_never_audited(app):
    system = systems.create_system({
        "code": "kassa", "name": "ЮKassa", "kind": "yookassa", "password": SECRET,
        "options": {"shop_id": "123456"}, "allowed_networks": "185.71.76.0/27\n77.75.156.11",
    }, actor=ACTOR)
    raw = database.execute_sql(f"SELECT password FROM payment_system WHERE id = {int(system.id)}").fetchone()[0]
    assert SECRET not in raw and raw
    assert PaymentSystem.get_by_id(system.id).password == SECRET
    assert system.options == {"shop_id": "123456", "api_url": systems.YOOKASSA_API_URL,
                              "methods": ["bank_card", "sbp"], "autopay": True, "autopay_days_before": 3}
    assert systems.networks_of(system) == ["185.71.76.0/27", "77.75.156.11/32"]
    assert system.needs_receipt is True  # ЮKassa without its own receipts needs ours (DOMAIN-RULES §4)
    updated = systems.update_system(system.id, {"name": "ЮKassa shop", "password": ""}, actor=ACTOR,
                                    version=system.version)
    assert updated.password == SECRET  # an empty password keeps the current one
    systems.update_system(system.id, {"password": "New-secret-77"}, actor=ACTOR)
    assert PaymentSystem.get_by_id(system.id).password == "New-secret-77"
    rows = list(AuditLog.select().where(AuditLog.object_type == "payment_system"))
    assert [r.action for r in rows] == ["payment_system.create", "payment_system.update", "payment_system.update"]
    text = " ".join(str(r.before) + str(r.after) for r in rows)
    assert SECRET not in text and "New-secret-77" not in text
    assert "changed" in text
    assert systems.masked_secret(updated) == "••••••••"


def test_address_and_credential_rules(app):
    osmp = systems.create_system({"code": "tt", "name": "T", "kind": "osmp", "allowed_networks": ["10.0.0.0/8"],
                                  "login": "term", "password": "pw-1"}, actor=ACTOR)
    assert osmp.needs_receipt is False  # a terminal's agent issues its own receipt
    assert systems.address_allowed(osmp, "10.2.3.4")
    assert not systems.address_allowed(osmp, "11.0.0.1")
    assert not systems.address_allowed(osmp, "not an address")
    assert systems.credentials_ok(osmp, "term", "pw-1")
    assert not systems.credentials_ok(osmp, "term", "pw-2")
    assert not systems.credentials_ok(osmp, None, None)
    open_list = systems.create_system({"code": "t2", "name": "T2", "kind": "osmp"}, actor=ACTOR)
    assert not systems.address_allowed(open_list, "127.0.0.1")  # an empty list lets no one in
    kassa = systems.create_system({"code": "kk", "name": "K", "kind": "yookassa", "password": "s",
                                   "options": {"shop_id": "1"}}, actor=ACTOR)
    assert systems.address_allowed(kassa, "203.0.113.1")  # trusted by the read-back instead


def test_stale_version_is_refused(app):
    system = systems.create_system({"code": "tt", "name": "T", "kind": "osmp"}, actor=ACTOR)
    systems.update_system(system.id, {"name": "T2"}, actor=ACTOR, version=system.version)
    with pytest.raises(Exception) as refused:
        systems.update_system(system.id, {"name": "T3"}, actor=ACTOR, version=system.version)
    assert getattr(refused.value, "status", None) == 409


# --- the API ---------------------------------------------------------------------------


def test_api_creates_reads_lists_and_updates_without_returning_the_secret(api):
    operator = Operator.select().first()
    created = api.post("/payment-systems", json={
        "code": "kassa", "name": "ЮKassa", "kind": "yookassa", "operator_id": operator.id, "password": SECRET,
        "options": {"shop_id": "556677", "api_url": "http://127.0.0.1:9/v3"}, "min_amount": "10.00",
        "max_amount": 15000, "needs_receipt": True, "allowed_networks": ["185.71.76.0/27"],
    })
    assert created.status_code == 201, created.json
    body = created.json
    assert body["password_set"] is True and "password" not in body
    assert SECRET not in created.get_data(as_text=True)
    assert body["url"] == "/pay/kassa" and body["min_amount"] == "10.00" and body["max_amount"] == "15000.00"
    assert body["options"]["api_url"] == "http://127.0.0.1:9/v3"
    one = api.get(f"/payment-systems/{body['id']}")
    assert one.status_code == 200 and SECRET not in one.get_data(as_text=True)
    listed = api.get("/payment-systems").json
    assert listed["total"] == 1 and listed["items"][0]["code"] == "kassa"
    patched = api.patch(f"/payment-systems/{body['id']}", json={"enabled": False, "version": body["version"]})
    assert patched.status_code == 200 and patched.json["enabled"] is False
    stale = api.patch(f"/payment-systems/{body['id']}", json={"enabled": True, "version": body["version"]})
    assert stale.status_code == 409


def test_api_refuses_bad_input_with_every_field_named(api):
    before = table_counts()
    response = api.post("/payment-systems", json={"code": "x y", "name": "N", "kind": "osmp", "min_amount": 1.5,
                                                  "allowed_networks": "10.0.0.0/8", "colour": "red"})
    assert response.status_code == 422
    assert set(response.json["fields"]) == {"min_amount", "allowed_networks", "colour"}
    response = api.post("/payment-systems", json={"code": "x y", "name": "N", "kind": "osmp"})
    assert response.status_code == 422 and "code" in response.json["fields"]
    assert table_counts() == before


def test_api_needs_settings_edit(app, client, api):
    from lanbill.models import Role
    from lanbill.staff.managers import create_manager
    from lanbill.staff.tokens import create_token
    from tests.conftest import ApiClient

    role = Role.create(name="Кассир", permissions=["payments.create"], all_groups=True)
    clerk = create_manager("clerk", role=role, actor=ACTOR, password="Clerk-pass-1")
    token = ApiClient(client, create_token(clerk, name="t"))
    assert token.get("/payment-systems").status_code == 403
    assert token.post("/payment-systems", json={"code": "a1", "name": "A", "kind": "osmp"}).status_code == 403
