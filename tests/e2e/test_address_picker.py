"""The subscriber form's address picker in a real browser: choose a
building in the picker, add a flat, save — on creating and on editing —
reload, and the address (with its flat) is there.  The chosen building
travels in one hidden input placed in the picker; the form's
hidden-fields helper does not render a second, empty, copy."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from lanbill.customers import addresses
from lanbill.models import Subscriber
from tests.e2e.conftest import log_in
from tests.factories import ACTOR


def _directory():
    region = addresses.add_entry("region", None, "Калужская обл.", actor=ACTOR)
    city = addresses.add_entry("city", region.id, "Калуга", actor=ACTOR)
    lenina = addresses.add_entry("street", city.id, "Ленина", actor=ACTOR)
    mira = addresses.add_entry("street", city.id, "Мира", actor=ACTOR)
    return {
        "region": region, "city": city,
        "lenina-5": addresses.add_entry("building", lenina.id, "5", actor=ACTOR),
        "mira-17": addresses.add_entry("building", mira.id, "17", actor=ACTOR),
    }


def _pick(page, kind: str, region, city, street_name: str, building) -> None:
    picker = page.locator(f".address-picker[data-kind={kind}]")
    for level, value in (("region", str(region.id)), ("city", str(city.id))):
        select = picker.locator(f"select[data-level={level}]")
        expect(select.locator(f"option[value='{value}']")).to_have_count(1)
        select.select_option(value)
    street = picker.locator("select[data-level=street]")
    expect(street.locator("option", has_text=street_name)).to_have_count(1)
    street.select_option(label=street_name)
    building_select = picker.locator("select[data-level=building]")
    expect(building_select.locator(f"option[value='{building.id}']")).to_have_count(1)
    building_select.select_option(str(building.id))


def _save(page) -> None:
    page.click("button[name=action][value=save]")
    page.wait_for_load_state()
    if page.locator("#similar").count():
        page.click("button[name=action][value=save]")
        page.wait_for_load_state()


def test_address_chosen_in_the_picker_is_saved_on_create_and_on_edit(app, admin, live_server, page):
    places = _directory()
    log_in(page, live_server)
    page.goto(live_server + "/admin/subscribers/new")
    assert page.locator("input[name=main_building]").count() == 1
    page.fill("#name", "Адресов Андрей")
    _pick(page, "main", places["region"], places["city"], "Ленина", places["lenina-5"])
    page.fill("#main_flat", "12")
    _save(page)
    page.wait_for_url(re.compile(r"/admin/subscribers/\d+$"))

    page.reload()
    main = page.locator(".address-picker[data-kind=main]")
    expect(main.locator(".current-address")).to_contain_text("Ленина, 5, кв. 12")
    expect(page.locator("#main_flat")).to_have_value("12")
    expect(main.locator("select[data-level=building]")).to_have_value(str(places["lenina-5"].id))

    # Editing: a postal address is chosen, the main one is kept.
    _pick(page, "postal", places["region"], places["city"], "Мира", places["mira-17"])
    page.fill("#postal_flat", "офис 3")
    _save(page)
    page.wait_for_url(re.compile(r"/admin/subscribers/\d+"))
    page.reload()
    expect(page.locator(".address-picker[data-kind=postal] .current-address")).to_contain_text("Мира, 17, офис 3")
    expect(page.locator(".address-picker[data-kind=main] .current-address")).to_contain_text("Ленина, 5, кв. 12")
    expect(page.locator("#postal_flat")).to_have_value("офис 3")

    subscriber = Subscriber.get(Subscriber.name == "Адресов Андрей")
    assert addresses.address_text(subscriber.main_address).endswith("Ленина, 5, кв. 12")
    assert "Мира, 17" in addresses.address_text(subscriber.postal_address)
