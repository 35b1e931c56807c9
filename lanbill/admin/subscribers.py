"""Subscribers: the list with the seed's search, filters, advanced search
with saved rule sets and CSV; the subscriber form (seed 002 «Работа с
формой свойств объекта „Пользователь“»); groups; templates; the address
picker's look-ups.

Every query is scoped to the manager's groups (permissions.scope) and
every direct URL checks visibility (ensure_visible → 404)."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from lanbill.admin import bp
from lanbill.admin.common import (
    apply_errors,
    current_actor,
    requires,
    translate_error,
    visible_subscriber,
)
from lanbill.admin.forms import ADDRESS_KINDS, GroupAddForm, SubscriberForm
from lanbill.admin.search import RULE_FIELDS, RULE_OPS, SUBSCRIBER_CRITERIA
from lanbill.admin.tables import Column, Table, wants_csv
from lanbill.customers import addresses, cabinet, subscriber_cards, subscribers
from lanbill.customers.search import clean_rules, ensure_index, narrow_subscribers, rules_condition
from lanbill.errors import BillingError, Conflict
from lanbill.models import (
    Account,
    AccountIp,
    Address,
    Agent,
    Agreement,
    Currency,
    Group,
    Operator,
    SavedSearch,
    Subscriber,
    SubscriberGroup,
    Tariff,
)
from lanbill.models.accounts import STATES
from lanbill.staff import access, audit, preferences
from lanbill.staff.access import scope

KIND_LABELS = {"individual": _l("Individual"), "legal": _l("Legal entity")}
CATEGORY_LABELS = {"subscriber": _l("Subscriber"), "operator": _l("Operator"), "dealer": _l("Dealer")}
STATE_FILTER_LABELS = {
    "active": _l("Active"),
    "balance": _l("Blocked by balance"),
    "admin": _l("Blocked by staff"),
    "traffic": _l("Blocked by traffic limit"),
    "user": _l("Blocked by the subscriber"),
    "off": _l("Off"),
}


# --- helpers shared with the other admin modules ------------------------------------

def visible_groups():
    """The groups the manager may see (all for an all-groups role)."""
    return list(access.scope_groups(Group.select().order_by(Group.is_system.desc(), Group.name), current_user))


def agreements_by_subscriber(subscriber_ids) -> dict[int, list]:
    """Agreements of many subscribers in one query (lists: no query per row)."""
    out: dict[int, list] = {}
    ids = list(subscriber_ids)
    if not ids:
        return out
    query = (Agreement.select(Agreement, Currency).join(Currency)
             .where(Agreement.subscriber.in_(ids)).order_by(Agreement.id))
    for agreement in query:
        out.setdefault(agreement.subscriber_id, []).append(agreement)
    return out


# --- the list ----------------------------------------------------------------------------

def _agreements_text(row) -> str:
    return ", ".join(a.number for a in getattr(row, "agreement_list", []))


def _balance_text(row) -> str:
    return "; ".join(f"{a.number}: {a.balance}" for a in getattr(row, "agreement_list", []))


SUBSCRIBER_COLUMNS = [
    Column("id", "ID", sort=Subscriber.id, css="num"),
    Column("name", _l("Full name / company"), sort=Subscriber.name),
    Column("kind", _l("Class"), sort=Subscriber.kind, value=lambda r: KIND_LABELS.get(r.kind, r.kind),
           css="hide-phone"),
    Column("category", _l("Category"), sort=Subscriber.category,
           value=lambda r: CATEGORY_LABELS.get(r.category, r.category), visible=False),
    Column("agreements", _l("Agreements"), value=_agreements_text),
    Column("balance", _l("Balance"), value=_balance_text, css="num"),
    Column("state", _l("State"), value=lambda r: ", ".join(str(STATE_FILTER_LABELS.get(s, s))
                                                           for s in getattr(r, "states", []))),
    Column("phone", _l("Phone"), sort=Subscriber.phone),
    Column("email", _l("E-mail"), sort=Subscriber.email, css="hide-phone"),
    Column("login", _l("Cabinet login"), sort=Subscriber.login, visible=False),
    Column("created", _l("Created"), sort=Subscriber.created_at, value=lambda r: r.created_at.date(),
           visible=False),
]


LIST_FIELDS = (Subscriber.id, Subscriber.name, Subscriber.kind, Subscriber.category, Subscriber.phone,
               Subscriber.email, Subscriber.login, Subscriber.created_at, Subscriber.is_template)


def _prefetch_agreements(rows) -> None:
    """Agreements (with balances) and the states of the live accounts of a
    page of subscribers: two queries, not one per row."""
    found = agreements_by_subscriber(r.id for r in rows)
    states: dict[int, list[str]] = {}
    if rows:
        query = (Account.select(Account.subscriber, Account.state)
                 .where(Account.subscriber.in_([r.id for r in rows]) & (Account.deleted == False))  # noqa: E712
                 .order_by(Account.id).tuples())
        for subscriber_id, state in query:
            if state not in states.setdefault(subscriber_id, []):
                states[subscriber_id].append(state)
    for row in rows:
        row.agreement_list = found.get(row.id, [])
        row.states = states.get(row.id, [])


def _rules_from_args(args) -> list[dict]:
    rules = []
    for index in range(20):
        field = args.get(f"r{index}_field")
        if field is None:
            continue
        rules.append({"field": field, "op": args.get(f"r{index}_op", "contains"),
                      "value": args.get(f"r{index}_value", "")})
    return clean_rules(rules)


def subscriber_query(args, *, manager):
    """The list's query from the query string: quick search, filters, rule
    set; scoped to the manager's groups."""
    templates = args.get("templates") == "1"
    # Only the listed columns: the passport fields are encrypted, and
    # decrypting them for every row would cost more than the query.
    query = Subscriber.select(*LIST_FIELDS).where(Subscriber.is_template == templates)
    if args.get("q", "").strip() or any(k.startswith("r") and k.endswith("_value") and v for k, v in args.items()) \
            or args.get("saved"):
        ensure_index()
    query = narrow_subscribers(query, args.get("by", "any"), args.get("q", ""))
    group = args.get("group", "")
    if group.isdigit():
        query = query.where(Subscriber.id.in_(
            SubscriberGroup.select(SubscriberGroup.subscriber).where(SubscriberGroup.group == int(group))))
    if args.get("category") in CATEGORY_LABELS:
        query = query.where(Subscriber.category == args["category"])
    if args.get("kind") in KIND_LABELS:
        query = query.where(Subscriber.kind == args["kind"])
    if args.get("state") in STATES:
        query = query.where(Subscriber.id.in_(
            Account.select(Account.subscriber).where(
                (Account.state == args["state"]) & (Account.deleted == False))))  # noqa: E712
    rules = _rules_from_args(args)
    saved = None
    if args.get("saved", "").isdigit():
        saved = SavedSearch.get_or_none((SavedSearch.id == int(args["saved"]))
                                        & (SavedSearch.manager_id == manager.id))
        if saved is not None and not rules:
            rules = clean_rules(saved.rules.get("rules") if isinstance(saved.rules, dict) else saved.rules)
    match = args.get("match", "all")
    if saved is not None and isinstance(saved.rules, dict) and "match" not in args:
        match = saved.rules.get("match", "all")
    if rules:
        condition = rules_condition(rules, match)
        if condition is not None:
            query = query.where(condition)
    return scope(query, manager), rules, saved, match


