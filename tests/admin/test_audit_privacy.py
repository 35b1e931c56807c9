"""The audit log keeps no personal data in clear and follows group scope:
a passport typed into the subscriber form is recorded as "changed", old
rows holding passport values are redacted by migration 0061, and the
screen and its CSV show only rows about subscribers the manager's groups
cover."""

from __future__ import annotations

import importlib

from lanbill.actor import Actor
from lanbill.models import AuditLog
from lanbill.staff import audit
from lanbill.staff.audit import CHANGED
from tests.admin_helpers import PASSWORD, make_group, make_manager, ru
from tests.factories import make_account, make_agreement, make_subscriber

PASSPORT = "4510 987654"


def _individual(**over) -> dict:
    data = {"category": "subscriber", "kind": "individual", "name": "Паспортов Пётр", "email": "",
            "phone": "", "passport_series": "4510", "passport_number": "987654",
            "passport_issued_by": "ОВД Калуги", "birth_date": "1980-01-01"}
    data.update(over)
    return data


def _all_audit_text() -> str:
    return " ".join(f"{row.before} {row.after}" for row in AuditLog.select())


def test_creating_and_editing_a_subscriber_records_personal_fields_only_as_changed(client, admin, login_as):
    login_as()
    client.get("/admin/subscribers/new?kind=individual&passport=1")
    assert client.post("/admin/subscribers/new?passport=1", data=_individual()).status_code == 302
    created = AuditLog.get(AuditLog.action == "subscriber.create")
    assert created.after["passport_number"] == CHANGED and created.after["name"] == "Паспортов Пётр"
    assert "987654" not in _all_audit_text() and "ОВД Калуги" not in _all_audit_text()

    subscriber_id = created.object_id
    form = _individual(version="1", passport_number="111222", passport_issued_by="УФМС Тулы")
    assert client.post(f"/admin/subscribers/{subscriber_id}?passport=1", data=form).status_code == 302
    updated = AuditLog.get(AuditLog.action == "subscriber.update")
    assert updated.after == {"passport_number": CHANGED, "passport_issued_by": CHANGED}
    assert not updated.before
    text = _all_audit_text()
    assert "111222" not in text and "987654" not in text and "Тулы" not in text

    page = client.get("/admin/audit").get_data(as_text=True)
    csv = client.get("/admin/audit?format=csv").get_data(as_text=True)
    for shown in (page, csv):
        assert "987654" not in shown and "111222" not in shown
    assert ru("changed") in page


def test_audit_screen_hides_personal_fields_from_roles_without_the_permission(client, admin, login_as):
    # A row written by any code path that still holds a personal key.
    AuditLog.create(actor="manager:old", action="subscriber.update", object_type="tariff", object_id="1",
                    before=None, after={"birth_date": "1970-05-05", "name": "Старое имя"})
    make_manager("no-personal", permissions=["settings.edit", "subscribers.view"])
    login_as("no-personal", PASSWORD)
    page = client.get("/admin/audit").get_data(as_text=True)
    csv = client.get("/admin/audit?format=csv").get_data(as_text=True)
    assert "1970-05-05" not in page and "1970-05-05" not in csv
    assert "Старое имя" in page


def test_migration_redacts_passport_values_already_in_the_log(app):
    subscriber = make_subscriber(name="Старый")
    row = AuditLog.create(actor="manager:admin", action="subscriber.update", object_type="subscriber",
                          object_id=str(subscriber.id), before={"passport_number": "123456", "name": "A"},
                          after={"passport_number": "654321", "name": "B", "passport_series": ""})
    other = AuditLog.create(actor="manager:admin", action="tariff.update", object_type="tariff", object_id="1",
                            before={"rent": "1"}, after={"rent": "2"})
    migration = importlib.import_module("lanbill.migrations.0061_audit_without_personal_data")
    migration.upgrade(None)
    row = AuditLog.get_by_id(row.id)
    assert row.before == {"name": "A"}
    assert row.after == {"name": "B", "passport_number": CHANGED}
    assert AuditLog.get_by_id(other.id).after == {"rent": "2"}
    migration.upgrade(None)  # a second run changes nothing
    assert AuditLog.get_by_id(row.id).after == {"name": "B", "passport_number": CHANGED}


def test_audit_log_shows_only_rows_about_the_managers_groups(client, admin, login_as):
    mine, theirs = make_group("Мои"), make_group("Чужие")
    seen = make_subscriber(name="Видимый", groups=[mine])
    hidden = make_subscriber(name="Невидимый", groups=[theirs])
    hidden_agreement = make_agreement(hidden, number="HID-1")
    hidden_account = make_account(hidden_agreement, login="hiddenlogin")
    who = Actor("manager:admin", manager_id=admin.id)
    audit.record(who, "subscriber.update", "subscriber", seen.id, after={"name": "SEEN-ROW"})
    audit.record(who, "subscriber.update", "subscriber", hidden.id, after={"name": "HIDDEN-SUBSCRIBER"})
    audit.record(who, "agreement.update", "agreement", hidden_agreement.id, after={"number": "HIDDEN-AGREEMENT"})
    audit.record(who, "account.update", "account", hidden_account.id, after={"login": "HIDDEN-ACCOUNT"})
    audit.record(who, "tariff.update", "tariff", 1, after={"name": "TARIFF-ROW"})
    make_manager("limited", groups=[mine], permissions=["settings.edit", "subscribers.view"])
    login_as("limited", PASSWORD)
    for url in ("/admin/audit?per_page=200", "/admin/audit?format=csv"):
        shown = client.get(url).get_data(as_text=True)
        assert "SEEN-ROW" in shown and "TARIFF-ROW" in shown
        for secret in ("HIDDEN-SUBSCRIBER", "HIDDEN-AGREEMENT", "HIDDEN-ACCOUNT", "Невидимый", "hiddenlogin"):
            assert secret not in shown, (url, secret)
