"""The import screen in a real browser: the rendered upload form with a
preset, the column mapping filled in by it and changed by hand, a dry run
whose report lists every bad row, a fixed file, the import and its
progress bar — on a desktop and on a phone."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import expect

from lanbill.models import Account, Agreement, LedgerEntry, Subscriber
from tests.e2e.conftest import log_in
from tests.factories import make_agent, make_tariff

EXAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "import-examples"


def test_mapping_screen_dry_run_and_import(app, admin, live_server, page, shot, tmp_path):
    make_tariff(name="Домашний 100")
    make_tariff(name="Домашний 200")
    make_agent(name="bras")
    make_agent(name="spare")
    log_in(page, live_server)
    page.goto(live_server + "/admin/")
    menu_entry = page.locator("a", has_text="Импорт из другого биллинга").first
    page.goto(live_server + menu_entry.get_attribute("href"))
    page.set_input_files("#file", str(EXAMPLES / "ubilling-users.csv"))
    page.select_option("#preset", "ubilling-users")
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/imports/[0-9a-f]{32}/mapping$"))
    shot(page, "import-01-mapping")
    expect(page.locator("#map_subscriber_name")).to_have_value("realname")
    expect(page.locator("#map_account_login")).to_have_value("login")
    expect(page.locator("#map_opening_balance")).to_have_value("Cash")
    # two agents: without choosing one every account row is an error
    page.click("#mapping-form button[value=dry_run]")
    page.wait_for_url(re.compile(r"/admin/imports/[0-9a-f]{32}$"))
    expect(page.locator("#import-errors tbody tr")).to_have_count(4)
    expect(page.locator("#import-errors")).to_contain_text("Выберите агента учётных записей")
    shot(page, "import-02-errors")

    page.click("#back-to-mapping")
    page.select_option("#agent", label="bras")
    page.click("#mapping-form button[value=dry_run]")
    page.wait_for_url(re.compile(r"/admin/imports/[0-9a-f]{32}$"))
    expect(page.locator("#import-report h2")).to_have_text("Проверка: ничего не сохранено")
    expect(page.locator("#import-counts")).to_contain_text("Учётных записей: 4")
    expect(page.locator("#progress-bar")).to_have_attribute("value", "4")
    assert Subscriber.select().count() == 0
    shot(page, "import-03-dry-run")

    page.click("#import-report form button")
    page.wait_for_url(re.compile(r"/admin/imports/[0-9a-f]{32}$"))
    expect(page.locator("#import-report h2")).to_have_text("Импортировано")
    expect(page.locator(".flash.success")).to_contain_text("Импортировано абонентов: 4")
    assert Account.select().count() == 4
    assert Agreement.get(Agreement.number == "UB-1001").balance == Decimal("250.50")
    assert LedgerEntry.select().where(LedgerEntry.kind == "opening_balance").count() == 3
    shot(page, "import-04-done")

    # the same file again: duplicates, nothing new
    page.goto(live_server + "/admin/imports")
    page.set_input_files("#file", str(EXAMPLES / "ubilling-users.csv"))
    page.select_option("#preset", "ubilling-users")
    page.click("#upload-form button[type=submit]")
    page.select_option("#agent", label="bras")
    page.click("#mapping-form button[value=import]")
    expect(page.locator("#import-counts")).to_contain_text("Пропущено повторов (загружены раньше): 4")
    assert Subscriber.select().count() == 4


def test_upload_on_a_phone(app, admin, live_server, phone, tmp_path):
    source = tmp_path / "list.csv"
    source.write_text("ФИО;Договор\nОрлова Анна;P-1\n", encoding="cp1251")
    log_in(phone, live_server)
    phone.goto(live_server + "/admin/imports")
    phone.set_input_files("#file", str(source))
    phone.click("#upload-form button[type=submit]")
    expect(phone.locator("#map_subscriber_name")).to_have_value("ФИО")
    expect(phone.locator("#map_agreement_number")).to_have_value("Договор")
    phone.click("#mapping-form button[value=import]")
    expect(phone.locator("#import-report h2")).to_have_text("Импортировано")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1
    assert Agreement.get(Agreement.number == "P-1").subscriber.name == "Орлова Анна"
