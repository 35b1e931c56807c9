"""The dashboard: subscribers and accounts by state, today's and this
month's payments, accounts online, and a chart of payments and charges per
day for the last 60 days drawn as server-side SVG.

Every figure is limited to the subscribers the manager may see (their
role's groups).  Money figures need the "reports.view" permission.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import render_template
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape
from peewee import Case, fn

from lanbill.admin import bp
from lanbill.admin.common import requires
from lanbill.clock import local_date_of, midnight_utc, today
from lanbill.db import database, from_minor, is_sqlite
from lanbill.first_run import SEEDED_OPERATOR_NAMES
from lanbill.models import Account, Agent, Agreement, LedgerEntry, Manager, Nas, Operator, Payment, Subscriber, Tariff
from lanbill.models.radius import RadiusSession
from lanbill.money import format_money
from lanbill.reports.summary import month_summary
from lanbill.staff.access import scope, visible_subscriber_ids

CHART_DAYS = 60
# Ledger kinds that are charges for services (DESIGN §4); a correction by
# staff may go either way and is not a charge.
CHARGE_KINDS = ("rent", "rent_correction", "service", "volume", "time", "one_off")
# A subscriber's state is the best state among its accounts: one working
# account makes the subscriber active; otherwise the block that a payment
# or a call would have to clear first.
SUBSCRIBER_STATE_RANK = ("active", "user", "traffic", "admin", "balance", "off")


def account_states(manager) -> dict[str, int]:
    """Live (not deleted) accounts per shown state; one query."""
    query = (Account.select(Account.state, fn.COUNT(Account.id).alias("n"))
             .where(Account.deleted == False)  # noqa: E712
             .group_by(Account.state))
    query = scope(query, manager, Account.subscriber)
    counts = dict.fromkeys(SUBSCRIBER_STATE_RANK, 0)
    for row in query:
        counts[row.state] = counts.get(row.state, 0) + row.n
    return counts


def subscriber_states(manager) -> dict[str, int]:
    """Subscribers per state (the best state of their live accounts, see
    SUBSCRIBER_STATE_RANK) plus "none" for subscribers without accounts.
    Two queries whatever the number of subscribers."""
    ranks = [(state, i) for i, state in enumerate(SUBSCRIBER_STATE_RANK)]
    rank = Case(Account.state, ranks, len(SUBSCRIBER_STATE_RANK))
    per_subscriber = (Account.select(Account.subscriber, fn.MIN(rank).alias("best"))
                      .where(Account.deleted == False)  # noqa: E712
                      .group_by(Account.subscriber))
    per_subscriber = scope(per_subscriber, manager, Account.subscriber)
    inner = per_subscriber.alias("ps")
    rows = (Account.select(inner.c.best, fn.COUNT(inner.c.subscriber_id).alias("n"))
            .from_(inner).group_by(inner.c.best).tuples())
    counts = dict.fromkeys(SUBSCRIBER_STATE_RANK, 0)
    with_accounts = 0
    for best, n in rows:
        if best is not None and int(best) < len(SUBSCRIBER_STATE_RANK):
            counts[SUBSCRIBER_STATE_RANK[int(best)]] += n
            with_accounts += n
    total = scope(Subscriber.select().where(Subscriber.is_template == False), manager, Subscriber.id)  # noqa: E712
    counts["none"] = max(total.count() - with_accounts, 0)
    counts["total"] = with_accounts + counts["none"]
    return counts


def _payments_query(manager, start: dt.datetime, end: dt.datetime):
    query = Payment.select(fn.COUNT(Payment.id), fn.SUM(Payment.amount).coerce(False)).where(
        Payment.cancelled_at.is_null() & (Payment.paid_at >= start) & (Payment.paid_at < end))
    if visible_subscriber_ids(manager) is not None:
        query = scope(query.join(Agreement), manager, Agreement.subscriber)
    return query


def payments_between(manager, first: dt.date, last: dt.date) -> tuple[int, Decimal]:
    """Count and sum of the payments (not cancelled) paid on local days
    first..last inclusive."""
    count, total = _payments_query(manager, midnight_utc(first), midnight_utc(last + dt.timedelta(days=1))).tuples()[0]
    return int(count or 0), from_minor(int(total or 0))


def accounts_online(manager) -> int | None:
    """Accounts with an open RADIUS session, or None while the RADIUS
    tables do not exist (the agent is a separate part of the system)."""
    if not database.table_exists(RadiusSession._meta.table_name):
        return None
    query = RadiusSession.select(fn.COUNT(fn.DISTINCT(RadiusSession.account_id))).where(
        RadiusSession.stopped_at.is_null() & RadiusSession.account_id.is_null(False))
    ids = visible_subscriber_ids(manager)
    if ids is not None:
        query = query.where(RadiusSession.account_id.in_(
            Account.select(Account.id).where(Account.subscriber.in_(ids))))
    return int(query.scalar() or 0)


def _hour_bucket(column):
    """The UTC hour of a timestamp as text ("2026-03-18 09"), the same on
    both databases; the hours are then put into the operator's local days
    in Python (exact for every zone with whole-hour offsets).  SQLite keeps
    timestamps as ISO text, so the hour is its first 13 characters — a
    substring is much cheaper than strftime() over 500,000 rows."""
    if is_sqlite():
        return fn.substr(column, 1, 13).coerce(False)
    return fn.to_char(column, "YYYY-MM-DD HH24").coerce(False)


def _per_day(rows, days: list[dt.date]) -> list[Decimal]:
    index = {d: i for i, d in enumerate(days)}
    out = [Decimal("0.00")] * len(days)
    for hour, total in rows:
        if hour is None:
            continue
        if not isinstance(hour, dt.datetime):
            hour = dt.datetime.strptime(hour, "%Y-%m-%d %H")
        day = local_date_of(hour)
        if day in index:
            out[index[day]] += from_minor(int(total or 0))
    return out


def daily_series(manager, last_day: dt.date, days: int = CHART_DAYS):
    """Payments (by pay date, not cancelled) and charges (ledger entries of
    CHARGE_KINDS, by when they were posted, as positive amounts) per local
    day for the `days` days ending with `last_day`.  Two grouped queries."""
    day_list = [last_day - dt.timedelta(days=days - 1 - i) for i in range(days)]
    start, end = midnight_utc(day_list[0]), midnight_utc(last_day + dt.timedelta(days=1))
    scoped = visible_subscriber_ids(manager) is not None

    bucket = _hour_bucket(Payment.paid_at)
    payments = (Payment.select(bucket, fn.SUM(Payment.amount).coerce(False))
                .where(Payment.cancelled_at.is_null() & (Payment.paid_at >= start) & (Payment.paid_at < end)))
    if scoped:
        payments = scope(payments.join(Agreement), manager, Agreement.subscriber)
    payments = payments.group_by(bucket).tuples()

    bucket = _hour_bucket(LedgerEntry.created_at)
    charges = (LedgerEntry.select(bucket, fn.SUM(LedgerEntry.amount).coerce(False))
               .where(LedgerEntry.kind.in_(CHARGE_KINDS) & (LedgerEntry.created_at >= start)
                      & (LedgerEntry.created_at < end)))
    if scoped:
        charges = scope(charges.join(Agreement), manager, Agreement.subscriber)
    charges = charges.group_by(bucket).tuples()
    return day_list, _per_day(payments, day_list), [-v for v in _per_day(charges, day_list)]


def render_chart(days: list[dt.date], payments: list[Decimal], charges: list[Decimal]) -> Markup:
    """An SVG bar chart: for each day a payments bar and a charges bar side
    by side (a day without money has no bar), a few grid lines with
    amounts, dates under every seventh day.  Scales to the page width."""
    width, height = 960, 260
    left, right, top, bottom = 70, 10, 20, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([v for v in payments + charges if v > 0], default=Decimal(0))
    scale = (Decimal(plot_h) / peak) if peak > 0 else Decimal(0)
    slot = plot_w / max(len(days), 1)
    bar = max(slot * 0.4, 1)
    parts = [
        f'<svg class="chart" id="money-chart" viewBox="0 0 {width} {height}" role="img" '
        f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
        '<title>{}</title>'.format(escape(_("Payments and charges per day"))),
    ]
    for fraction in (0, 0.5, 1):
        y = top + plot_h - plot_h * fraction
        amount = (peak * Decimal(str(fraction))).quantize(Decimal("1"))
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d0d5dd" '
                     f'stroke-width="1"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#667085">'
                     f'{escape(format_money(amount, ""))[:-3]}</text>')
    for i, day in enumerate(days):
        x = left + i * slot
        label = day.strftime("%d.%m")
        for offset, value, css, color in ((0, payments[i], "payment", "#067647"),
                                           (bar, charges[i], "charge", "#b42318")):
            if value <= 0:
                continue
            h = float(value * scale)
            parts.append(
                f'<rect class="bar {css}" data-day="{day.isoformat()}" x="{x + slot * 0.1 + offset:.1f}" '
                f'y="{top + plot_h - h:.1f}" width="{bar:.1f}" height="{max(h, 0.5):.1f}" fill="{color}">'
                f'<title>{label}: {escape(format_money(value))}</title></rect>')
        if i % 7 == 0 or i == len(days) - 1:
            parts.append(f'<text x="{x + slot / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                         f'font-size="11" fill="#667085">{label}</text>')
    legend_y = height - 8
    parts.append(f'<rect x="{left}" y="{legend_y - 9}" width="10" height="10" fill="#067647"/>'
                 f'<text x="{left + 14}" y="{legend_y}" font-size="12">{escape(_("Payments"))}</text>'
                 f'<rect x="{left + 140}" y="{legend_y - 9}" width="10" height="10" fill="#b42318"/>'
                 f'<text x="{left + 154}" y="{legend_y}" font-size="12">{escape(_("Charges"))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def first_steps() -> list[dict] | None:
    """Seed 004 «Первые шаги» and «Подготовка к работе»: name the operator,
    add the NAS, create agents and tariffs, add staff.  None once all are
    done (the card disappears)."""
    steps = [
        ("operator", _("Give the operator your organisation's name"), "admin.operators",
         not Operator.select().where(Operator.name.in_(list(SEEDED_OPERATOR_NAMES))).exists()),
        ("nas", _("Add the network equipment (NAS)"), "admin.nas_new", Nas.select().exists()),
        ("agent", _("Create the agents for your services"), "admin.agents", Agent.select().exists()),
        ("tariff", _("Create tariffs"), "admin.tariff_new", Tariff.select().exists()),
        ("staff", _("Add your staff and their roles"), "admin.manager_new", Manager.select().count() > 1),
    ]
    if all(done for *_rest, done in steps):
        return None
    return [{"key": key, "label": label, "endpoint": endpoint, "done": done} for key, label, endpoint, done in steps]


@bp.route("/dashboard")
@requires()
def dashboard():
    """Any manager sees the counts of their own subscribers; money figures
    and the chart need "reports.view"."""
    manager = current_user
    day = today()
    context = {
        "subscribers": subscriber_states(manager),
        "accounts": account_states(manager),
        "online": accounts_online(manager),
        "money": None,
        "first_steps": first_steps() if manager.can("settings.edit") else None,
    }
    if manager.can("reports.view"):
        days, payments, charges = daily_series(manager, day)
        context["money"] = {
            "today": payments_between(manager, day, day),
            "month": payments_between(manager, day.replace(day=1), day),
            "chart": render_chart(days, payments, charges),
            "payments_total": sum(payments, Decimal("0.00")),
            "charges_total": sum(charges, Decimal("0.00")),
            "summary": month_summary(manager, day),
        }
    return render_template("admin/dashboard/index.html", states=SUBSCRIBER_STATE_RANK, **context)
