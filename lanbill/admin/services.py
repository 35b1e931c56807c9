"""Services (USBox, DESIGN §3): the catalogue screens, attaching and ending
services on the account page, and the CSV import of rendered one-off services."""

from __future__ import annotations

import csv
import io

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from peewee import JOIN, fn

from lanbill.admin import bp
from lanbill.admin.common import apply_errors, current_actor, requires, translate_error_in_full, visible_account
from lanbill.admin.forms import (
    SERVICE_KIND_CHOICES,
    SERVICE_SCHEME_CHOICES,
    AttachServiceForm,
    EndServiceForm,
    ImportMappingForm,
    ImportUploadForm,
    ServiceForm,
)
from lanbill.admin.tables import Column, Table
from lanbill.admin.tariffs import currency_choices
from lanbill.billing import services
from lanbill.clock import today
from lanbill.db import is_sqlite
from lanbill.errors import BillingError
from lanbill.models import AccountService, Agreement, Currency, LedgerEntry, Service
from lanbill.money import money_str

KIND_LABELS = dict(SERVICE_KIND_CHOICES)
SCHEME_LABELS = dict(SERVICE_SCHEME_CHOICES)
MAX_UPLOAD = 5 * 1024 * 1024  # a month of rendered services fits many times over


def row_message(message) -> str:
    """A bad CSV row's reason in the UI language (billing.services.RowMessage)."""
    msgid = getattr(message, "msgid", None)
    if msgid is None:
        return str(message)
    params = getattr(message, "params", {})
    return _(msgid, **params) if params else _(msgid)


# --- the catalogue ---------------------------------------------------------------------

def _columns():
    return [
        Column("id", "№", sort=Service.id, css="num"),
        Column("name", _l("Name"), sort=Service.name),
        Column("kind", _l("Kind"), sort=Service.kind, value=lambda s: KIND_LABELS.get(s.kind, s.kind)),
        Column("scheme", _l("Charging scheme"), sort=Service.scheme,
               value=lambda s: SCHEME_LABELS.get(s.scheme, s.scheme) if s.kind == "periodic" else "—"),
        Column("price", _l("Price"), sort=Service.price, css="num", value=lambda s: money_str(s.price)),
        Column("currency", _l("Currency"), sort=Currency.code, value=lambda s: s.currency.code),
        Column("accounts", _l("Attached"), sort=fn.COUNT(AccountService.id), css="num",
               value=lambda s: s.attached_count),
        Column("archived", _l("Archived"), sort=Service.archived,
               value=lambda s: _("yes") if s.archived else _("no")),
    ]


@bp.route("/services")
@requires("tariffs.edit")
def services_list():
    show = request.args.get("show", "current")
    table = Table.from_request("services", _columns(), default_sort="name", tie_breaker=Service.id,
                               manager=current_user)
    query = (
        Service.select(Service, Currency, fn.COUNT(AccountService.id).alias("attached_count"))
        .join(Currency)
        .switch(Service)
        .join(AccountService, JOIN.LEFT_OUTER, on=(AccountService.service == Service.id))
        .group_by(Service, Currency)
    )
    if show == "archived":
        query = query.where(Service.archived == True)  # noqa: E712
    elif show != "all":
        query = query.where(Service.archived == False)  # noqa: E712
    q = (request.args.get("q") or "").strip()
    if q:
        # as on the tariffs list: SQLite's LIKE folds only ASCII
        name = fn.lb_lower(Service.name) if is_sqlite() else Service.name
        query = query.where(name.contains(q.lower()))
    page = table.page(query)
    return render_template("admin/services/list.html", t=table, page=page, show=show, q=q)


@bp.route("/services/new", methods=["GET", "POST"])
@requires("tariffs.edit")
def service_new():
    form = ServiceForm()
    currency_choices(form)
    del form.archived
    status = 200
    if form.validate_on_submit():
        try:
            service = services.create_service(form.domain_data(), actor=current_actor())
        except BillingError as exc:
            apply_errors(form, exc)
            status = exc.status
        else:
            flash(_("The service is added to the catalogue."), "success")
            return redirect(url_for("admin.service_edit", service_id=service.id))
    elif request.method == "POST":
        status = 422
    return render_template("admin/services/form.html", form=form, service=None), status


