"""Admin screens for ISP staff (/admin): one blueprint, views split by area
(subscribers, agreements, accounts, payments, …), shared tables and macros."""

import datetime as dt

from flask import Blueprint

from lanbill.clock import to_local
from lanbill.customers.search import register_sql_functions

bp = Blueprint("admin", __name__)


@bp.app_template_filter("local_datetime")
def local_datetime(value, with_time=True):
    """A naive-UTC timestamp (or a date) shown in the operator's zone."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        local = to_local(value)
        return local.strftime("%d.%m.%Y %H:%M" if with_time else "%d.%m.%Y")
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    return str(value)


@bp.record_once
def _register_sql_functions(state):
    register_sql_functions()


# The view modules register their routes on `bp`, so they are imported once
# it exists.  Daily work: subscribers, agreements, accounts, payments,
# services; settings: tariffs, agents/NAS, operators, groups, currencies,
# addresses, staff, the audit log; RADIUS sessions and NetFlow status; the
# dashboard and the language and table-column preferences (views).
from lanbill.admin import (  # noqa: E402,F401
    accounts,
    addresses,
    agents,
    agreement_print,
    agreements,
    audit,
    cabinet_view,
    cards,
    currencies,
    dashboard,
    documents,
    fiscal,
    groups,
    helpdesk,
    imports,
    knowledge,
    notify,
    operators,
    payment_journal,
    payments,
    paysys,
    radius,
    registries,
    reports,
    services,
    staff,
    subscribers,
    tariff_choice,
    tariffs,
    tokens,
    traffic,
    views,
)
