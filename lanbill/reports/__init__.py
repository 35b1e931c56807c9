"""Report queries (DESIGN §13): one module per report, each with NAME,
TITLE, FILTERS, COLUMNS, DEFAULT_SORT and `run(filters, manager)` that
returns a common.Report — rows and totals as the manager's groups allow.
Audiences (admin screens, API) find them by name here."""

from __future__ import annotations

from lanbill.reports import arpu, charges_vs_payments, debtors, movement, payments, tariffs
from lanbill.reports.common import Report, clean_filters

REPORTS = {module.NAME: module for module in (payments, debtors, charges_vs_payments, arpu, movement, tariffs)}


def get(name: str):
    """The report module called `name`, or None."""
    return REPORTS.get(name)


def run_report(name: str, args, manager) -> Report:
    """Clean the filters from `args` (query-string values) and run the
    report for `manager`; a bad filter raises ValidationError."""
    module = REPORTS[name]
    return module.run(clean_filters(module.FILTERS, args, manager), manager)
