"""Cabinet login at `/` (DESIGN §10, seed 002 «Приложение 1»): by the
cabinet login or the agreement number, argon2 passwords, never an empty
one, log out by POST, idle timeout, slow-down per login and address, the
"only from my accounts' IPs" flag, and a session apart from staff's."""

from __future__ import annotations

import datetime as dt

import time_machine

from lanbill.customers import cabinet, subscribers
from lanbill.models import AccountIp, Subscriber
from lanbill.models.logins import LoginFailure
from tests.admin_helpers import ru
from tests.cabinet.helpers import PASSWORD, log_in, make_cabinet_subscriber, submit, text_of
from tests.factories import ACTOR, make_agreement, make_subscriber

T0 = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


def test_login_by_agreement_number_opens_the_home_page(client):
    subscriber, agreement, _ = make_cabinet_subscriber(name="Петров Пётр")
    page = client.get("/")
    assert page.status_code == 200
    assert 'name="login"' in page.get_data(as_text=True)
    assert 'autocomplete="username"' in page.get_data(as_text=True)
    assert '="None"' not in page.get_data(as_text=True)
    log_in(client, agreement.number)
    home = text_of(client.get("/"))
    assert "Петров Пётр" in home
    assert agreement.number in home
    assert Subscriber.get_by_id(subscriber.id).password_hash.startswith("$argon2")


def test_own_cabinet_login_wins_over_the_agreement_number(client):
    subscriber, agreement, _ = make_cabinet_subscriber()
    subscribers.update_subscriber(subscriber, {"login": "petrov"}, actor=ACTOR)
    refused = submit(client, "/", {"login": agreement.number, "password": PASSWORD})
    assert refused.status_code == 401
    log_in(client, "petrov")


def test_an_agreement_number_of_two_subscribers_names_nobody(client):
    first, agreement, _ = make_cabinet_subscriber()
    assert cabinet.find_by_login(agreement.number).id == first.id
    other = make_subscriber()
    # another operator may reuse the number (unique per operator only)
    from lanbill.models import Agreement, Operator

    operator = Operator.create(name="Филиал")
    Agreement.create(number=agreement.number, date=agreement.date, operator=operator, subscriber=other,
                     currency=agreement.currency_id)
    assert cabinet.find_by_login(agreement.number) is None


def test_wrong_or_empty_password_is_refused_in_russian_and_nothing_opens(client):
    _, agreement, _ = make_cabinet_subscriber()
    wrong = submit(client, "/", {"login": agreement.number, "password": "wrong-pass-1"})
    assert wrong.status_code == 401
    assert ru("Wrong login or password.") in wrong.get_data(as_text=True)
    empty = submit(client, "/", {"login": agreement.number, "password": ""})
    assert empty.status_code == 422
    assert client.get("/payments").status_code == 302


def test_a_subscriber_without_a_cabinet_password_never_logs_in(client):
    subscriber = make_subscriber()
    agreement = make_agreement(subscriber)
    assert subscriber.password_hash == ""
    for password in ("", " ", "anything-1"):
        try:
            cabinet.authenticate(agreement.number, password, ip="10.9.9.9")
        except cabinet.CabinetLoginRefused as exc:
            assert exc.message == "Wrong login or password."
        else:
            raise AssertionError("logged in without a password")


def test_logout_is_a_post_and_ends_the_session(client):
    _, agreement, _ = make_cabinet_subscriber()
    log_in(client, agreement.number)
    assert client.get("/sign-out").status_code == 405
    assert client.get("/payments").status_code == 200
    response = submit(client, "/", {}, action="/sign-out")
    assert response.status_code == 302
    assert client.get("/payments").status_code == 302


def test_session_ends_after_session_minutes_of_inactivity(app, client):
    _, agreement, _ = make_cabinet_subscriber()
    with time_machine.travel(T0, tick=False) as traveller:
        log_in(client, agreement.number)
        traveller.shift(dt.timedelta(minutes=19))
        assert client.get("/payments").status_code == 200
        traveller.shift(dt.timedelta(minutes=19))
        assert client.get("/payments").status_code == 200
        cookie = client.get_cookie("session").value
        traveller.shift(dt.timedelta(minutes=app.config["SESSION_MINUTES"] + 1))
        assert client.get("/payments").status_code == 302
        client.set_cookie("session", cookie)  # the server refuses a stale cookie itself
        response = client.get("/payments")
        assert response.status_code == 302
        assert 'name="password"' in text_of(client.get("/"))  # the login page again


