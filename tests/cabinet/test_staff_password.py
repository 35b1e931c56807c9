"""Staff set or reset the cabinet password (DESIGN §10): on the
subscriber's admin page and by `PUT /api/v1/subscribers/<id>/cabinet-password`.
A generated password is shown once; only its argon2 hash is stored, and
neither the password nor the hash reaches the audit log."""

from __future__ import annotations

import json

from lanbill.models import AuditLog, Subscriber
from lanbill.staff.managers import verify_password
from tests.admin_helpers import PASSWORD as STAFF_PASSWORD
from tests.admin_helpers import make_group, make_manager, ru
from tests.cabinet.helpers import log_in, submit, text_of
from tests.factories import make_agreement, make_subscriber, table_counts


def _audit_text() -> str:
    return json.dumps([[r.before, r.after] for r in AuditLog.select()], ensure_ascii=False)


def test_staff_set_the_password_through_the_subscriber_page(client, admin, login_as):
    subscriber = make_subscriber()
    agreement = make_agreement(subscriber)
    login_as()
    page = f"/admin/subscribers/{subscriber.id}"
    assert ru("not set: the cabinet is closed") in text_of(client.get(page))
    action = f"/admin/subscribers/{subscriber.id}/cabinet-password"
    response = submit(client, page, {"cabinet_password": "Given-pass7", "action": "set"}, action=action)
    assert response.status_code == 302
    stored = Subscriber.get_by_id(subscriber.id).password_hash
    assert stored.startswith("$argon2") and verify_password(stored, "Given-pass7")
    assert "Given-pass7" not in _audit_text() and stored not in _audit_text()
    assert AuditLog.select().where(AuditLog.action == "subscriber.cabinet_password").count() == 1
    client.post("/logout")
    log_in(client, agreement.number, "Given-pass7")


def test_a_weak_or_empty_password_is_refused_and_nothing_changes(client, admin, login_as):
    subscriber = make_subscriber()
    login_as()
    page = f"/admin/subscribers/{subscriber.id}"
    action = f"/admin/subscribers/{subscriber.id}/cabinet-password"
    before = table_counts()
    for weak in ("", "short1", "onlyletters"):
        response = submit(client, page, {"cabinet_password": weak, "action": "set"}, action=action)
        assert response.status_code == 302
        shown = text_of(client.get(response.headers["Location"]))
        assert "Пароль личного кабинета не установлен" in shown
    assert table_counts() == before
    assert Subscriber.get_by_id(subscriber.id).password_hash == ""


def test_generate_shows_the_password_once(client, admin, login_as):
    subscriber = make_subscriber()
    agreement = make_agreement(subscriber)
    login_as()
    page = f"/admin/subscribers/{subscriber.id}"
    action = f"/admin/subscribers/{subscriber.id}/cabinet-password"
    response = submit(client, page, {"action": "generate"}, action=action)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    password = html.split('id="generated-password">')[1].split("<")[0]
    assert len(password) == 10
    assert password not in text_of(client.get(page))
    assert password not in _audit_text()
    client.post("/logout")
    log_in(client, agreement.number, password)


def test_api_sets_and_generates_the_cabinet_password(api):
    subscriber = make_subscriber()
    url = f"/subscribers/{subscriber.id}/cabinet-password"
    response = api.client.put("/api/v1" + url, json={"password": "Api-pass-77"}, headers=api._headers())
    assert response.status_code == 200, response.json
    assert response.json == {"id": subscriber.id, "password_set": True}
    assert verify_password(Subscriber.get_by_id(subscriber.id).password_hash, "Api-pass-77")
    generated = api.client.put("/api/v1" + url, json={"generate": True}, headers=api._headers())
    assert generated.status_code == 200
    assert verify_password(Subscriber.get_by_id(subscriber.id).password_hash, generated.json["password"])
    assert generated.json["password"] not in _audit_text()


def test_api_refuses_a_bad_body_and_changes_nothing(api):
    subscriber = make_subscriber()
    url = f"/api/v1/subscribers/{subscriber.id}/cabinet-password"
    before = table_counts()
    for body in ({}, {"password": "Api-pass-77", "generate": True}, {"password": ""}, {"password": "weak"},
                 {"generate": False}, {"password": 12345678}, {"secret": "x"}):
        response = api.client.put(url, json=body, headers=api._headers())
        assert response.status_code == 422, (body, response.json)
        assert response.json["error"]
    assert table_counts() == before


def test_api_hides_a_subscriber_of_another_group(app, client):
    from lanbill.models import SubscriberGroup
    from lanbill.staff.tokens import create_token

    seen, hidden = make_group("Видимые"), make_group("Скрытые")
    manager = make_manager("limited", groups=[seen])
    subscriber = make_subscriber()
    SubscriberGroup.create(subscriber=subscriber, group=hidden)
    token = create_token(manager, name="t")
    response = client.put(f"/api/v1/subscribers/{subscriber.id}/cabinet-password", json={"generate": True},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404
    assert Subscriber.get_by_id(subscriber.id).password_hash == ""
    assert STAFF_PASSWORD  # the manager's own password is not involved
