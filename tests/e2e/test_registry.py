"""A registry in a real browser: upload a bank file through the rendered
form, read the dry run, post it (confirming the dialog), match the
unmatched row by hand, and see it on a phone."""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import expect

from lanbill.models import Agreement
from lanbill.models.registries import RegistryImport
from tests.e2e.conftest import log_in
from tests.paysys.helpers import DATA, make_numbered_agreements, make_registry_system


def test_upload_dry_run_post_and_match_by_hand(app, admin, live_server, page, shot):
    agreements = make_numbered_agreements("R-1001", "R-1002", "R-1003", "R-9999")
    Agreement.update(closed_at=None).execute()
    make_registry_system(code="sber", name="Сбербанк, реестр")
    log_in(page, live_server)
    page.goto(live_server + "/admin/registries")
    page.select_option("#system", "sber")
    page.set_input_files("#file", str(DATA / "lanbill_cp1251.txt"))
    shot(page, "registry-01-upload")
    page.click("#registry-upload button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/registries/\d+$"))
    expect(page.locator("#registry-status")).to_have_text("Проверка")
    expect(page.locator("#matched-count")).to_contain_text("4")
    expect(page.locator("#registry-rows")).to_contain_text("Повторяет строку этого файла выше.")
    expect(page.locator("#registry-rows")).to_contain_text("сто рублей")
    shot(page, "registry-02-dry-run")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("text=Провести платежи: 4")
    page.wait_for_load_state()
    expect(page.locator("#registry-status")).to_have_text("Проведён")
    expect(page.locator("#booked")).to_contain_text("4")
    shot(page, "registry-03-posted")
    registry = RegistryImport.get()
    assert registry.status == "posted" and registry.booked_amount == Decimal("2150.50")
    assert Agreement.get_by_id(agreements["R-9999"].id).balance == Decimal("300.00")


def test_an_unmatched_row_is_matched_in_the_browser_and_seen_on_a_phone(app, admin, live_server, page, phone):
    agreements = make_numbered_agreements("R-1001", "R-1002", "R-1003", "R-5555")
    make_registry_system(code="sber", name="Сбербанк, реестр")
    log_in(page, live_server)
    page.goto(live_server + "/admin/registries")
    page.select_option("#system", "sber")
    page.set_input_files("#file", str(DATA / "lanbill_cp1251.txt"))
    page.click("#registry-upload button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/registries/\d+$"))
    page.click("nav.tabs >> text=Не сопоставлено")
    page.fill("input[name=match-agreement] >> nth=0", "R-5555")
    page.click(".match-form button >> nth=0")
    page.wait_for_load_state()
    expect(page.locator("p.flash.success")).to_contain_text("R-5555")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("text=Провести платежи: 4")
    page.wait_for_load_state()
    expect(page.locator("#registry-status")).to_have_text("Проведён")
    assert Agreement.get_by_id(agreements["R-5555"].id).balance == Decimal("300.00")
    registry = RegistryImport.get()
    log_in(phone, live_server)
    phone.goto(live_server + f"/admin/registries/{registry.id}")
    expect(phone.locator("#registry-status")).to_have_text("Проведён")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 400
