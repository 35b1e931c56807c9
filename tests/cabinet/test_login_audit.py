"""Cabinet login audit rows (a login, a refused login — never the password
nor the login typed —, a log-out), and the history pages of a subscriber
without agreements (an empty page, not "not found")."""

from __future__ import annotations

from lanbill.customers import cabinet
from lanbill.models import AuditLog, Subscriber
from tests.admin_helpers import ru
from tests.cabinet.helpers import PASSWORD, log_in, make_cabinet_subscriber, submit, text_of
from tests.factories import ACTOR, make_subscriber


def test_login_failure_and_logout_are_audited_without_secrets(client):
    subscriber, agreement, _ = make_cabinet_subscriber()
    submit(client, "/", {"login": agreement.number, "password": "Wrong-pass-1"})
    submit(client, "/", {"login": "Secret-typed-in-login-1", "password": "Wrong-pass-2"})
    log_in(client, agreement.number)
    submit(client, "/", {}, action="/sign-out")
    rows = list(AuditLog.select().where(AuditLog.action.startswith("cabinet.")).order_by(AuditLog.id))
    assert [r.action for r in rows] == ["cabinet.login_failed", "cabinet.login_failed", "cabinet.login",
                                        "cabinet.logout"]
    assert rows[0].object_id == str(subscriber.id) and rows[0].actor == f"subscriber:{subscriber.id}"
    assert rows[1].object_id == "" and rows[1].actor == "cabinet:anonymous"
    assert rows[2].object_id == str(subscriber.id) and rows[3].object_id == str(subscriber.id)
    assert all(r.ip == "127.0.0.1" for r in rows)
    dump = " ".join(f"{r.before} {r.after}" for r in rows)
    for secret in ("Wrong-pass-1", "Wrong-pass-2", "Secret-typed-in-login-1", PASSWORD):
        assert secret not in dump


def test_a_subscriber_without_agreements_gets_empty_history_pages(client):
    subscriber = make_subscriber(name="Без Договоров")
    Subscriber.update(login="nodeals").where(Subscriber.id == subscriber.id).execute()
    cabinet.set_password(subscriber, PASSWORD, actor=ACTOR)
    log_in(client, "nodeals")
    for url in ("/payments", "/charges", "/cards"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert ru("You have no agreements yet, so there is nothing to show here.") in text_of(response)
    assert client.get("/tariffs").status_code == 200
