"""Report screens: every report renders with its chart, totals and
filters; a filter in the URL changes the figures; a bad filter is refused
with a Russian message; CSV and XLSX read back with the screen's figures;
a manager limited to a group sees only its figures on the screen, in the
totals and in both exports; the print view has every row."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from lanbill.models import Manager
from lanbill.models.staff import PERMISSIONS
from lanbill.reports import REPORTS, run_report
from tests.admin_helpers import PASSWORD, make_manager, ru
from tests.reports.scenario import Scenario, at

PERIOD = "from=2026-01&to=2026-03"


@pytest.fixture
def data(app, admin):
    """The hand-made ledger, looked at on 5 March 2026 (the clock stays there)."""
    scenario = Scenario()
    with at("2026-03-05 12:00:00"):
        yield scenario


def read_csv(response) -> list[list[str]]:
    text = response.get_data(as_text=True).lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def read_xlsx(response) -> list[tuple]:
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True)
    return [tuple(row) for row in book.active.iter_rows(values_only=True)]


def test_index_lists_every_report_and_menu_links_it(client, login_as, data):
    login_as()
    page = client.get("/admin/reports").get_data(as_text=True)
    for name in REPORTS:
        assert f'data-report="{name}"' in page
    assert 'href="/admin/reports"' in client.get("/admin/dashboard").get_data(as_text=True)


@pytest.mark.parametrize("name", list(REPORTS))
def test_every_report_renders_with_totals(client, login_as, data, name):
    login_as()
    with at("2026-03-05 12:00:00"):
        period = "from=2026-01-01&to=2026-02-28" if name == "payments" else PERIOD
        response = client.get(f"/admin/reports/{name}?{period}&by=group")
    assert response.status_code == 200, response.data[:800]
    page = response.get_data(as_text=True)
    assert 'id="report-table"' in page and 'id="report-totals"' in page
    assert ru("Export XLSX") in page


def test_charges_vs_payments_screen_shows_the_reconciled_figures_and_chart(client, login_as, data):
    login_as()
    with at("2026-03-05 12:00:00"):
        page = client.get(f"/admin/reports/charges-vs-payments?{PERIOD}").get_data(as_text=True)
    assert 'id="report-chart"' in page and "<rect class=\"bar charge\"" in page
    assert "−3\xa0112,34" in page  # the closing balance
    assert "4\xa0862,34" in page  # charged in the period


def test_bad_filter_is_refused_in_russian(client, login_as, data):
    login_as()
    response = client.get("/admin/reports/arpu?from=2026-13&to=2026-03")
    assert response.status_code == 422
    assert ru("Give a month as YYYY-MM.") in response.get_data(as_text=True)
    response = client.get("/admin/reports/payments?from=2026-03-01&to=2026-01-01")
    assert ru("The period ends before it starts.") in response.get_data(as_text=True)


def test_unknown_report_is_404_and_permission_needed(client, data):
    make_manager("clerk", permissions=[p for p in PERMISSIONS if p != "reports.view"])
    client.post("/login", data={"login": "clerk", "password": PASSWORD})
    assert client.get("/admin/reports").status_code == 403
    assert client.get("/admin/reports/debtors").status_code == 403
    assert client.get("/admin/reports/debtors?format=xlsx").status_code == 403


def test_csv_and_xlsx_read_back_with_the_report_figures(client, login_as, data):
    login_as()
    with at("2026-03-05 12:00:00"):
        csv_rows = read_csv(client.get(f"/admin/reports/charges-vs-payments?{PERIOD}&format=csv"))
        response = client.get(f"/admin/reports/charges-vs-payments?{PERIOD}&format=xlsx")
        report = run_report("charges-vs-payments", {"from": "2026-01", "to": "2026-03"},
                            Manager.get(Manager.login == "admin"))
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    assert csv_rows[0][0] == ru("Month")
    assert len(csv_rows) == 1 + len(report.rows) + 1
    closing = [c.key for c in report.columns].index("closing")
    assert csv_rows[-2][closing] == "-3112,34"
    xlsx = read_xlsx(response)
    assert len(xlsx) == 1 + len(report.rows) + 1
    assert [float(row[closing]) for row in xlsx[1:-1]] == [float(r["closing"]) for r in report.rows]
    assert float(xlsx[-1][closing]) == float(report.totals["closing"]) == -3112.34


def test_group_scope_on_screen_and_exports(client, data):
    make_manager("north", groups=[data.north])
    client.post("/login", data={"login": "north", "password": PASSWORD})
    with at("2026-03-05 12:00:00"):
        page = client.get("/admin/reports/debtors").get_data(as_text=True)
        csv_rows = read_csv(client.get("/admin/reports/debtors?format=csv"))
        xlsx = read_xlsx(client.get("/admin/reports/debtors?format=xlsx"))
        payments = read_csv(client.get("/admin/reports/payments?from=2026-01-01&to=2026-02-28&by=group&format=csv"))
    numbers = {data.agreements[0].number, data.agreements[2].number}
    hidden = data.agreements[1].number
    assert hidden not in page and all(n in page for n in numbers)
    assert {r[0] for r in csv_rows[1:-1]} == numbers and {r[0] for r in xlsx[1:-1]} == numbers
    debt = [c.key for c in REPORTS["debtors"].COLUMNS].index("debt")
    assert csv_rows[-1][debt] == "2262,34"  # 962.34 + 1300.00, not the South debtor's 850
    assert [r[0] for r in payments[1:-1]] == ["Север"]
    # a group outside the role's groups is refused like one that does not exist
    response = client.get(f"/admin/reports/debtors?group={data.south.id}")
    assert response.status_code == 422


def test_print_view_has_every_row_and_no_filters_form(client, login_as, data):
    login_as()
    with at("2026-03-05 12:00:00"):
        page = client.get("/admin/reports/payments?from=2026-01-01&to=2026-02-28&per_page=25&format=print")
    text = page.get_data(as_text=True)
    assert "print-view" in text and text.count("<tr") >= 1 + 4 + 1


def test_sorting_and_paging(client, login_as, data):
    login_as()
    with at("2026-03-05 12:00:00"):
        page = client.get("/admin/reports/debtors?sort=debt").get_data(as_text=True)
    first, second, third = (data.agreements[1].number, data.agreements[0].number, data.agreements[2].number)
    assert page.index(first) < page.index(second) < page.index(third)


def test_dashboard_shows_this_and_last_month_and_links_reports(client, login_as, data):
    """On 5 March: payments this month 0 against February's 650 + 0 (the
    500 paid in January and cancelled in February counts in January);
    debt now 3112.34 against 1512.34 at the end of February; ARPU 533.33
    in March against 570.78 in February."""
    login_as()
    page = client.get("/admin/dashboard").get_data(as_text=True)
    summary = page[page.index('id="month-summary"'):]
    assert 'href="/admin/reports/debtors"' in summary and 'href="/admin/reports/arpu"' in summary
    payments = summary[summary.index('id="summary-payments"'):summary.index('id="summary-debt"')]
    assert "0,00" in payments and "650,00" in payments
    debt = summary[summary.index('id="summary-debt"'):summary.index('id="summary-arpu"')]
    assert "3\xa0112,34" in debt and "1\xa0512,34" in debt
    arpu = summary[summary.index('id="summary-arpu"'):]
    assert "533,33" in arpu and "570,78" in arpu