@bp.route("/services/<int:service_id>", methods=["GET", "POST"])
@requires("tariffs.edit")
def service_edit(service_id):
    service = Service.get_or_none(Service.id == service_id) or abort(404)
    in_use = services.is_service_in_use(service)
    if request.method == "GET":
        form = ServiceForm(data={"name": service.name, "kind": service.kind, "scheme": service.scheme,
                                 "price": money_str(service.price).replace(".", ","),
                                 "currency": Currency.get_by_id(service.currency_id).code,
                                 "archived": service.archived})
    else:
        form = ServiceForm()
    currency_choices(form)
    status = 200
    if form.validate_on_submit():
        try:
            services.update_service(service, form.domain_data(), actor=current_actor())
        except BillingError as exc:
            apply_errors(form, exc)
            status = exc.status
        else:
            flash(_("The service is saved."), "success")
            return redirect(url_for("admin.service_edit", service_id=service.id))
    elif request.method == "POST":
        status = 422
    return render_template("admin/services/form.html", form=form, service=service, in_use=in_use), status


# --- on the account page ---------------------------------------------------------------

def account_services_panel(account) -> dict:
    """The account page's «Services» section: attached services (newest
    first), what a one-off actually charged, and the attach form."""
    rows = list(AccountService.select(AccountService, Service, Currency)
                .join(Service).join(Currency)
                .where(AccountService.account == account.id)
                .order_by(AccountService.start_date.desc(), AccountService.id.desc()))
    keys = {services.one_off_key(r, account.agreement_id): r.id for r in rows if r.service.kind == "one_off"}
    charged = {}
    if keys:
        for entry in LedgerEntry.select().where(LedgerEntry.idempotency_key.in_(list(keys))):
            charged[keys[entry.idempotency_key]] = -entry.amount
    form = AttachServiceForm(prefix="svc", formdata=None)
    form.service_id.choices = [
        (s.id, f"{s.name} · {KIND_LABELS.get(s.kind, s.kind)} · {money_str(s.price)} {s.currency.code}")
        for s in Service.select(Service, Currency).join(Currency).where(Service.archived == False)  # noqa: E712
        .order_by(Service.name)]
    day = today()
    return {"attached_services": rows, "service_charged": charged, "attach_form": form,
            "end_service_form": EndServiceForm(prefix="end", formdata=None), "service_today": day,
            "service_kinds": KIND_LABELS}


def _services_section_url(account) -> str:
    return url_for("admin.account_edit", account_id=account.id) + "#services"


@bp.route("/accounts/<int:account_id>/services", methods=["POST"])
@requires("subscribers.edit")
def account_service_attach(account_id):
    """Attach a catalogue service (billing.services.attach_service); a
    one-off one dated today or earlier is charged at once."""
    account = visible_account(account_id)
    form = AttachServiceForm(prefix="svc")
    form.service_id.choices = [(s.id, s.name) for s in Service.select().where(Service.archived == False)]  # noqa: E712
    if not form.validate():
        flash(_("Check the highlighted fields.") + " " + " ".join(
            f"{getattr(form, name).label.text}: {' '.join(str(e) for e in errors)}"
            for name, errors in form.errors.items()), "error")
        return redirect(_services_section_url(account))
    quantity_text = (form.quantity.data or "1").strip() or "1"
    if not quantity_text.isdigit() or int(quantity_text) < 1:
        flash(_("Quantity must be a whole number, 1 or more."), "error")
        return redirect(_services_section_url(account))
    try:
        attached = services.attach_service(
            account, form.service_id.data, actor=current_actor(), start_date=(form.start_date.data or "").strip(),
            end_date=(form.end_date.data or "").strip(), quantity=int(quantity_text),
            comment=form.comment.data or "", amount=(form.amount.data or "").strip() or None)
    except BillingError as exc:
        flash(translate_error_in_full(exc), "error")
    else:
        service = Service.get_by_id(attached.service_id)
        flash(_("The service «%(name)s» is attached.", name=service.name), "success")
    return redirect(_services_section_url(account))


@bp.route("/accounts/<int:account_id>/services/<int:attached_id>/end", methods=["POST"])
@requires("subscribers.edit")
def account_service_end(account_id, attached_id):
    """End an attached service: its last day is the date given, today by default."""
    account = visible_account(account_id)
    attached = AccountService.get_or_none((AccountService.id == attached_id)
                                          & (AccountService.account == account.id)) or abort(404)
    form = EndServiceForm(prefix="end")
    try:
        services.end_service(attached, (form.end_date.data or "").strip() or None, actor=current_actor())
    except BillingError as exc:
        flash(translate_error_in_full(exc), "error")
    else:
        flash(_("The service is ended."), "success")
    return redirect(_services_section_url(account))