@bp.route("/subscribers")
@requires("subscribers.view")
def subscribers_list():
    table = Table.from_request("subscribers", SUBSCRIBER_COLUMNS, default_sort="name", manager=current_user,
                               tie_breaker=Subscriber.id)
    query, rules, saved, match = subscriber_query(request.args, manager=current_user)
    if wants_csv():
        return table.csv(query, "subscribers.csv", prepare=_prefetch_agreements)
    page = table.page(query)
    _prefetch_agreements(page.items)
    total = query.order_by().count()
    searches = list(SavedSearch.select().where(SavedSearch.manager_id == current_user.id).order_by(SavedSearch.name))
    return render_template(
        "admin/subscribers/list.html", table=table, page=page, criteria=SUBSCRIBER_CRITERIA, total=total,
        groups=visible_groups(), kinds=KIND_LABELS, categories=CATEGORY_LABELS, states=STATE_FILTER_LABELS,
        rules=rules, rule_rows=rules + [{"field": "", "op": "contains", "value": ""}] * 3,
        rule_fields=RULE_FIELDS, rule_ops=RULE_OPS, searches=searches, saved=saved, match=match,
        advanced=bool(rules) or request.args.get("advanced") == "1",
        templates=request.args.get("templates") == "1",
    )


@bp.route("/subscribers/searches", methods=["POST"])
@requires("subscribers.view")
def subscriber_search_save():
    """Save the advanced search's rule set under a name ("Сохранить"); a set
    without rules is deleted (seed 002)."""
    rules = _rules_from_args(request.form)
    match = request.form.get("match", "all")
    name = (request.form.get("name") or "").strip()
    saved_id = request.form.get("saved", "")
    try:
        saved = preferences.save_search(current_user, name, {"rules": rules, "match": match},
                                        search_id=int(saved_id) if saved_id.isdigit() else None)
    except BillingError as exc:
        flash(translate_error(exc), "error")
        return redirect(url_for("admin.subscribers_list", advanced=1))
    if saved is None:
        flash(_("The rule set had no rules and was deleted."), "success")
        return redirect(url_for("admin.subscribers_list", advanced=1))
    flash(_("The rule set is saved."), "success")
    return redirect(url_for("admin.subscribers_list", saved=saved.id))


