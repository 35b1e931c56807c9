"""API: agreements — create, read with balance and available funds, the
credit limit (the balance block follows it), and the ledger by dates."""

from __future__ import annotations

import datetime as dt

import time_machine

from lanbill.billing import payments
from lanbill.models import Agreement
from tests.factories import ACTOR, make_account, make_agreement, make_subscriber, table_counts


def test_create_agreement_with_generated_number(api):
    subscriber = make_subscriber()
    response = api.post("/agreements", json={"subscriber_id": subscriber.id, "credit_limit": "500"})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["subscriber_id"] == subscriber.id and body["currency"] == "RUB"
    assert body["balance"] == "0.00" and body["credit_limit"] == "500.00" and body["available"] == "500.00"
    assert body["number"]
    assert api.get(f"/agreements/{body['id']}").json == body


def test_create_agreement_with_number_and_currency(api):
    subscriber = make_subscriber()
    body = api.post("/agreements", json={"subscriber_id": subscriber.id, "number": "Д-17", "currency": "usd"}).json
    assert body["number"] == "Д-17" and body["currency"] == "USD"
    before = table_counts()
    taken = api.post("/agreements", json={"subscriber_id": subscriber.id, "number": "Д-17"})
    assert taken.status_code == 409 and "number" in taken.json["fields"]
    assert table_counts() == before


BAD_AGREEMENTS = [
    ({}, "subscriber_id"),
    ({"subscriber_id": 999999}, "subscriber_id"),
    ({"subscriber_id": "1"}, "subscriber_id"),
    ({"currency": "XXX"}, "currency"),
    ({"currency": 643}, "currency"),
    ({"credit_limit": "-1"}, "credit_limit"),
    ({"credit_limit": "1.001"}, "credit_limit"),
    ({"credit_limit": 1.5}, "credit_limit"),
    ({"number": 17}, "number"),
    ({"number": "   "}, "number"),
    ({"date": "вчера"}, "date"),
]


def test_bad_agreement_is_refused_and_nothing_is_written(api):
    subscriber = make_subscriber()
    for payload, field in BAD_AGREEMENTS:
        data = {"subscriber_id": subscriber.id, **payload} if payload else {}
        before = table_counts()
        response = api.post("/agreements", json=data)
        assert response.status_code == 422, (payload, response.json)
        assert field in response.json["fields"], payload
        assert table_counts() == before, payload


def test_credit_limit_change_lifts_the_balance_block(api):
    agreement = make_agreement()
    account = make_account(agreement)
    payments.set_balance_to(agreement, "-100", "K-1", actor=ACTOR)
    assert api.get(f"/accounts/{account.id}").json["state"] == "balance"
    response = api.patch(f"/agreements/{agreement.id}", json={"credit_limit": "100.00"})
    assert response.status_code == 200
    assert response.json["balance"] == "-100.00" and response.json["available"] == "0.00"
    assert api.get(f"/accounts/{account.id}").json["state"] == "active"


def test_bad_credit_limit_writes_nothing(api):
    agreement = make_agreement()
    before = table_counts()
    for payload in ({"credit_limit": -5}, {"credit_limit": "5.555"}, {}, {"balance": "100"}, {"credit_limit": 5.5}):
        assert api.patch(f"/agreements/{agreement.id}", json=payload).status_code == 422
    assert table_counts() == before
    assert Agreement.get_by_id(agreement.id).credit_limit == 0


def test_ledger_lists_entries_with_kinds_and_filters_by_date(api):
    agreement = make_agreement()
    with time_machine.travel(dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC)):
        first, _ = payments.post_payment(agreement, "100", "A-1", actor=ACTOR)
    with time_machine.travel(dt.datetime(2026, 2, 10, 9, 0, tzinfo=dt.UTC)):
        second, _ = payments.post_payment(agreement, "50.25", "A-2", actor=ACTOR)
        payments.cancel_payment(second, actor=ACTOR, reason="ошибка")
    ledger = api.get(f"/agreements/{agreement.id}/ledger").json
    assert [(e["kind"], e["amount"]) for e in ledger["items"]] == [
        ("payment", "100.00"), ("payment", "50.25"), ("payment_reversal", "-50.25")]
    entry = ledger["items"][0]
    assert set(entry) >= {"id", "amount", "kind", "account_id", "period_start", "period_end", "created_at", "comment"}
    assert entry["created_at"] == "2026-01-10T09:00:00Z" and entry["payment_id"] == first.id
    february = api.get(f"/agreements/{agreement.id}/ledger?from=2026-02-01&to=2026-02-28").json
    assert [e["kind"] for e in february["items"]] == ["payment", "payment_reversal"]
    january = api.get(f"/agreements/{agreement.id}/ledger?to=2026-01-31").json
    assert [e["amount"] for e in january["items"]] == ["100.00"]
    assert api.get(f"/agreements/{agreement.id}").json["balance"] == "100.00"


def test_ledger_bad_dates_are_400_and_unknown_agreement_404(api):
    agreement = make_agreement()
    response = api.get(f"/agreements/{agreement.id}/ledger?from=10.01.2026")
    assert response.status_code == 400 and "from" in response.json["fields"]
    assert api.get("/agreements/999999/ledger").status_code == 404
    assert api.get("/agreements/999999").status_code == 404
    assert api.patch("/agreements/999999", json={"credit_limit": "1"}).status_code == 404


def test_list_agreements_by_subscriber_and_number(api):
    subscriber = make_subscriber()
    first = make_agreement(subscriber, number="A-1")
    make_agreement(subscriber, number="A-2")
    make_agreement(number="B-1")
    listed = api.get(f"/agreements?subscriber_id={subscriber.id}").json
    assert [a["number"] for a in listed["items"]] == ["A-1", "A-2"] and listed["total"] == 2
    assert [a["id"] for a in api.get("/agreements?number=A-1").json["items"]] == [first.id]
    assert api.get("/agreements").json["total"] == 3
    assert api.get("/agreements?subscriber_id=x").status_code == 400
