"""Promised payments (seed 002 «Обещанный платеж»): group settings, the
credit lifts a balance block at once, expiry re-blocks and refuses further
promises until the debt is repaid."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from lanbill.billing import promises
from lanbill.billing.ledger import post_entry
from lanbill.billing.payments import post_payment
from lanbill.billing.run import run_due
from lanbill.errors import Conflict, ValidationError
from lanbill.models import Agreement, Group, PromisedPayment, SubscriberGroup
from tests.billing_helpers import state, travel
from tests.factories import ACTOR, make_account, make_agreement, make_subscriber, make_tariff


def _group(**over):
    data = {"name": f"promise-{len(over)}-{id(over)}", "promise_allowed": True, "promise_max_amount": Decimal("500"),
            "promise_days": 3, "promise_interval_days": 30}
    data.update(over)
    return Group.create(**data)


def _indebted(group=None, debt="200.00"):
    subscriber = make_subscriber()
    if group is not None:
        SubscriberGroup.create(subscriber=subscriber.id, group=group.id)
    agreement = make_agreement(subscriber)
    account = make_account(agreement, tariff=make_tariff(rent="0"))  # no rent: only the debt matters here
    post_entry(agreement, -Decimal(debt), "correction", actor=ACTOR, comment="debt")
    return agreement, account


def test_promise_lifts_the_balance_block_at_once(app):
    agreement, account = _indebted(_group())
    assert state(account) == "balance"
    promise = promises.request_promise(agreement, "300", actor=ACTOR)
    assert promise.state == "open"
    assert Agreement.get_by_id(agreement.id).promised_amount == Decimal("300.00")
    assert state(account) == "active"
    assert Agreement.get_by_id(agreement.id).balance == Decimal("-200.00")  # a credit, not a payment


def test_promise_refused_without_a_group_that_allows_it(app):
    agreement, _ = _indebted(None)
    with pytest.raises(Conflict):
        promises.request_promise(agreement, "100", actor=ACTOR)


def test_promise_above_the_group_maximum_is_refused(app):
    agreement, _ = _indebted(_group(promise_max_amount=Decimal("150")))
    with pytest.raises(ValidationError) as exc:
        promises.request_promise(agreement, "150.01", actor=ACTOR)
    assert "amount" in exc.value.fields


def test_expired_unpaid_promise_reblocks_and_refuses_until_repaid(app):
    with travel("2026-03-01 10:00") as t:
        agreement, account = _indebted(_group(promise_interval_days=0))
        promises.request_promise(agreement, "300", actor=ACTOR)
        assert state(account) == "active"
        t.move_to(dt.datetime(2026, 3, 4, 10, 0, 1, tzinfo=dt.timezone(dt.timedelta(hours=3))))
        run_due()
        assert PromisedPayment.get().state == "expired"
        assert state(account) == "balance"
        fresh = Agreement.get_by_id(agreement.id)
        assert fresh.promised_amount == Decimal("0.00") and fresh.promise_refused_until_repaid
        with pytest.raises(Conflict):
            promises.request_promise(agreement, "100", actor=ACTOR)
        post_payment(agreement, "200.00", "repay", actor=ACTOR)
        assert not Agreement.get_by_id(agreement.id).promise_refused_until_repaid
        post_entry(agreement, Decimal("-50.00"), "correction", actor=ACTOR)
        assert promises.request_promise(agreement, "100", actor=ACTOR).state == "open"


def test_promise_paid_in_time_closes_as_repaid(app):
    with travel("2026-03-01 10:00") as t:
        agreement, account = _indebted(_group())
        promises.request_promise(agreement, "300", actor=ACTOR)
        post_payment(agreement, "250.00", "pay", actor=ACTOR)
        t.move_to(dt.datetime(2026, 3, 5, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=3))))
        run_due()
    assert PromisedPayment.get().state == "repaid"
    assert state(account) == "active"
    assert not Agreement.get_by_id(agreement.id).promise_refused_until_repaid


def test_second_promise_waits_for_the_group_interval(app):
    with travel("2026-03-01 10:00") as t:
        agreement, _ = _indebted(_group(promise_days=1, promise_interval_days=10))
        promises.request_promise(agreement, "300", actor=ACTOR)
        with pytest.raises(Conflict):
            promises.request_promise(agreement, "100", actor=ACTOR)  # one is open
        post_payment(agreement, "200.00", "pay", actor=ACTOR)
        t.move_to(dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=3))))
        run_due()
        post_entry(agreement, Decimal("-10.00"), "correction", actor=ACTOR)
        with pytest.raises(Conflict):
            promises.request_promise(agreement, "100", actor=ACTOR)  # interval of 10 days
        t.move_to(dt.datetime(2026, 3, 11, 10, 1, tzinfo=dt.timezone(dt.timedelta(hours=3))))
        assert promises.request_promise(agreement, "100", actor=ACTOR).state == "open"


def test_api_promised_payment(app, api):
    agreement, account = _indebted(_group())
    response = api.post(f"/agreements/{agreement.id}/promised-payment", json={"amount": "300.00"})
    assert response.status_code == 201, response.json
    assert response.json["amount"] == "300.00" and response.json["state"] == "open"
    assert state(account) == "active"
    again = api.post(f"/agreements/{agreement.id}/promised-payment", json={"amount": "10"})
    assert again.status_code == 409
    bad = api.post(f"/agreements/{agreement.id}/promised-payment", json={"amount": 1.5})
    assert bad.status_code == 422