@bp.route("/subscribers/searches/<int:search_id>/delete", methods=["POST"])
@requires("subscribers.view")
def subscriber_search_delete(search_id):
    preferences.delete_search(current_user, search_id)
    flash(_("The rule set is deleted."), "success")
    return redirect(url_for("admin.subscribers_list", advanced=1))


# --- the form ------------------------------------------------------------------------

def _group_choices():
    return [(g.id, g.name) for g in visible_groups()]


def _address_values(form) -> dict:
    values = {}
    for kind in ADDRESS_KINDS:
        values[kind] = {
            "building_id": (getattr(form, f"{kind}_building").data or "").strip() or None,
            "flat": getattr(form, f"{kind}_flat").data or "",
            "text": getattr(form, f"{kind}_text").data or "",
        }
    return values


def _address_infos(subscriber) -> dict:
    """Directory path of each address (for the picker's initial state)."""
    out = {}
    if subscriber is None:
        return out
    ids = {kind: getattr(subscriber, f"{field}_id") for kind, field in subscriber_cards.ADDRESS_FIELDS.items()}
    texts = addresses.address_texts([i for i in ids.values() if i])
    rows = {a.id: a for a in Address.select().where(Address.id.in_([i for i in ids.values() if i]))}
    for kind, address_id in ids.items():
        row = rows.get(address_id)
        info = {"text": texts.get(address_id, ""), "building": None}
        if row is not None and row.building_id:
            try:
                info["building"] = addresses.building_info(row.building_id)
            except BillingError:
                info["building"] = None
        out[kind] = info
    return out


def _fill_addresses(form, subscriber) -> None:
    for kind, field in subscriber_cards.ADDRESS_FIELDS.items():
        address_id = getattr(subscriber, f"{field}_id")
        address = Address.get_or_none(Address.id == address_id) if address_id else None
        getattr(form, f"{kind}_building").data = str(address.building_id or "") if address else ""
        getattr(form, f"{kind}_flat").data = address.flat if address else ""
        getattr(form, f"{kind}_text").data = address.text if address else ""


def _templates():
    return list(scope(Subscriber.select().where(Subscriber.is_template == True), current_user)  # noqa: E712
                .order_by(Subscriber.name))


def _similar(name: str, exclude_id=None):
    found = subscribers.similar_subscribers(name, exclude_id=exclude_id, limit=20)
    visible = {s.id for s in scope(Subscriber.select(Subscriber.id).where(
        Subscriber.id.in_([f.id for f in found])), current_user)} if found else set()
    return [s for s in found if s.id in visible]


