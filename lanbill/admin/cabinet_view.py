"""Admin: the subscriber's cabinet as the subscriber sees it, read-only
(home, payments, charges, blocks, traffic), opened from the card.

The rule: a staff member who may see the subscriber (subscribers.view and
the group scope of lanbill.staff.access) sees the cabinet's pages built
by the same domain functions the cabinet uses (lanbill.customers.cabinet),
in the cabinet's look, marked «только чтение».  Nothing here starts a
cabinet session or touches the cabinet's session keys; the pages have no
form that changes anything and every route answers GET only (a POST is
405).  Each page opened is written to the audit log (who looked at
whose cabinet, and which page) — no personal data in it."""

from __future__ import annotations

from decimal import Decimal

from flask import abort, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from lanbill.admin import bp
from lanbill.admin.common import current_actor, requires, translate_error, visible_subscriber
from lanbill.clock import local_now
from lanbill.customers import cabinet
from lanbill.errors import BillingError, NotFound
from lanbill.network import traffic_stats
from lanbill.staff import audit

# The cabinet's own menu, as far as it is shown read-only.
PAGES = (
    ("home", _l("Home")),
    ("payments", _l("Payments")),
    ("charges", _l("Charges")),
    ("blocks", _l("Blocks")),
    ("traffic", _l("Statistics")),
)
GROUP_TEXT = {"day": _l("By days"), "hour": _l("By hours"), "category": _l("By categories"),
              "address": _l("By addresses")}


def _opened(subscriber, page: str) -> None:
    """The audit row: staff opened this page of the subscriber's cabinet."""
    audit.record(current_actor(), "subscriber.cabinet_view", "subscriber", subscriber.id, after={"page": page})


# The cabinet's page names (its endpoints) and the routes here that show them.
VIEW_OF_PAGE = {"login": "cabinet_view_home", "payments": "cabinet_view_payments",
                "charges": "cabinet_view_charges", "block_history": "cabinet_view_blocks",
                "traffic_summary": "cabinet_view_traffic", "traffic_account": "cabinet_view_traffic_account"}


def _render(template: str, subscriber, page: str, **context):
    """The cabinet's own page template, in the read-only frame: its links
    lead to the pages here, its actions are shown disabled."""
    _opened(subscriber, page)

    def cabinet_url(name, **values):
        return url_for(f"admin.{VIEW_OF_PAGE[name]}", subscriber_id=subscriber.id, **values)

    return render_template(f"cabinet/{template}", cabinet_layout="admin/cabinet_view/base.html", read_only=True,
                           cabinet_url=cabinet_url, subscriber=subscriber, page=page, pages=PAGES,
                           server_time=local_now(), **context)


def _period():
    try:
        return (*cabinet.parse_period(request.args.get("from"), request.args.get("to")), "")
    except BillingError as exc:
        first, last = cabinet.parse_period(None, None)
        return first, last, translate_error(exc)


def _own(lookup, subscriber, object_id):
    try:
        return lookup(subscriber, object_id)
    except NotFound:
        abort(404)


def _chosen_agreement(subscriber, agreements):
    chosen = request.args.get("agreement")
    if chosen:
        return _own(cabinet.own_agreement, subscriber, chosen)
    return agreements[0] if agreements else None


@bp.route("/subscribers/<int:subscriber_id>/cabinet", methods=["GET"])
@requires("subscribers.view")
def cabinet_view_home(subscriber_id):
    """The cabinet's home page (seed 002, Рис. 2) for this subscriber."""
    subscriber = visible_subscriber(subscriber_id)
    return _render("home.html", subscriber, "home", agreements=cabinet.home(subscriber))


def _agreement_history(subscriber_id, page: str, title, history, total_of):
    """A history page of one of the subscriber's agreements (?agreement=,
    the first by default) for the period asked."""
    subscriber = visible_subscriber(subscriber_id)
    agreements = cabinet.own_agreements(subscriber)
    agreement = _chosen_agreement(subscriber, agreements)
    if agreement is None:
        return _render("no_agreements.html", subscriber, page, title=title)
    first, last, error = _period()
    rows = history(agreement, first, last)
    return _render(f"{page}.html", subscriber, page, agreements=agreements, agreement=agreement,
                   first=first, last=last, error=error, rows=rows, total=total_of(rows))


@bp.route("/subscribers/<int:subscriber_id>/cabinet/payments", methods=["GET"])
@requires("subscribers.view")
def cabinet_view_payments(subscriber_id):
    return _agreement_history(
        subscriber_id, "payments", _l("Payment history"), cabinet.payment_history,
        lambda rows: sum((p.amount for p in rows if p.cancelled_at is None), Decimal("0.00")))


@bp.route("/subscribers/<int:subscriber_id>/cabinet/charges", methods=["GET"])
@requires("subscribers.view")
def cabinet_view_charges(subscriber_id):
    return _agreement_history(subscriber_id, "charges", _l("Charge history"), cabinet.charge_history,
                              lambda rows: sum((-e.amount for e in rows), Decimal("0.00")))


@bp.route("/subscribers/<int:subscriber_id>/cabinet/blocks", methods=["GET"])
@requires("subscribers.view")
def cabinet_view_blocks(subscriber_id):
    subscriber = visible_subscriber(subscriber_id)
    accounts = cabinet.own_accounts(subscriber)
    account = _own(cabinet.own_account, subscriber, request.args["account"]) if request.args.get("account") \
        else None
    first, last, error = _period()
    rows = cabinet.block_history(subscriber, first, last, account)
    return _render("blocks.html", subscriber, "blocks", accounts=accounts, account=account, first=first,
                   last=last, error=error, rows=rows)


@bp.route("/subscribers/<int:subscriber_id>/cabinet/traffic", methods=["GET"])
@requires("subscribers.view")
def cabinet_view_traffic(subscriber_id):
    subscriber = visible_subscriber(subscriber_id)
    first, last, error = _period()
    rows = [(account, traffic_stats.totals(traffic_stats.account_traffic(account, first, last, "category")))
            for account in cabinet.own_accounts(subscriber)]
    return _render("traffic.html", subscriber, "traffic", rows=rows, first=first, last=last, error=error)


@bp.route("/subscribers/<int:subscriber_id>/cabinet/traffic/<int:account_id>", methods=["GET"])
@requires("subscribers.view")
def cabinet_view_traffic_account(subscriber_id, account_id):
    subscriber = visible_subscriber(subscriber_id)
    _own(cabinet.own_account, subscriber, account_id)
    group = request.args.get("group", "day")
    if group not in (*GROUP_TEXT, "port"):
        abort(404)
    remote = request.args.get("remote") or None
    if group == "port" and not remote:
        abort(404)
    error = ""
    try:
        account, first, last, rows, total = cabinet.traffic(subscriber, account_id, request.args.get("from"),
                                                            request.args.get("to"), group, remote)
    except BillingError as exc:
        error = translate_error(exc)
        account, first, last, rows, total = cabinet.traffic(subscriber, account_id, None, None, group, remote)
    return _render("traffic_account.html", subscriber, "traffic", account=account, group=group, remote=remote,
                   first=first, last=last, rows=rows, total=total, error=error, groups=GROUP_TEXT)
