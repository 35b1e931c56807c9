"""Twenty providers' threads sending the same pay at once to a live server
book one payment and all get the same answer; a database that is down
answers each protocol's "temporary error, retry" code."""

from __future__ import annotations

import threading
import urllib.request
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from werkzeug.serving import make_server

from lanbill.db import make_database
from lanbill.models import Agreement, LedgerEntry, Payment
from tests.conftest import USE_PG
from tests.factories import make_agreement
from tests.pay.helpers import basic, make_system, xml_fields


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def _get(url: str) -> dict:
    request = urllib.request.Request(url, headers=basic())
    with urllib.request.urlopen(request, timeout=30) as response:
        root = ET.fromstring(response.read())
    return {child.tag: child.text for child in root}


@pytest.mark.parametrize("kind", ["osmp", "sberbank_online"])
def test_twenty_concurrent_repeats_book_one_payment(app, live_server, kind):
    make_system(kind, code="race")
    agreement = make_agreement()
    if kind == "osmp":
        url = (f"{live_server}/pay/race?command=pay&txn_id=555000111&txn_date=20260105120000"
               f"&account={agreement.number}&sum=300.00")
    else:
        url = (f"{live_server}/pay/race?ACTION=payment&ACCOUNT={agreement.number}&AMOUNT=300.00"
               "&PAY_ID=555000111&PAY_DATE=05.01.2026_12:00:00")
    barrier = threading.Barrier(20)

    def send(_):
        barrier.wait()
        return _get(url)

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(send, range(20)))
    payment = Payment.get(Payment.external_id == "555000111")
    assert Payment.select().count() == 1
    assert LedgerEntry.select().where(LedgerEntry.agreement == agreement.id).count() == 1
    assert Agreement.get_by_id(agreement.id).balance == Decimal("300.00")
    if kind == "osmp":
        assert {(a["result"], a["prv_txn"]) for a in answers} == {("0", str(payment.id))}
    else:
        codes = sorted(a["CODE"] for a in answers)
        assert codes == ["0"] + ["8"] * 19
        assert {a["EXT_ID"] for a in answers} == {str(payment.id)}


def test_many_different_pays_at_once_each_book_once_with_their_own_answer(app, live_server):
    """Pays arriving together are written in shared transactions (the
    group commit); every answer still names its own payment, repeats in
    the same burst book nothing more, and a clash with other details is
    refused alone."""
    make_system("osmp", code="burst")
    agreements = [make_agreement() for _ in range(6)]
    calls = []
    for n in range(24):
        txn = 700000 + n % 20  # 4 repeats of the first ids in the same burst
        calls.append((txn, agreements[txn % len(agreements)].number, "10.00"))
    calls.append((700005, agreements[0].number, "99.00"))  # the id of another pay, other details
    barrier = threading.Barrier(len(calls))

    def send(call):
        txn, number, amount = call
        barrier.wait()
        return _get(f"{live_server}/pay/burst?command=pay&txn_id={txn}&txn_date=20260105120000"
                    f"&account={number}&sum={amount}")

    with ThreadPoolExecutor(len(calls)) as pool:
        answers = list(pool.map(send, calls))
    payments = {p.external_id: p for p in Payment.select()}
    assert len(payments) == 20
    for (txn, number, amount), answer in zip(calls, answers, strict=True):
        payment = payments[str(txn)]
        if (payment.agreement.number, f"{payment.amount:.2f}") != (number, amount):
            # the clash on 700005: whichever came second is refused, alone
            assert txn == 700005 and answer["result"] == "300", answer
            continue
        assert answer["result"] == "0", answer
        assert answer["prv_txn"] == str(payment.id)
    assert sum(a["result"] == "300" for a in answers) == 1
    assert LedgerEntry.select().count() == 20
    for agreement in agreements:
        booked = sum(p.amount for p in payments.values() if p.agreement_id == agreement.id)
        assert Agreement.get_by_id(agreement.id).balance == booked


def _dead_database_url(tmp_path) -> str:
    """A database that cannot be opened: a PostgreSQL port nothing listens
    on, or an SQLite file in a folder that does not exist."""
    if USE_PG:
        return "postgresql://postgres@127.0.0.1:9/lanbill_down"
    return f"sqlite:///{tmp_path / 'gone' / 'lanbill.db'}"


def test_database_down_answers_the_retry_code_of_each_protocol(app_config, tmp_path):
    from lanbill import create_app

    app_config["DATABASE_URL"] = _dead_database_url(tmp_path)
    application = create_app(app_config)
    client = application.test_client()
    osmp = client.get("/pay/term", query_string={"command": "pay", "txn_id": "42", "account": "1001",
                                                   "sum": "10.00", "txn_date": "20260105120000"}, headers=basic())
    assert osmp.status_code == 200
    assert xml_fields(osmp) == {"osmp_txn_id": "42", "result": "1", "comment": "Temporary error, retry later"}
    sber = client.get("/pay/sber", query_string={"ACTION": "payment", "ACCOUNT": "1001", "AMOUNT": "10.00",
                                                   "PAY_ID": "42", "PAY_DATE": "05.01.2026_12:00:00"},
                      headers=basic())
    assert xml_fields(sber)["CODE"] == "1"
    notify = client.post("/pay/kassa/notify", json={"type": "notification", "event": "payment.succeeded",
                                                    "object": {"id": "x"}})
    assert notify.status_code == 503


def test_database_failing_while_booking_answers_retry_and_books_nothing(app, client, tmp_path):
    """The system is known (cached) and then the database goes away: the
    pay is answered 1, and once it is back the provider's retry books it."""
    from lanbill.db import database

    make_system("osmp", code="term")
    agreement = make_agreement()
    query = {"command": "pay", "txn_id": "4242", "account": agreement.number, "sum": "10.00",
             "txn_date": "20260105120000"}
    assert xml_fields(client.get("/pay/term", query_string={**query, "command": "check"},
                                 headers=basic()))["result"] == "0"
    real = database.obj
    # an SQLite file without our tables: the connection opens, the
    # agreement's look-up fails (PostgreSQL: the server is away)
    broken = _dead_database_url(tmp_path) if USE_PG else f"sqlite:///{tmp_path / 'empty.db'}"
    database.initialize(make_database(broken))
    try:
        down = client.get("/pay/term", query_string=query, headers=basic())
        assert xml_fields(down)["result"] == "1"
    finally:
        database.initialize(real)
        database.connect(reuse_if_open=True)
    assert Payment.select().count() == 0
    retried = xml_fields(client.get("/pay/term", query_string=query, headers=basic()))
    assert retried["result"] == "0"
    assert Payment.select().count() == 1