@bp.route("/subscribers/new", methods=["GET", "POST"])
@requires("subscribers.edit")
def subscriber_new():
    form = SubscriberForm()
    form.groups.choices = _group_choices()
    can_personal = current_user.can("personal_data.view")
    similar = []
    template = None
    if request.method == "GET":
        template_id = request.args.get("template", "")
        if template_id.isdigit():
            template = visible_subscriber(int(template_id))
            if not template.is_template:
                abort(404)
            form.fill_from(template, with_personal=False)
            form.is_template.data = False
            form.login.data = ""
            form.groups.data = [m.group_id for m in SubscriberGroup.select().where(
                SubscriberGroup.subscriber == template.id)]
            _fill_addresses(form, template)
        if request.args.get("kind") in KIND_LABELS:
            form.kind.data = request.args["kind"]
    if request.method == "POST" and form.validate():
        kind = form.kind.data if form.kind.data in KIND_LABELS else "individual"
        data = form.domain_data(kind, with_personal=can_personal)
        data["kind"] = kind
        data["category"] = form.category.data
        action = request.form.get("action", "save")
        if action == "similar" or (not form.confirm_similar.data and not data["is_template"]):
            similar = _similar(data["name"])
            if action == "similar" or similar:
                if similar:
                    form.confirm_similar.data = "1"
                    flash(_("Similar names found: check that this is not a duplicate, then save again."),
                          "warning")
                else:
                    flash(_("No similar names found."), "success")
                return render_template("admin/subscribers/form.html", form=form, subscriber=None,
                                       similar=similar, can_personal=can_personal, templates=_templates(),
                                       address_infos={}), 200
        allowed = {g for g, _name in form.groups.choices}
        groups = [g for g in (form.groups.data or []) if g in allowed]
        try:
            subscriber = subscriber_cards.create_card(data, actor=current_actor(), groups=groups,
                                                      address_values=_address_values(form))
        except BillingError as exc:
            apply_errors(form, exc, {"inn": "inn_individual" if kind == "individual" else "inn_legal",
                                    "main_flat": "main_flat", "main_building": "main_text"})
            return render_template("admin/subscribers/form.html", form=form, subscriber=None, similar=[],
                                   can_personal=can_personal, templates=_templates(),
                                   address_infos={}), exc.status
        flash(_("The subscriber is created."), "success")
        return redirect(url_for("admin.subscriber_edit", subscriber_id=subscriber.id))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/subscribers/form.html", form=form, subscriber=None, similar=similar,
                           can_personal=can_personal, templates=_templates(),
                           address_infos=_address_infos(template)), status


def _panels(subscriber) -> dict:
    """What the subscriber page shows under the form: groups, agreements
    (with balances), accounts — a fixed number of queries."""
    groups = list(Group.select().join(SubscriberGroup).where(SubscriberGroup.subscriber == subscriber.id)
                  .order_by(Group.is_system.desc(), Group.name))
    member = {g.id for g in groups}
    add_form = GroupAddForm(prefix="g")
    add_form.group.choices = [(g.id, g.name) for g in visible_groups() if g.id not in member]
    # every group the manager may give, as checkboxes (the system group is
    # shown checked and cannot be left)
    choosable = [(g, g.id in member) for g in visible_groups() if not g.is_system]
    agreements = list(Agreement.select(Agreement, Currency, Operator).join(Currency).switch(Agreement)
                      .join(Operator).where(Agreement.subscriber == subscriber.id).order_by(Agreement.id))
    accounts = list(
        Account.select(Account, Agent, Tariff, Agreement)
        .join(Agent).switch(Account).join(Tariff).switch(Account).join(Agreement)
        .where((Account.subscriber == subscriber.id) & (Account.deleted == False))  # noqa: E712
        .order_by(Account.id)
    )
    ips: dict[int, list[str]] = {}
    if accounts:
        for row in AccountIp.select().where(AccountIp.account.in_([a.id for a in accounts])):
            ips.setdefault(row.account_id, []).append(row.network)
    return {"groups": groups, "group_form": add_form, "agreements": agreements, "accounts": accounts,
            "ips": ips, "choosable_groups": choosable}