# --- CSV import of rendered one-off services -------------------------------------------

# Column headers recognised without choosing them by hand (lower case).
GUESSES = {
    "login": ("login", "логин", "учетная запись", "учётная запись"),
    "account_id": ("account_id",),
    "agreement": ("agreement", "договор", "номер договора", "лицевой счет", "лицевой счёт"),
    "service": ("service", "услуга"),
    "date": ("date", "дата"),
    "quantity": ("quantity", "qty", "количество", "кол-во"),
    "amount": ("amount", "sum", "сумма"),
    "comment": ("comment", "комментарий"),
}


def _decode(raw: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1251: what spreadsheets
    in Russian save CSV as."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1251")


def _headers(text: str) -> list[str]:
    first = next(csv.reader(io.StringIO(text), delimiter=services.csv_delimiter(text)), [])
    return [h for h in first if h.strip()]


def _mapping_form(text: str, filename: str, formdata=None) -> ImportMappingForm:
    form = ImportMappingForm(formdata=formdata)
    headers = _headers(text)
    form.set_columns(headers)
    form.service_id.choices = [(0, "—")] + [
        (s.id, f"{s.name} · {money_str(s.price)}") for s in Service.select().where(
            (Service.kind == "one_off") & (Service.archived == False)).order_by(Service.name)]  # noqa: E712
    if formdata is None:
        form.csv_text.data, form.filename.data = text, filename
        lowered = {h.strip().lower(): h for h in headers}
        for name, guesses in GUESSES.items():
            found = next((lowered[g] for g in guesses if g in lowered), "")
            getattr(form, name).data = found
    return form


@bp.route("/services/import", methods=["GET", "POST"])
@requires("payments.create")
def services_import():
    """Step 1: upload the file; step 2: map its columns, dry run (every
    row checked, nothing saved), then import (all rows or none)."""
    upload = ImportUploadForm()
    if request.method == "GET":
        return render_template("admin/services/import.html", upload=upload, form=None, report=None)
    if "csv_text" not in request.form:
        raw = request.files.get("file")
        data = raw.read(MAX_UPLOAD + 1) if raw else b""
        problem = None
        if not data.strip():
            problem = _("Choose a CSV file.")
        elif len(data) > MAX_UPLOAD:
            problem = _("The file is larger than %(size)s MB.", size=MAX_UPLOAD // (1024 * 1024))
        else:
            text = _decode(data)
            if not _headers(text):
                problem = _("The file has no header row.")
        if problem:
            upload.file.errors = [problem]
            return render_template("admin/services/import.html", upload=upload, form=None, report=None), 422
        form = _mapping_form(text, raw.filename or "")
        return render_template("admin/services/import.html", upload=upload, form=form, report=None)
    form = _mapping_form(request.form.get("csv_text", ""), request.form.get("filename", ""), request.form)
    if not form.validate():
        return render_template("admin/services/import.html", upload=upload, form=form, report=None), 422
    dry_run = request.form.get("action") != "import"
    try:
        report = services.import_one_offs(form.csv_text.data or "", form.mapping(), actor=current_actor(),
                                          dry_run=dry_run, service=form.service_id.data or None)
    except BillingError as exc:
        apply_errors(form, exc)
        return render_template("admin/services/import.html", upload=upload, form=form, report=None), exc.status
    if not dry_run and report.ok:
        # PRG: reloading the result page must not book the file a second time.
        flash(_("Imported: %(count)s one-off services charged.", count=len(report.created)), "success")
        return redirect(url_for("admin.services_import"))
    return render_template("admin/services/import.html", upload=upload, form=form, report=report,
                           results=_results(report)), 200 if dry_run else 422


def _results(report) -> list[dict]:
    """Every row of the file in order: what it would charge, or why not."""
    agreements = {a.id: a for a in Agreement.select().where(
        Agreement.id.in_([r.account.agreement_id for r in report.checked] or [0]))}
    currencies = {c.id: c for c in Currency.select()}
    rows = [{"line": r.line, "ok": True, "login": r.account.login, "agreement": agreements[r.account.agreement_id],
             "service": r.service.name, "date": r.date, "quantity": r.quantity, "amount": r.total,
             "currency": currencies[r.service.currency_id], "comment": r.comment} for r in report.checked]
    rows += [{"line": line, "ok": False, "message": row_message(message)} for line, message in report.errors]
    return sorted(rows, key=lambda row: row["line"])
