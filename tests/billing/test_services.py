"""Periodic and one-off services (USBox) and the CSV import of rendered
one-off services with a column mapping and a dry run."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from lanbill.billing import blocks, services
from lanbill.billing.payments import post_payment
from lanbill.errors import ValidationError
from lanbill.models import AccountService, LedgerEntry
from tests.billing_helpers import simulate, travel
from tests.factories import ACTOR, make_account, make_agreement, make_tariff


def _account(money="10000"):
    agreement = make_agreement()
    post_payment(agreement, money, "p", actor=ACTOR)
    return agreement, make_account(agreement, tariff=make_tariff(rent="0"))


def _service_total(account, first="2026-01-01", last="2026-01-31") -> Decimal:
    rows = LedgerEntry.select().where(
        (LedgerEntry.account_id == account.id) & LedgerEntry.kind.in_(["service", "one_off"])
        & (LedgerEntry.period_start >= dt.date.fromisoformat(first))
        & (LedgerEntry.period_start <= dt.date.fromisoformat(last)))
    return -sum((r.amount for r in rows), Decimal("0.00"))


def test_daily_service_from_the_10th_to_the_20th(app):
    # TV package 310.00 a month, daily: days 10..20 of 31 =
    # round(310·20/31) − round(310·9/31) = 200.00 − 90.00 = 110.00
    with travel("2026-01-01 00:00") as t:
        _, account = _account()
        tv = services.create_service({"name": "TV", "kind": "periodic", "scheme": "daily", "price": "310.00"},
                                     actor=ACTOR)
        services.attach_service(account, tv, actor=ACTOR, start_date="2026-01-10", end_date="2026-01-20")
        simulate(t, "2026-01-01", "2026-02-01")
    assert _service_total(account) == Decimal("110.00")


def test_dynamic_service_is_not_charged_while_blocked_by_staff(app):
    # antivirus 155.00 (×2 licences = 310.00), dynamic, staff block 00:00 of 21st..end:
    # 310 − Σ share(310, 21..31) = round(310·20/31) = 200.00
    with travel("2026-01-01 00:00") as t:
        _, account = _account()
        av = services.create_service({"name": "AV", "kind": "periodic", "scheme": "dynamic", "price": "155.00"},
                                     actor=ACTOR)
        services.attach_service(account, av, actor=ACTOR, start_date="2026-01-01", quantity=2)
        simulate(t, "2026-01-01", "2026-02-01",
                 events=[("2026-01-21 00:00", lambda: blocks.block_by_staff(account, actor=ACTOR, reason="x"))])
    assert _service_total(account) == Decimal("200.00")


def test_one_off_service_is_charged_once(app):
    with travel("2026-01-05 12:00") as t:
        agreement, account = _account()
        setup = services.create_service({"name": "Installation", "kind": "one_off", "price": "1500.00"}, actor=ACTOR)
        services.attach_service(account, setup, actor=ACTOR)
        simulate(t, "2026-01-05", "2026-01-07", run_at="13:00")
    assert _service_total(account) == Decimal("1500.00")
    assert LedgerEntry.select().where(LedgerEntry.kind == "one_off").count() == 1


def test_csv_import_dry_run_reports_every_bad_row_and_saves_nothing(app):
    with travel("2026-01-15 12:00"):
        _, account = _account()
        services.create_service({"name": "Cable", "kind": "one_off", "price": "100.00"}, actor=ACTOR)
        text = ("Логин;Услуга;Дата;Кол-во;Сумма\n"
                f"{account.login};Cable;2026-01-14;3;\n"
                "nobody;Cable;2026-01-14;1;\n"
                f"{account.login};Unknown;14.01.2026;1;\n"
                f"{account.login};Cable;2026-13-01;1;\n"
                f"{account.login};Cable;2026-01-14;x;\n"
                f"{account.login};Cable;2026-01-14;1;12,345\n")
        mapping = {"login": "Логин", "service": "Услуга", "date": "Дата", "quantity": "Кол-во", "amount": "Сумма"}
        report = services.import_one_offs(text, mapping, actor=ACTOR, dry_run=True)
        assert (report.rows, report.good) == (6, 1)
        assert [line for line, _ in report.errors] == [3, 4, 5, 6, 7]
        assert "nobody" in report.errors[0][1]
        real = services.import_one_offs(text, mapping, actor=ACTOR, dry_run=False)
        assert not real.ok and real.created == []
        assert AccountService.select().count() == 0


def test_csv_import_charges_the_good_file(app):
    with travel("2026-01-15 12:00"):
        _, account = _account()
        services.create_service({"name": "Cable", "kind": "one_off", "price": "100.00"}, actor=ACTOR)
        text = ("login,service,date,qty,sum\n"
                f"{account.login},Cable,2026-01-14,3,\n"
                f"{account.login},cable,14.01.2026,1,99.50\n")
        report = services.import_one_offs(
            text, {"login": "login", "service": "service", "date": "date", "quantity": "qty", "amount": "sum"},
            actor=ACTOR, dry_run=False)
        assert report.ok and len(report.created) == 2
    assert _service_total(account) == Decimal("399.50")


def test_csv_import_mapping_must_name_account_service_and_date(app):
    with pytest.raises(ValidationError):
        services.import_one_offs("a,b\n", {"service": "a", "date": "b"}, actor=ACTOR)
    report = services.import_one_offs("a,b\n1,2\n", {"login": "a", "service": "b", "date": "c"}, actor=ACTOR)
    assert report.errors and "c" in report.errors[0][1]


def test_api_attaches_a_service(app, api):
    _, account = _account()
    tv = services.create_service({"name": "TV", "kind": "periodic", "price": "100.00"}, actor=ACTOR)
    response = api.post(f"/accounts/{account.id}/services", json={"service_id": tv.id, "start_date": "2026-12-01"})
    assert response.status_code == 201, response.json
    assert response.json["start_date"] == "2026-12-01"
    missing = api.post(f"/accounts/{account.id}/services", json={"service_id": 999})
    assert missing.status_code == 422


def test_api_service_catalogue_and_csv_import(app, api):
    _, account = _account()
    created = api.post("/services", json={"name": "Cable", "kind": "one_off", "price": "100.00"})
    assert created.status_code == 201, created.json
    text = f"login;what;when\n{account.login};Cable;2020-01-01\nghost;Cable;2020-01-01\n"
    mapping = {"login": "login", "service": "what", "date": "when"}
    dry = api.post("/services/import", json={"csv": text, "mapping": mapping})
    assert dry.status_code == 200 and dry.json["good"] == 1
    assert dry.json["errors"][0]["line"] == 3
    real = api.post("/services/import", json={"csv": text, "mapping": mapping, "dry_run": False})
    assert real.status_code == 422 and real.json["created"] == []
    good = api.post("/services/import", json={"csv": text.rsplit("ghost", 1)[0], "mapping": mapping, "dry_run": False})
    assert good.status_code == 200 and len(good.json["created"]) == 1
    assert _service_total(account, "2020-01-01", "2020-01-01") == Decimal("100.00")


def test_update_service_edits_the_catalogue_but_keeps_kind_and_currency_once_attached(app):
    from lanbill.errors import Conflict
    from lanbill.models import Service

    _, account = _account()
    tv = services.create_service({"name": "TV", "kind": "periodic", "price": "100.00"}, actor=ACTOR)
    services.update_service(tv, {"name": "TV+", "kind": "one_off", "price": "120,50"}, actor=ACTOR)
    assert (Service.get_by_id(tv.id).kind, Service.get_by_id(tv.id).price) == ("one_off", Decimal("120.50"))
    services.update_service(tv, {"kind": "periodic"}, actor=ACTOR)
    services.attach_service(account, tv, actor=ACTOR)
    with pytest.raises(Conflict) as refused:
        services.update_service(tv, {"name": "Renamed", "kind": "one_off"}, actor=ACTOR)
    assert "kind" in refused.value.fields
    assert Service.get_by_id(tv.id).name == "TV+"  # nothing half-saved
    with pytest.raises(ValidationError) as bad:
        services.update_service(tv, {"name": " ", "price": "-1"}, actor=ACTOR)
    assert set(bad.value.fields) == {"name", "price"}
    services.update_service(tv, {"price": "130", "archived": True}, actor=ACTOR)
    assert Service.get_by_id(tv.id).archived and Service.get_by_id(tv.id).price == Decimal("130.00")
    with pytest.raises(ValidationError):
        services.attach_service(account, tv, actor=ACTOR)  # archived: not offered any more


def test_csv_import_by_agreement_number_and_archived_services_are_unknown(app):
    from lanbill.models import Agreement

    with travel("2026-01-15 12:00"):
        agreement, account = _account()
        two = make_agreement()
        make_account(two)
        make_account(two)
        cable = services.create_service({"name": "Cable", "kind": "one_off", "price": "100.00"}, actor=ACTOR)
        old = services.create_service({"name": "Old", "kind": "one_off", "price": "5.00"}, actor=ACTOR)
        services.update_service(old, {"archived": True}, actor=ACTOR)
        number, crowded = agreement.number, Agreement.get_by_id(two.id).number
        text = ("dog,svc,day\n"
                f"{number},Cable,2026-01-14\n"
                f"{crowded},Cable,2026-01-14\n"
                f"{number},Old,2026-01-14\n"
                "NO-SUCH,Cable,2026-01-14\n")
        mapping = {"agreement": "dog", "service": "svc", "date": "day"}
        report = services.import_one_offs(text, mapping, actor=ACTOR, dry_run=True)
        assert report.good == 1 and report.checked[0].account.id == account.id
        assert report.checked[0].total == Decimal("100.00") and report.checked[0].service.id == cable.id
        assert [line for line, _ in report.errors] == [3, 4, 5]
        assert "several accounts" in report.errors[0][1] and "Old" in report.errors[1][1]
        # the reason also carries its msgid for a translated screen
        assert report.errors[2][1].msgid == "no agreement %(number)r"
        assert report.errors[2][1].params == {"number": "NO-SUCH"}
        good = services.import_one_offs(text.split(f"{crowded}")[0], mapping, actor=ACTOR, dry_run=False)
        assert good.ok and len(good.created) == 1
    assert _service_total(account) == Decimal("100.00")


def test_csv_delimiter_is_semicolon_when_semicolons_outnumber_commas():
    """One sniffer for the import (domain) and the admin's column mapping."""
    assert services.csv_delimiter("Логин;Услуга;Дата\nivan;Кабель;01.03.2026\n") == ";"
    assert services.csv_delimiter("login,service,date,amount\nivan,Cable,2026-03-01,\"99,50\"\n") == ","
    assert services.csv_delimiter("login;amount\n1,50\n") == ","  # as many of each: a comma
    assert services.csv_delimiter("login\n") == ","
    # only the first 2 KB count
    assert services.csv_delimiter("a,b\n" * 600 + "c;d;e;f\n" * 1000) == ","