@bp.route("/subscribers/<int:subscriber_id>", methods=["GET", "POST"])
@requires("subscribers.view")
def subscriber_edit(subscriber_id):
    subscriber = visible_subscriber(subscriber_id)
    can_edit = current_user.can("subscribers.edit")
    can_personal = current_user.can("personal_data.view")
    show_passport = request.args.get("passport") == "1" and can_personal and subscriber.kind == "individual"
    form = SubscriberForm()
    form.groups.choices = []
    if request.method == "POST":
        if not can_edit:
            abort(403)
        form.kind.data = subscriber.kind  # the class is fixed after creation
        form.category.data = subscriber.category
        if form.validate():
            data = form.domain_data(subscriber.kind, with_personal=show_passport)
            try:
                version = int(form.version.data or 0) or None
            except ValueError:
                version = None
            if request.form.get("action") == "similar":
                similar = _similar(data["name"], exclude_id=subscriber.id)
                flash(_("Similar names found: check that this is not a duplicate, then save again.")
                      if similar else _("No similar names found."), "warning" if similar else "success")
                return render_template("admin/subscribers/form.html", form=form, subscriber=subscriber,
                                       similar=similar, can_personal=can_personal, show_passport=show_passport,
                                       can_edit=can_edit, templates=[], address_infos=_address_infos(subscriber),
                                       **_panels(subscriber))
            try:
                subscriber_cards.update_card(subscriber, data, actor=current_actor(), version=version,
                                             address_values=_address_values(form))
            except BillingError as exc:
                apply_errors(form, exc, {"inn": "inn_individual" if subscriber.kind == "individual" else "inn_legal"})
                status = 409 if isinstance(exc, Conflict) and not exc.fields else exc.status
                return render_template("admin/subscribers/form.html", form=form, subscriber=subscriber,
                                       similar=[], can_personal=can_personal, show_passport=show_passport,
                                       can_edit=can_edit, templates=[], address_infos=_address_infos(subscriber),
                                       **_panels(subscriber)), status
            flash(_("The subscriber is saved."), "success")
            return redirect(url_for("admin.subscriber_edit", subscriber_id=subscriber.id))
        status = 422
    else:
        form.fill_from(subscriber, with_personal=show_passport)
        form.version.data = str(subscriber.version)
        _fill_addresses(form, subscriber)
        if show_passport:
            audit.record(current_actor(), "personal_data.view", "subscriber", subscriber.id)
        status = 200
    return render_template("admin/subscribers/form.html", form=form, subscriber=subscriber, similar=[],
                           can_personal=can_personal, show_passport=show_passport, can_edit=can_edit,
                           templates=[], address_infos=_address_infos(subscriber), **_panels(subscriber)), status


@bp.route("/subscribers/<int:subscriber_id>/cabinet-password", methods=["POST"])
@requires("subscribers.edit")
def subscriber_cabinet_password(subscriber_id):
    """Set or reset (generate) the subscriber's cabinet password (DESIGN
    §10).  A generated password is shown once, on this answer only: it is
    stored as its hash and never put into the session or a flash."""
    subscriber = visible_subscriber(subscriber_id)
    generate = request.form.get("action") == "generate"
    try:
        generated = cabinet.reset_password(subscriber, actor=current_actor(),
                                           password=None if generate else request.form.get("cabinet_password", ""))
    except BillingError as exc:
        flash(_("The cabinet password is not set: %(reason)s", reason=translate_error(exc)), "error")
        return redirect(url_for("admin.subscriber_edit", subscriber_id=subscriber.id) + "#cabinet")
    if generated:
        body = render_template("admin/subscribers/cabinet_password.html", subscriber=subscriber, password=generated)
        return body, 200, {"Cache-Control": "no-store"}
    flash(_("The cabinet password is set."), "success")
    return redirect(url_for("admin.subscriber_edit", subscriber_id=subscriber.id) + "#cabinet")


