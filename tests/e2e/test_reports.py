"""Reports in a real browser: open a report from the menu's index, change
a filter through the rendered form, see the chart and the totals, and
download the XLSX export, read back with openpyxl; on a phone the page
shows its filters, chart and table without a script."""

from __future__ import annotations

import io

import openpyxl
from playwright.sync_api import expect

from tests.e2e.conftest import log_in
from tests.reports.scenario import Scenario


def test_report_filter_chart_and_export(app, admin, live_server, page, shot):
    Scenario()
    log_in(page, live_server)
    page.goto(live_server + "/admin/reports")
    page.click("a[data-report=charges-vs-payments]")
    page.fill("#filter-from", "2026-01")
    page.fill("#filter-to", "2026-03")
    page.select_option("#filter-by", "group")
    page.click("#report-filters button[type=submit]")
    page.wait_for_load_state()
    assert "by=group" in page.url and "from=2026-01" in page.url
    expect(page.locator("#report-chart")).to_be_visible()
    assert page.locator("#report-chart rect.bar").count() >= 3
    expect(page.locator("#report-table tbody tr")).to_have_count(6)  # two groups × three months
    expect(page.locator("#report-totals")).to_contain_text("3\xa0112,34")
    shot(page, "reports-charges-vs-payments")
    with page.expect_download() as download_info:
        page.click("#export-xlsx")
    data = download_info.value.path().read_bytes()
    rows = list(openpyxl.load_workbook(io.BytesIO(data), read_only=True).active.iter_rows(values_only=True))
    assert len(rows) == 1 + 6 + 1
    assert {row[1] for row in rows[1:-1]} == {"Север", "Юг"}


def test_report_on_a_phone(app, admin, live_server, phone, shot):
    Scenario()
    log_in(phone, live_server)
    phone.goto(live_server + "/admin/reports/arpu?from=2026-01&to=2026-03")
    expect(phone.locator("#report-chart")).to_be_visible()
    expect(phone.locator("#report-filters")).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 400
    shot(phone, "reports-arpu-phone")