def test_repeated_failures_slow_the_login_down(app, client):
    _, agreement, _ = make_cabinet_subscriber()
    free = app.config["LOGIN_MAX_FAILURES"]
    with time_machine.travel(T0, tick=False) as traveller:
        for _ in range(free):
            assert submit(client, "/", {"login": agreement.number, "password": "bad-pass-1"}).status_code == 401
        response = submit(client, "/", {"login": agreement.number, "password": PASSWORD})
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) >= 2
        assert "Слишком много неудачных попыток входа" in response.get_data(as_text=True)
        # another login from another address is not slowed down
        _, other, _ = make_cabinet_subscriber()
        log_in(client, other.number, environ_base={"REMOTE_ADDR": "10.1.1.1"})
        traveller.shift(dt.timedelta(minutes=16))
        client.post("/sign-out", data={})
        log_in(client, agreement.number)
    # success forgets this login's failures
    assert not LoginFailure.select().where(LoginFailure.login == "cabinet:" + agreement.number).exists()


def test_many_failures_from_one_address_slow_that_address_down(app, client):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 4
    _, agreement, _ = make_cabinet_subscriber()
    with time_machine.travel(T0, tick=False):
        for n in range(4):
            submit(client, "/", {"login": f"nobody-{n}", "password": "bad-pass-1"})
        assert submit(client, "/", {"login": agreement.number, "password": PASSWORD}).status_code == 429
        log_in(client, agreement.number, environ_base={"REMOTE_ADDR": "10.7.7.7"})


def test_only_from_my_accounts_ips(client):
    subscriber, agreement, account = make_cabinet_subscriber()
    AccountIp.create(account=account, network="10.20.0.0/24")
    subscribers.update_subscriber(subscriber, {"cabinet_ip_only": True}, actor=ACTOR)
    refused = submit(client, "/", {"login": agreement.number, "password": PASSWORD},
                     environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert refused.status_code == 401
    assert ru("The cabinet of this subscriber opens only from the addresses of its accounts.") in text_of(refused)
    inside = {"REMOTE_ADDR": "10.20.0.5"}
    log_in(client, agreement.number, environ_base=inside)
    assert client.get("/payments", environ_base=inside).status_code == 200
    # the same session from another address is ended
    assert client.get("/payments", environ_base={"REMOTE_ADDR": "192.0.2.10"}).status_code == 302
    assert client.get("/payments", environ_base=inside).status_code == 302


def test_staff_and_cabinet_sessions_never_see_each_other(client, admin, login_as):
    _, agreement, _ = make_cabinet_subscriber()
    login_as()
    assert client.get("/admin/").status_code == 200
    assert client.get("/payments").status_code == 302  # a staff session is no cabinet session
    log_in(client, agreement.number)
    assert client.get("/payments").status_code == 200
    admin_page = client.get("/admin/")
    assert admin_page.status_code == 302 and "/login" in admin_page.headers["Location"]
    login_as()
    assert client.get("/payments").status_code == 302  # staff login ended the cabinet session


def test_a_new_password_ends_the_other_sessions(app, client):
    subscriber, agreement, _ = make_cabinet_subscriber()
    log_in(client, agreement.number)
    cabinet.reset_password(subscriber, actor=ACTOR, password="Another-pass2")
    response = client.get("/payments")
    assert response.status_code == 302
    assert ru("The password has changed; log in again.") in text_of(client.get("/"))


def test_login_form_needs_the_csrf_token(app_config):
    from lanbill import create_app
    from lanbill.db import database

    application = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    with application.app_context():
        database.connect(reuse_if_open=True)
        _, agreement, _ = make_cabinet_subscriber()
        browser = application.test_client()
        assert browser.post("/", data={"login": agreement.number, "password": PASSWORD}).status_code == 400
        assert log_in(browser, agreement.number).status_code == 302
        assert browser.post("/sign-out", data={}).status_code == 400
    database.close()


def test_the_page_names_its_language_for_the_browser(client):
    """`<html lang>` follows the chosen language (screen readers, the
    browser's spell-checker); it used to say "ru" in English too."""
    client.set_cookie("lang", "en")
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page and "Password" in page


def test_the_page_says_russian_by_default(client):
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="ru">' in page and "Пароль" in page