@bp.route("/subscribers/<int:subscriber_id>/delete", methods=["POST"])
@requires("subscribers.edit")
def subscriber_delete(subscriber_id):
    subscriber = visible_subscriber(subscriber_id)
    try:
        subscribers.delete_subscriber(subscriber, actor=current_actor())
    except BillingError as exc:
        flash(_("The subscriber cannot be deleted: %(reason)s", reason=translate_error(exc)), "error")
        return redirect(url_for("admin.subscriber_edit", subscriber_id=subscriber.id))
    flash(_("The subscriber is deleted."), "success")
    return redirect(url_for("admin.subscribers_list"))


@bp.route("/subscribers/<int:subscriber_id>/groups", methods=["POST"])
@requires("subscribers.edit")
def subscriber_group_add(subscriber_id):
    subscriber = visible_subscriber(subscriber_id)
    group_id = request.form.get("g-group", "")
    allowed = {g.id: g for g in visible_groups()}
    if not group_id.isdigit() or int(group_id) not in allowed:
        flash(_("Choose a group."), "error")
    else:
        subscribers.add_to_group(subscriber, allowed[int(group_id)], actor=current_actor())
        flash(_("Added to the group."), "success")
    return redirect(url_for("admin.subscriber_edit", subscriber_id=subscriber.id) + "#groups")


@bp.route("/subscribers/<int:subscriber_id>/groups/set", methods=["POST"])
@requires("subscribers.edit")
def subscriber_groups_set(subscriber_id):
    """The group checkboxes: the subscriber is in exactly the checked groups
    among those the manager may give; groups the manager cannot see are
    left as they are."""
    subscriber = visible_subscriber(subscriber_id)
    allowed = {g.id: g for g in visible_groups() if not g.is_system}
    checked = {int(v) for v in request.form.getlist("group") if v.isdigit() and int(v) in allowed}
    member = {row.group_id for row in SubscriberGroup.select(SubscriberGroup.group)
              .where(SubscriberGroup.subscriber == subscriber.id)}
    try:
        for group_id in sorted(checked - member):
            subscribers.add_to_group(subscriber, allowed[group_id], actor=current_actor())
        for group_id in sorted((member & set(allowed)) - checked):
            subscribers.remove_from_group(subscriber, allowed[group_id], actor=current_actor())
    except BillingError as exc:
        flash(translate_error(exc), "error")
    else:
        flash(_("Groups saved."), "success")
    return redirect(url_for("admin.subscriber_edit", subscriber_id=subscriber.id) + "#groups")


@bp.route("/subscribers/<int:subscriber_id>/groups/<int:group_id>/remove", methods=["POST"])
@requires("subscribers.edit")
def subscriber_group_remove(subscriber_id, group_id):
    subscriber = visible_subscriber(subscriber_id)
    group = Group.get_or_none(Group.id == group_id)
    if group is None:
        abort(404)
    try:
        subscribers.remove_from_group(subscriber, group, actor=current_actor())
    except BillingError as exc:
        flash(translate_error(exc), "error")
        return redirect(url_for("admin.subscriber_edit", subscriber_id=subscriber.id) + "#groups")
    flash(_("Removed from the group."), "success")
    return redirect(url_for("admin.subscriber_edit", subscriber_id=subscriber.id) + "#groups")


# --- the address picker (directory look-ups for the subscriber form) -----------------

@bp.route("/subscribers/address-lookup")
@requires("subscribers.edit")
def subscriber_address_lookup():
    level = request.args.get("level", "region")
    try:
        rows = addresses.children(level, request.args.get("parent"), q=request.args.get("q", ""))
    except BillingError:
        abort(404)
    return jsonify(rows)


@bp.route("/subscribers/address-add", methods=["POST"])
@requires("subscribers.edit")
def subscriber_address_add():
    """"Add a missing street/building in place" from the subscriber form."""
    level = request.form.get("level", "")
    try:
        entry = addresses.add_entry(level, request.form.get("parent"), request.form.get("name"),
                                    actor=current_actor(), postal_index=request.form.get("postal_index", ""))
    except BillingError as exc:
        messages = [translate_error(exc)] + [_(m) for m in exc.fields.values()]
        return jsonify({"error": " ".join(messages)}), exc.status
    name = getattr(entry, "number", None) or getattr(entry, "name", "")
    return jsonify({"id": entry.id, "name": name})
