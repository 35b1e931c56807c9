"""The dashboard's money figures: this month's payments, debt and ARPU
against last month's, as the manager's groups allow.

Rules: payments are those not cancelled, by pay date, from the 1st of the
month to now; last month's are of the whole month.  Debt is the sum of
negative balances (agreements with a balance below zero); last month's is
at the end of that month (today's balances less the entries posted since).
ARPU is the arpu report's figure for each month.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from peewee import JOIN, Case, fn

from lanbill.clock import midnight_utc, today
from lanbill.models import Agreement, LedgerEntry, Payment
from lanbill.reports.arpu import arpu_of, monthly
from lanbill.reports.cell_scope import CellScope
from lanbill.reports.common import add_months, agreement_conditions, minor, where_all


def payments_total(manager, start: dt.datetime, end: dt.datetime) -> Decimal:
    query = (Payment.select(fn.SUM(Payment.amount).coerce(False))
             .join(Agreement, on=(Payment.agreement == Agreement.id))
             .where(Payment.cancelled_at.is_null() & (Payment.paid_at >= start) & (Payment.paid_at < end)))
    return minor(where_all(query, agreement_conditions(manager)).scalar())


def debt_at(manager, moment: dt.datetime | None) -> Decimal:
    """Σ of negative balances now (moment None) or at `moment` (UTC)."""
    conditions = agreement_conditions(manager)
    if moment is None:
        query = Agreement.select(fn.SUM(Agreement.balance).coerce(False)).where(Agreement.balance < 0)
        return -minor(where_all(query, conditions).scalar())
    since = (LedgerEntry.select(LedgerEntry.agreement.alias("aid"), fn.SUM(LedgerEntry.amount).alias("moved"))
             .where(LedgerEntry.created_at >= moment).group_by(LedgerEntry.agreement)).alias("since")
    then = Agreement.balance - fn.COALESCE(since.c.moved, 0)
    query = (Agreement.select(fn.SUM(Case(None, [(then < 0, then)], 0)).coerce(False))
             .join(since, JOIN.LEFT_OUTER, on=(since.c.aid == Agreement.id)))
    return -minor(where_all(query, conditions).scalar())


def month_summary(manager, day: dt.date | None = None) -> dict:
    """{"payments"|"debt"|"arpu": (this month, last month)} for the dashboard."""
    day = day or today()
    this_month = day.replace(day=1)
    last_month = add_months(this_month, -1)
    start, end = midnight_utc(this_month), midnight_utc(day + dt.timedelta(days=1))
    months, sums = monthly(last_month, this_month, CellScope(manager))
    arpu = [arpu_of(*sums.get((i, None), (minor(0), 0))) for i in (1, 2)]
    return {
        "payments": (payments_total(manager, start, end), payments_total(manager, midnight_utc(last_month), start)),
        "debt": (debt_at(manager, None), debt_at(manager, start)),
        "arpu": (arpu[1], arpu[0]),
    }
