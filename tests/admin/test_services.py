"""Admin screens of services (USBox): the catalogue, attaching and ending
services on the account page, and the CSV import of one-off services."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from lanbill.billing import services
from lanbill.billing.payments import post_payment
from lanbill.clock import today
from lanbill.models import AccountService, Agreement, LedgerEntry, Service
from tests.admin_helpers import PASSWORD, make_manager, ru
from tests.factories import ACTOR, make_account, make_agreement, make_tariff, table_counts


def _account():
    agreement = make_agreement()
    post_payment(agreement, "5000", "p-1", actor=ACTOR)
    return make_account(agreement, tariff=make_tariff(rent="0"))


def _balance(account) -> Decimal:
    return Agreement.get_by_id(account.agreement_id).balance


def _one_off(name="Installation", price="1500.00"):
    return services.create_service({"name": name, "kind": "one_off", "price": price}, actor=ACTOR)


# --- the catalogue ---------------------------------------------------------------------

def test_catalogue_create_lists_the_service_with_price_and_kind(client, admin, login_as):
    login_as()
    response = client.post("/admin/services/new", data={"name": "ТВ-пакет", "kind": "periodic",
                                                         "scheme": "daily", "price": "310,50", "currency": "RUB"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    service = Service.get(Service.name == "ТВ-пакет")
    assert (service.kind, service.scheme, service.price) == ("periodic", "daily", Decimal("310.50"))
    page = client.get("/admin/services").get_data(as_text=True)
    assert "ТВ-пакет" in page and "310,50" in page and ru("Periodic") in page
    menu = client.get("/admin/").get_data(as_text=True)
    assert "/admin/services" in menu


def test_catalogue_bad_input_is_shown_on_the_form_and_nothing_is_saved(client, admin, login_as):
    login_as()
    before = table_counts()
    response = client.post("/admin/services/new", data={"name": "Антивирус", "kind": "periodic",
                                                         "scheme": "daily", "price": "12,345", "currency": "RUB"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert ru("Amount may have at most two decimals.") in page
    assert 'value="Антивирус"' in page  # what was typed stays on the form
    empty = client.post("/admin/services/new", data={"name": "", "kind": "periodic", "scheme": "daily",
                                                      "price": "1", "currency": "RUB"})
    assert empty.status_code == 422 and ru("Required.") in empty.get_data(as_text=True)
    assert table_counts() == before


def test_catalogue_edit_renames_and_archives_but_keeps_the_kind_of_a_service_in_use(client, admin, login_as):
    account = _account()
    service = _one_off("Выезд мастера", "700")
    services.attach_service(account, service, actor=ACTOR)
    login_as()
    form = client.get(f"/admin/services/{service.id}").get_data(as_text=True)
    assert 'value="700,00"' in form and 'id="in-use"' in form
    refused = client.post(f"/admin/services/{service.id}", data={"name": "Выезд", "kind": "periodic",
                                                                 "scheme": "daily", "price": "800",
                                                                 "currency": "RUB"})
    assert refused.status_code == 409
    assert ru("Cannot change: the service is attached to accounts.") in refused.get_data(as_text=True)
    assert Service.get_by_id(service.id).name == "Выезд мастера"
    saved = client.post(f"/admin/services/{service.id}", data={"name": "Выезд", "kind": "one_off",
                                                               "scheme": "daily", "price": "800",
                                                               "currency": "RUB", "archived": "y"})
    assert saved.status_code == 302
    service = Service.get_by_id(service.id)
    assert (service.name, service.price, service.archived) == ("Выезд", Decimal("800.00"), True)
    assert "Выезд" not in client.get("/admin/services").get_data(as_text=True)
    assert "Выезд" in client.get("/admin/services?show=archived").get_data(as_text=True)


def test_catalogue_needs_the_tariffs_permission(client, app, login_as):
    make_manager("cashier", permissions=["subscribers.view", "payments.create"])
    login_as("cashier", PASSWORD)
    assert client.get("/admin/services").status_code == 403
    assert client.post("/admin/services/new", data={"name": "X", "price": "1"}).status_code == 403
    assert Service.select().count() == 0


# --- on the account page ---------------------------------------------------------------

def test_attach_and_end_a_periodic_service_on_the_account_page(client, admin, login_as):
    account = _account()
    tv = services.create_service({"name": "ТВ-пакет", "kind": "periodic", "scheme": "daily", "price": "310"},
                                 actor=ACTOR)
    login_as()
    page = client.get(f"/admin/accounts/{account.id}").get_data(as_text=True)
    assert 'id="services"' in page and ru("No services attached.") in page and "ТВ-пакет" in page
    start = today().isoformat()
    response = client.post(f"/admin/accounts/{account.id}/services",
                           data={"svc-service_id": tv.id, "svc-start_date": start, "svc-quantity": "2"})
    assert response.status_code == 302 and response.location.endswith("#services")
    attached = AccountService.get()
    assert (attached.service_id, attached.start_date, attached.end_date, attached.quantity) == (
        tv.id, today(), None, 2)
    page = client.get(f"/admin/accounts/{account.id}").get_data(as_text=True)
    assert "620,00" in page and ru("until ended") in page
    assert f"/admin/accounts/{account.id}/services/{attached.id}/end" in page
    ended = client.post(f"/admin/accounts/{account.id}/services/{attached.id}/end", data={})
    assert ended.status_code == 302
    assert AccountService.get_by_id(attached.id).end_date == today()  # today by default
    page = client.get(f"/admin/accounts/{account.id}").get_data(as_text=True)
    assert f"/services/{attached.id}/end" not in page  # nothing left to end


def test_bad_attach_is_refused_with_a_message_and_saves_nothing(client, admin, login_as):
    account = _account()
    tv = services.create_service({"name": "ТВ", "kind": "periodic", "price": "100"}, actor=ACTOR)
    login_as()
    before = table_counts()
    bad_dates = client.post(f"/admin/accounts/{account.id}/services",
                            data={"svc-service_id": tv.id, "svc-start_date": "2026-05-10",
                                  "svc-end_date": "2026-05-01", "svc-quantity": "1"}, follow_redirects=True)
    assert ru("The end date is before the start date.") in bad_dates.get_data(as_text=True)
    zero = client.post(f"/admin/accounts/{account.id}/services",
                       data={"svc-service_id": tv.id, "svc-quantity": "0"}, follow_redirects=True)
    assert ru("Quantity must be a whole number, 1 or more.") in zero.get_data(as_text=True)
    assert table_counts() == before
    other = _account()
    attached = services.attach_service(other, tv, actor=ACTOR)
    # another account's row cannot be ended through this account's URL
    assert client.post(f"/admin/accounts/{account.id}/services/{attached.id}/end").status_code == 404
    early = client.post(f"/admin/accounts/{other.id}/services/{attached.id}/end",
                        data={"end-end_date": (today() - dt.timedelta(days=3)).isoformat()}, follow_redirects=True)
    assert ru("The end date is before the start date.") in early.get_data(as_text=True)
    assert AccountService.get_by_id(attached.id).end_date is None


def test_one_off_attached_on_the_page_is_charged_into_the_ledger_once(client, admin, login_as):
    account = _account()
    setup = _one_off("Подключение", "1500")
    login_as()
    assert client.post(f"/admin/accounts/{account.id}/services",
                       data={"svc-service_id": setup.id, "svc-quantity": "1"}).status_code == 302
    entry = LedgerEntry.get(LedgerEntry.kind == "one_off")
    assert (entry.amount, entry.account_id, entry.service_id) == (Decimal("-1500.00"), account.id, setup.id)
    assert _balance(account) == Decimal("3500.00")
    # an explicit amount wins over the price
    client.post(f"/admin/accounts/{account.id}/services",
                data={"svc-service_id": setup.id, "svc-quantity": "1", "svc-amount": "999,90"})
    assert _balance(account) == Decimal("2500.10")
    page = client.get(f"/admin/accounts/{account.id}").get_data(as_text=True)
    assert "999,90" in page and ru("charged") in page


def test_account_page_actions_need_the_edit_permission(client, app, login_as):
    account = _account()
    tv = services.create_service({"name": "ТВ", "kind": "periodic", "price": "100"}, actor=ACTOR)
    attached = services.attach_service(account, tv, actor=ACTOR)
    make_manager("viewer", permissions=["subscribers.view"])
    login_as("viewer", PASSWORD)
    page = client.get(f"/admin/accounts/{account.id}").get_data(as_text=True)
    assert "ТВ" in page and 'id="attach-service"' not in page and "/end" not in page
    assert client.post(f"/admin/accounts/{account.id}/services",
                       data={"svc-service_id": tv.id}).status_code == 403
    assert client.post(f"/admin/accounts/{account.id}/services/{attached.id}/end").status_code == 403
    assert AccountService.select().count() == 1 and AccountService.get().end_date is None


# --- CSV import ------------------------------------------------------------------------

def _upload(client, text: str, encoding="utf-8"):
    return client.post("/admin/services/import", data={"file": (io.BytesIO(text.encode(encoding)), "act.csv")},
                       content_type="multipart/form-data")


def _csv(account, day: str) -> str:
    return ("Логин;Услуга;Дата;Кол-во;Сумма;Комментарий\n"
            f"{account.login};Кабель;{day};3;;15 м\n"
            f"{account.login};кабель;{day};1;99,50;\n")


def test_upload_guesses_the_mapping_and_the_dry_run_writes_nothing(client, admin, login_as):
    account = _account()
    _one_off("Кабель", "100")
    day = today().isoformat()
    login_as()
    step = _upload(client, _csv(account, day), encoding="cp1251")  # spreadsheets in Russian save 1251
    assert step.status_code == 200
    page = step.get_data(as_text=True)
    assert 'id="mapping-form"' in page and '<option selected value="Логин">' in page
    before = table_counts()
    dry = client.post("/admin/services/import", data={
        "csv_text": _csv(account, day), "login": "Логин", "service": "Услуга", "date": "Дата",
        "quantity": "Кол-во", "amount": "Сумма", "comment": "Комментарий", "service_id": "0",
        "action": "dry_run"})
    assert dry.status_code == 200
    page = dry.get_data(as_text=True)
    assert ru("Dry run: nothing is saved") in page
    assert "300,00" in page and "99,50" in page and "15 м" in page
    assert table_counts() == before


def test_import_books_every_row_in_the_ledger(client, admin, login_as):
    account = _account()
    _one_off("Кабель", "100")
    login_as()
    response = client.post("/admin/services/import", data={
        "csv_text": _csv(account, today().isoformat()), "login": "Логин", "service": "Услуга", "date": "Дата",
        "quantity": "Кол-во", "amount": "Сумма", "comment": "Комментарий", "service_id": "0",
        "action": "import"})
    assert response.status_code == 302  # PRG: a reload cannot book the file twice
    entries = list(LedgerEntry.select().where(LedgerEntry.kind == "one_off").order_by(LedgerEntry.id))
    assert [e.amount for e in entries] == [Decimal("-300.00"), Decimal("-99.50")]
    assert _balance(account) == Decimal("4600.50")
    assert ru("Imported: %(count)s one-off services charged.", count=2) in client.get(
        response.location).get_data(as_text=True)


def test_import_by_agreement_number_with_one_service_for_every_row(client, admin, login_as):
    account = _account()
    number = Agreement.get_by_id(account.agreement_id).number
    visit = _one_off("Выезд", "450")
    login_as()
    text = f"Договор,Дата\n{number},{today().strftime('%d.%m.%Y')}\n"
    response = client.post("/admin/services/import", data={
        "csv_text": text, "agreement": "Договор", "date": "Дата", "service_id": str(visit.id), "action": "import"})
    assert response.status_code == 302
    assert _balance(account) == Decimal("4550.00")


def test_a_bad_row_is_reported_and_nothing_is_booked(client, admin, login_as):
    account = _account()
    _one_off("Кабель", "100")
    login_as()
    text = _csv(account, today().isoformat()) + f"nobody;Кабель;{today().isoformat()};1;;\n"
    text += f"{account.login};Кабель;31.02.2026;1;;\n"
    before = table_counts()
    response = client.post("/admin/services/import", data={
        "csv_text": text, "login": "Логин", "service": "Услуга", "date": "Дата", "quantity": "Кол-во",
        "amount": "Сумма", "service_id": "0", "action": "import"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert ru("Nothing is imported: fix the rows below") in page
    assert ru("no account with login %(login)r", login="nobody") in page
    assert ru("date %(value)r is not a date (YYYY-MM-DD or DD.MM.YYYY)", value="31.02.2026") in page
    assert table_counts() == before


def test_import_mapping_without_an_account_column_is_refused_on_the_form(client, admin, login_as):
    _one_off("Кабель", "100")
    login_as()
    response = client.post("/admin/services/import", data={
        "csv_text": "a;b\n1;2\n", "service": "a", "date": "b", "service_id": "0", "action": "dry_run"})
    assert response.status_code == 422
    assert ru("Map a column to the account (login, account_id or agreement number).") in response.get_data(
        as_text=True)
    empty = client.post("/admin/services/import", data={"file": (io.BytesIO(b""), "x.csv")},
                        content_type="multipart/form-data")
    assert empty.status_code == 422 and ru("Choose a CSV file.") in empty.get_data(as_text=True)


def test_import_needs_the_payments_permission(client, app, login_as):
    make_manager("viewer", permissions=["subscribers.view", "tariffs.edit"])
    login_as("viewer", PASSWORD)
    assert client.get("/admin/services/import").status_code == 403
    assert client.post("/admin/services/import", data={"csv_text": "x", "action": "import"}).status_code == 403
