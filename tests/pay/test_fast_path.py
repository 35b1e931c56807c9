"""The check/pay requests answered before Flask (lanbill.pay.fast) give
the same answers as the Flask view: same XML, status, headers; POSTed
forms; refusals; and what is not a check/pay request of an OSMP or
Sberbank Online system goes on to Flask unchanged."""

from __future__ import annotations

from flask import Flask

from lanbill.models import Payment
from lanbill.pay.fast import FastGateway
from tests.factories import make_agreement
from tests.pay.helpers import basic, make_system, xml_fields

LOCAL = {"REMOTE_ADDR": "127.0.0.1"}


def _flask_only(app: Flask):
    """The same application without the fast path (its inner WSGI app)."""
    inner = app.wsgi_app
    while isinstance(inner, FastGateway) or hasattr(inner, "x_for"):
        inner = inner.app
    return inner


def test_the_application_answers_check_pay_through_the_fast_path(app):
    outer = app.wsgi_app
    assert isinstance(outer, FastGateway) or isinstance(getattr(outer, "app", None), FastGateway)


def test_fast_and_flask_answers_are_the_same(app, client):
    make_system("osmp", code="term")
    agreement = make_agreement()
    query = f"/pay/term?command=check&txn_id=42&account={agreement.number}&sum=10.00"
    fast = client.get(query, headers=basic(), environ_base=LOCAL)
    app.wsgi_app, saved = _flask_only(app), app.wsgi_app
    try:
        slow = client.get(query, headers=basic(), environ_base=LOCAL)
        refused_slow = client.get(query, headers=basic(password="wrong"), environ_base=LOCAL)
    finally:
        app.wsgi_app = saved
    refused_fast = client.get(query, headers=basic(password="wrong"), environ_base=LOCAL)
    assert fast.status_code == slow.status_code == 200 and fast.data == slow.data
    assert xml_fields(fast)["result"] == "0"
    assert fast.headers["Content-Type"] == slow.headers["Content-Type"] == "text/xml; charset=utf-8"
    for name in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"):
        assert fast.headers[name] == slow.headers[name]
    assert refused_fast.status_code == refused_slow.status_code == 401
    assert refused_fast.data == refused_slow.data and refused_fast.headers["WWW-Authenticate"].startswith("Basic")
    assert "Set-Cookie" not in fast.headers


def test_a_posted_form_pays_and_a_repeat_books_nothing(app, client):
    make_system("osmp", code="term")
    agreement = make_agreement()
    form = {"command": "pay", "txn_id": "777", "txn_date": "20260105120000", "account": agreement.number,
            "sum": "150.00"}
    first = client.post("/pay/term", data=form, headers=basic(), environ_base=LOCAL)
    again = client.post("/pay/term?txn_id=777", data=form, headers=basic(), environ_base=LOCAL)
    assert xml_fields(first)["result"] == "0" and xml_fields(first)["prv_txn"] == xml_fields(again)["prv_txn"]
    assert Payment.select().count() == 1


def test_a_disallowed_address_is_refused_before_anything(app, client):
    make_system("osmp", code="term")
    response = client.get("/pay/term?command=check&txn_id=1&account=1&sum=1", headers=basic(),
                          environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert response.status_code == 403 and xml_fields(response)["result"] == "300"


def test_what_is_not_a_check_pay_request_goes_on_to_flask(app, client):
    make_system("osmp", code="term")
    assert client.get("/pay/nosuch?command=check", environ_base=LOCAL).status_code == 404
    assert client.get("/pay/NOSUCH", environ_base=LOCAL).status_code == 404
    json_post = client.post("/pay/term", json={"command": "check"}, headers=basic(), environ_base=LOCAL)
    assert json_post.status_code == 200 and xml_fields(json_post)["result"] == "300"  # Flask's view answered
    assert client.put("/pay/term", headers=basic(), environ_base=LOCAL).status_code == 405
