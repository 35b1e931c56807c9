"""Admin screens for ISP staff (/admin): one blueprint, views split by area
(subscribers, agreements, accounts, payments, …), shared tables and macros."""

from flask import Blueprint

bp = Blueprint("admin", __name__)


@bp.app_template_filter("local_datetime")
def local_datetime(value, with_time=True):
    """A naive-UTC timestamp (or a date) shown in the operator's zone."""
    import datetime as dt

    from lanbill.clock import to_local

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
    from lanbill.customers.search import register_sql_functions

    register_sql_functions()


# Settings screens (dashboard, tariffs, agents/NAS, operators, groups,
# currencies, addresses, staff, audit log).
# RADIUS: online sessions, agent status, CoA history.
# NetFlow: traffic statistics per account, collector status.
from lanbill.admin import (  # noqa: E402,F401
    addresses,
    agents,
    audit,
    currencies,
    dashboard,
    groups,
    operators,
    radius,  # noqa: E402,F401
    services,  # noqa: E402,F401  catalogue, account services, one-off import
    staff,
    tariffs,
    traffic,  # noqa: E402,F401
    views,  # noqa: E402,F401
)
