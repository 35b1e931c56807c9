"""OSMP/QIWI check/pay at /pay/<code> (DOMAIN-RULES §3.1): the documented
requests and answers, every result code we answer, repeats, refusals
that change nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lanbill.billing.ledger import post_entry
from lanbill.clock import to_local
from lanbill.models import Account, Agreement, AuditLog, Payment
from lanbill.paysys.check_digit import with_check_digit
from tests.factories import ACTOR, make_account, make_agreement, table_counts
from tests.pay.helpers import PASSWORD, basic, make_system, xml_fields

URL = "/pay/osmp-test"


@pytest.fixture
def system(app):
    return make_system("osmp", min_amount="10", max_amount="15000")


def pay(client, agreement_number, txn="1234567", amount="650.45", date="20260105143000", **kw):
    query = {"command": "pay", "txn_id": txn, "txn_date": date, "account": agreement_number, "sum": amount}
    query.update(kw.pop("query", {}))
    return client.get(URL, query_string=query, headers=kw.pop("headers", basic()), **kw)


def check(client, account, amount="100.00", txn="1234567", headers=None):
    return client.get(URL, query_string={"command": "check", "txn_id": txn, "account": account, "sum": amount},
                      headers=headers or basic())


def test_check_answers_0_with_osmp_txn_id_and_books_nothing(client, system):
    agreement = make_agreement()
    before = table_counts()
    response = check(client, agreement.number)
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert response.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert xml_fields(response) == {"osmp_txn_id": "1234567", "result": "0", "comment": "OK"}
    assert table_counts() == before


def test_pay_books_once_and_a_repeat_answers_0_with_the_same_prv_txn(client, system):
    agreement = make_agreement()
    account = make_account(agreement)
    post_entry(agreement.id, Decimal("-100.00"), "correction", actor=ACTOR)
    assert Account.get_by_id(account.id).state == "balance"
    first = xml_fields(pay(client, agreement.number))
    assert first["result"] == "0" and first["sum"] == "650.45" and first["osmp_txn_id"] == "1234567"
    payment = Payment.get(Payment.external_id == "1234567")
    assert first["prv_txn"] == str(payment.id)
    assert payment.payment_system_id == system.id and payment.gateway == "osmp"
    assert payment.external_client == "osmp-test" and payment.amount == Decimal("650.45")
    assert payment.document_number == "1234567" and "1234567" in payment.comment
    assert to_local(payment.paid_at).strftime("%Y%m%d%H%M%S") == "20260105143000"
    assert Agreement.get_by_id(agreement.id).balance == Decimal("550.45")
    assert Account.get_by_id(account.id).state == "active"  # the balance block lifted
    again = xml_fields(pay(client, agreement.number))
    assert again == first
    assert Payment.select().where(Payment.agreement == agreement.id).count() == 1
    assert Agreement.get_by_id(agreement.id).balance == Decimal("550.45")


def test_same_txn_id_with_another_sum_or_account_is_refused_with_300(client, system):
    agreement, other = make_agreement(), make_agreement()
    assert xml_fields(pay(client, agreement.number))["result"] == "0"
    assert xml_fields(pay(client, agreement.number, amount="651.00"))["result"] == "300"
    assert xml_fields(pay(client, other.number))["result"] == "300"
    assert Payment.select().count() == 1
    assert Agreement.get_by_id(other.id).balance == 0


@pytest.mark.parametrize("account, code", [("12;45", "4"), ("", "4"), ("1 2", "4"), ("99999999", "5")])
def test_unknown_or_malformed_account(client, system, account, code):
    before = table_counts()
    assert xml_fields(check(client, account))["result"] == code
    assert xml_fields(pay(client, account))["result"] == code
    assert table_counts() == before


def test_check_digit_identifier_answers_4_on_a_wrong_digit(client, app):
    make_system("osmp", account_identifier="agreement_check_digit")
    agreement = make_agreement(number="123456")
    good = with_check_digit("123456")
    assert good == "1234561"  # 1+2+3+4+5+6 = 21 → 1
    assert xml_fields(check(client, good))["result"] == "0"
    assert xml_fields(check(client, "1234562"))["result"] == "4"
    assert xml_fields(check(client, "123456"))["result"] == "4"
    assert xml_fields(pay(client, good))["result"] == "0"
    assert Agreement.get_by_id(agreement.id).balance == Decimal("650.45")


def test_sum_limits_answer_241_and_242(client, system):
    agreement = make_agreement()
    assert xml_fields(check(client, agreement.number, amount="9.99"))["result"] == "241"
    assert xml_fields(pay(client, agreement.number, amount="0.00"))["result"] == "241"
    assert xml_fields(pay(client, agreement.number, amount="15000.01"))["result"] == "242"
    assert xml_fields(pay(client, agreement.number, amount="15000.00", txn="77"))["result"] == "0"
    assert Payment.select().count() == 1


@pytest.mark.parametrize("query", [
    {"command": "refund"}, {"txn_id": "12ab"}, {"txn_id": "1" * 21}, {"sum": "10,50"}, {"sum": "1.234"},
    {"sum": "-5"}, {"txn_date": "2026-01-05"}, {"txn_date": "20261305143000"},
])
def test_malformed_requests_answer_300_and_change_nothing(client, system, query):
    agreement = make_agreement()
    before = table_counts()
    assert xml_fields(pay(client, agreement.number, query=query))["result"] == "300"
    assert table_counts() == before


def test_closed_agreement_answers_79(client, system):
    agreement = make_agreement()
    Agreement.update(closed_at=Agreement.created_at).where(Agreement.id == agreement.id).execute()
    assert xml_fields(check(client, agreement.number))["result"] == "79"
    assert xml_fields(pay(client, agreement.number))["result"] == "79"
    assert Payment.select().count() == 0


def test_switched_off_system_answers_7(client, system):
    from lanbill.paysys import systems

    systems.update_system(system.id, {"enabled": False}, actor=ACTOR)
    agreement = make_agreement()
    assert xml_fields(pay(client, agreement.number))["result"] == "7"
    assert Payment.select().count() == 0


def test_agreement_in_another_currency_answers_8(client, system):
    from lanbill.models import Currency

    usd = Currency.get_or_none(Currency.code == "USD") or Currency.create(code="USD", name="Доллар США", symbol="$")
    agreement = make_agreement(currency=usd)
    assert xml_fields(check(client, agreement.number))["result"] == "8"
    assert Payment.select().count() == 0


def test_number_at_two_operators_answers_243_without_an_operator(client, system):
    from lanbill.models import Operator

    second = Operator.create(name="Филиал")
    make_agreement(number="5005")
    make_agreement(number="5005", operator=second)
    assert xml_fields(check(client, "5005"))["result"] == "243"
    from lanbill.paysys import systems

    systems.update_system(system.id, {"operator_id": second.id}, actor=ACTOR)
    assert xml_fields(check(client, "5005"))["result"] == "0"


def test_wrong_address_and_wrong_credentials_are_refused(client, app):
    make_system("osmp", allowed_networks="10.1.0.0/16")
    agreement = make_agreement()
    before = table_counts()
    response = pay(client, agreement.number)
    assert response.status_code == 403
    assert xml_fields(response)["result"] == "300"
    assert table_counts() == before
    ok = pay(client, agreement.number, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert xml_fields(ok)["result"] == "0"
    for headers in ({}, basic(password="wrong"), basic(login="other", password=PASSWORD)):
        response = pay(client, agreement.number, txn="999", headers=headers, environ_base={"REMOTE_ADDR": "10.1.2.3"})
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Basic")
        assert xml_fields(response)["result"] == "300"
    assert Payment.select().count() == 1


def test_empty_network_list_lets_no_one_in(client, app):
    make_system("osmp", allowed_networks="")
    agreement = make_agreement()
    assert pay(client, agreement.number).status_code == 403
    assert Payment.select().count() == 0


def test_behind_a_trusted_proxy_the_forwarded_address_is_checked(app_config):
    from lanbill import create_app

    app_config["TRUSTED_PROXIES"] = 1
    application = create_app(app_config)
    with application.app_context():
        make_system("osmp", allowed_networks="192.0.2.0/24")
        agreement = make_agreement()
        client = application.test_client()
        refused = pay(client, agreement.number, headers={**basic(), "X-Forwarded-For": "198.51.100.7"})
        assert refused.status_code == 403
        accepted = pay(client, agreement.number, headers={**basic(), "X-Forwarded-For": "192.0.2.10"})
        assert xml_fields(accepted)["result"] == "0"


def test_unknown_code_is_404(client, system):
    assert client.get("/pay/nobody", query_string={"command": "check"}).status_code == 404


def test_the_payment_is_audited_without_the_secret(client, system):
    agreement = make_agreement()
    pay(client, agreement.number)
    rows = list(AuditLog.select())
    assert any(r.action == "payment.create" for r in rows)
    assert all(PASSWORD not in (str(r.before) + str(r.after)) for r in rows)
