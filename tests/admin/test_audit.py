"""The audit log screen: rows with before/after values, filters by manager,
action, object and dates, paging."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from lanbill.actor import Actor
from lanbill.models import AuditLog
from lanbill.staff import audit
from tests.admin_helpers import ru
from tests.factories import make_subscriber


@pytest.fixture
def admin_client(client, admin, login_as):
    login_as()
    return client


def html(response) -> str:
    return response.get_data(as_text=True)


def rows(page: str) -> list[str]:
    body = page[page.index('id="audit"'):]
    body = body[body.index("<tbody>"):body.index("</tbody>")]
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)


@pytest.fixture
def journal(app, admin):
    """Known audit rows by two managers over three days."""
    AuditLog.delete().execute()
    anna = Actor("manager:anna", manager_id=admin.id + 100)
    boss = Actor(f"manager:{admin.login}", manager_id=admin.id)
    entries = [
        (dt.datetime(2026, 3, 1, 9, 0), boss, "tariff.update", "tariff", 7, {"rent": "600.00"}, {"rent": "650.00"}),
        (dt.datetime(2026, 3, 2, 9, 0), anna, "group.create", "group", 3, None, {"name": "Север"}),
        (dt.datetime(2026, 3, 3, 9, 0), boss, "tariff.archive", "tariff", 8, None, None),
        (dt.datetime(2026, 3, 3, 21, 30), anna, "operator.update", "operator", 1,
         {"name": "Default operator"}, {"name": "ООО «Калуга-Нет»"}),
    ]
    for at, who, action, obj_type, obj_id, before, after in entries:
        row = audit.record(who, action, obj_type, obj_id, before=before, after=after)
        AuditLog.update(at=at).where(AuditLog.id == row.id).execute()
    return entries


def test_log_shows_who_what_when_and_values(admin_client, journal):
    page = html(admin_client.get("/admin/audit"))
    found = rows(page)
    assert len(found) == 4
    assert ru("Operator edited") in found[0]  # newest first, in words
    assert "<del>Default operator</del> → ООО «Калуга-Нет»" in found[0]
    assert "<del>600,00</del> → 650,00" in found[-1]
    assert "anna" in found[0] and "manager:anna" not in found[0]
    # Times shown in the operator's zone (Moscow, UTC+3).
    assert "04.03.2026 00:30" in found[0]
    # Objects link to their screens.
    assert 'href="/admin/operators/1"' in found[0] and 'href="/admin/tariffs/7"' in found[-1]


def test_filters(admin_client, journal, admin):
    assert len(rows(html(admin_client.get(f"/admin/audit?manager={admin.id}")))) == 2
    assert len(rows(html(admin_client.get("/admin/audit?action=tariff")))) == 2
    assert len(rows(html(admin_client.get("/admin/audit?object_type=group")))) == 1
    assert len(rows(html(admin_client.get("/admin/audit?object_type=tariff&object_id=8")))) == 1
    # Local dates: 03.03 21:30 UTC is already 04.03 in Moscow.
    assert len(rows(html(admin_client.get("/admin/audit?date_from=2026-03-02&date_to=2026-03-03")))) == 2
    assert len(rows(html(admin_client.get("/admin/audit?date_from=2026-03-04")))) == 1
    # A malformed date is reported and ignored, not a crash.
    response = admin_client.get("/admin/audit?date_from=yesterday")
    assert response.status_code == 200 and len(rows(html(response))) == 4
    assert "Неверное значение даты." in html(response)


def test_paging_and_sorting(admin_client, journal):
    for n in range(30):
        audit.record("job:test", "job.run", "job", n)
    first = rows(html(admin_client.get("/admin/audit?per_page=25")))
    second = rows(html(admin_client.get("/admin/audit?per_page=25&page=2")))
    assert len(first) == 25 and len(second) == 9
    oldest_first = rows(html(admin_client.get("/admin/audit?sort=at&per_page=25")))
    assert ru("Tariff edited") in oldest_first[0]


def test_changes_made_on_screens_are_logged_with_the_manager_and_ip(admin_client, admin):
    admin_client.post("/admin/groups/new", data={"name": "Юг", "promise_days": "3", "promise_interval_days": "30",
                                                 "promise_max_amount": "0"},
                      environ_base={"REMOTE_ADDR": "10.1.2.3"})
    row = AuditLog.get(AuditLog.action == "group.create")
    assert row.manager_id == admin.id and row.actor == "manager:admin" and row.ip == "10.1.2.3"
    assert row.after["name"] == "Юг"


def test_subscriber_edit_and_passport_view_are_logged_with_the_client_address(admin_client):
    subscriber = make_subscriber(name="Адресный", passport_number="123456")
    response = admin_client.post(f"/admin/subscribers/{subscriber.id}", data={"version": "1", "name": "Адресный 2"},
                                 environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert response.status_code == 302
    row = AuditLog.get((AuditLog.action == "subscriber.update") & (AuditLog.object_id == str(subscriber.id)))
    assert row.actor == "manager:admin" and row.ip == "10.9.8.7"
    admin_client.get(f"/admin/subscribers/{subscriber.id}?passport=1", environ_base={"REMOTE_ADDR": "10.9.8.6"})
    row = AuditLog.get((AuditLog.action == "personal_data.view") & (AuditLog.object_id == str(subscriber.id)))
    assert row.actor == "manager:admin" and row.ip == "10.9.8.6"


def test_a_password_change_is_logged_with_the_client_address(admin_client, admin):
    response = admin_client.post("/password", data={"current": "Secret-pass1", "password": "Another-pass2",
                                                    "confirm": "Another-pass2"},
                                 environ_base={"REMOTE_ADDR": "10.9.8.5"})
    assert response.status_code == 302
    row = AuditLog.get(AuditLog.action == "manager.password")
    assert row.manager_id == admin.id and row.ip == "10.9.8.5"


def test_csv_export_follows_the_filters(admin_client, journal):
    response = admin_client.get("/admin/audit?object_type=operator&format=csv")
    text = response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 2  # the header and the one operator row
    assert "name: Default operator → ООО «Калуга-Нет»" in lines[1]
    assert lines[1].startswith("04.03.2026 00:30:00;")  # local time
