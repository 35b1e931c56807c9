"""Import of an ISP moving in (DESIGN §14): upload a CSV/XLSX file, map its
columns, a dry run listing every row's errors, then the import — run by the
worker, its progress shown as a bar (operations/imports.py has the rules)."""

from __future__ import annotations

import json
import re
import secrets
import shutil
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import FileField, HiddenField, SelectField

from lanbill.admin import bp
from lanbill.admin.common import current_actor, requires, translate_error
from lanbill.clock import now_utc
from lanbill.errors import BillingError
from lanbill.jobs import run_import
from lanbill.models import Agent
from lanbill.operations import imports

PERMISSION = "settings.edit"
MAX_UPLOAD = 20 * 1024 * 1024  # MAX_CONTENT_LENGTH; nginx client_max_body_size 20m
TOKEN = re.compile(r"^[0-9a-f]{32}$")
FIELD_LABELS = {
    "subscriber.name": _l("Subscriber: name"),
    "subscriber.kind": _l("Subscriber: individual or legal"),
    "subscriber.email": _l("Subscriber: e-mail"),
    "subscriber.phone": _l("Subscriber: phone"),
    "subscriber.inn": _l("Subscriber: INN"),
    "subscriber.kpp": _l("Subscriber: KPP"),
    "subscriber.description": _l("Subscriber: note"),
    "agreement.number": _l("Agreement: number"),
    "agreement.date": _l("Agreement: date"),
    "account.login": _l("Account: login"),
    "account.password": _l("Account: password"),
    "account.ips": _l("Account: IP addresses"),
    "account.mac": _l("Account: MAC"),
    "account.tariff": _l("Account: tariff"),
    "account.agent": _l("Account: agent"),
    "opening_balance": _l("Opening balance"),
}
# Header names (lower case) a column is guessed from when no preset is chosen.
GUESSES = {
    "subscriber.name": ("name", "fio", "realname", "фио", "наименование", "абонент"),
    "subscriber.kind": ("kind", "вид контрагента", "тип"),
    "subscriber.email": ("email", "e-mail", "электронная почта"),
    "subscriber.phone": ("phone", "mobile", "телефон"),
    "subscriber.inn": ("inn", "инн"),
    "subscriber.kpp": ("kpp", "кпп"),
    "agreement.number": ("contract", "agreement", "договор", "номер договора", "основной договор"),
    "agreement.date": ("contract_date", "дата договора"),
    "account.login": ("login", "логин"),
    "account.password": ("password", "пароль"),
    "account.ips": ("ip", "ips", "ip-адрес"),
    "account.mac": ("mac",),
    "account.tariff": ("tariff", "тариф"),
    "opening_balance": ("balance", "cash", "баланс", "остаток"),
}


def field_id(name: str) -> str:
    return "map_" + name.replace(".", "_")


class UploadForm(FlaskForm):
    file = FileField(_l("CSV or XLSX file"))
    preset = SelectField(_l("Exported from"), choices=[], validate_choice=False)


def mapping_form(headers: list[str], formdata=None):
    """One select per field of ours (the file's columns to choose from),
    the subscriber kind and the agent for every row."""

    class MappingForm(FlaskForm):
        values = HiddenField()

    columns = [("", "—")] + [(h, h) for h in headers]
    for name in imports.FIELDS:
        if name in ("account.agent",):
            continue
        # an unknown column is refused by the import's own check, by name
        setattr(MappingForm, field_id(name), SelectField(FIELD_LABELS[name], choices=columns, validate_choice=False))
    MappingForm.default_kind = SelectField(_l("Kind when the file does not say"), choices=[
        ("individual", _l("Individual")), ("legal", _l("Legal entity"))])
    agents = [("", _l("From the file's column"))] + [
        (str(a.id), a.name) for a in Agent.select().where(Agent.enabled == True).order_by(Agent.name)]  # noqa: E712
    MappingForm.agent = SelectField(_l("Agent of the accounts"), choices=agents)
    MappingForm.agent_column = SelectField(FIELD_LABELS["account.agent"], choices=columns, validate_choice=False)
    return MappingForm(formdata=formdata)


def _folder(token: str) -> Path:
    """The run's folder, if `token` is one and the run is this manager's."""
    if not TOKEN.match(token or ""):
        abort(404)
    folder = imports.runs_folder(current_app.instance_path) / token
    if not (folder / "state.json").exists():
        abort(404)
    if imports.read_state(folder).get("manager_id") != current_user.id:
        abort(404)
    return folder


@bp.route("/imports", methods=["GET", "POST"])
@requires(PERMISSION)
def imports_upload():
    """Step 1: the file (and which billing it came from, for its mapping)."""
    form = UploadForm()
    form.preset.choices = [("", _("Another billing (map the columns by hand)"))] + [
        (key, preset["name"] or key) for key, preset in imports.presets().items()]
    if request.method == "GET":
        return render_template("admin/imports/upload.html", form=form)
    if not form.validate():
        return render_template("admin/imports/upload.html", form=form), 422
    raw = request.files.get("file")
    data = raw.read(MAX_UPLOAD + 1) if raw else b""
    filename = Path(raw.filename or "file.csv").name if raw else ""
    problem = None
    table = None
    if not data.strip():
        problem = _("Choose a CSV or XLSX file.")
    elif len(data) > MAX_UPLOAD:
        problem = _("The file is larger than %(size)s MB.", size=MAX_UPLOAD // (1024 * 1024))
    else:
        try:
            table = imports.read_table(filename, data)
        except BillingError as exc:
            problem = translate_error(exc)
    if problem:
        form.file.errors = [problem]
        return render_template("admin/imports/upload.html", form=form), 422
    token = secrets.token_hex(16)
    folder = imports.runs_folder(current_app.instance_path) / token
    folder.mkdir(parents=True)
    folder.chmod(0o700)
    (folder / "source").write_bytes(data)
    imports.write_state(folder, manager_id=current_user.id, filename=filename, headers=table.headers,
                        rows=len(table.rows), preset=form.preset.data or "", status="uploaded",
                        created_at=now_utc().isoformat(timespec="seconds"))
    return redirect(url_for("admin.imports_mapping", token=token))


def _prefill(form, headers: list[str], preset: dict | None) -> None:
    lowered = {h.strip().lower(): h for h in headers}
    for name in imports.FIELDS:
        if name == "account.agent":
            continue
        column = (preset or {}).get("columns", {}).get(name) if preset else None
        if column is None and not preset:
            column = next((lowered[g] for g in GUESSES.get(name, ()) if g in lowered), "")
        getattr(form, field_id(name)).data = column if column in headers else ""
    defaults = (preset or {}).get("defaults", {})
    form.default_kind.data = defaults.get("subscriber.kind", "individual")
    form.agent_column.data = (preset or {}).get("columns", {}).get("account.agent", "")
    form.values.data = json.dumps((preset or {}).get("values", {}), ensure_ascii=False)


def _mapping_of(form) -> dict:
    columns = {name: getattr(form, field_id(name)).data for name in imports.FIELDS
               if name != "account.agent" and getattr(form, field_id(name)).data}
    if form.agent_column.data:
        columns["account.agent"] = form.agent_column.data
    defaults = {"subscriber.kind": form.default_kind.data}
    if form.agent.data:
        defaults["account.agent"] = form.agent.data
    try:
        values = json.loads(form.values.data or "{}")
    except ValueError:
        values = {}
    return {"columns": columns, "defaults": defaults, "values": values if isinstance(values, dict) else {}}


@bp.route("/imports/<token>/mapping", methods=["GET", "POST"])
@requires(PERMISSION)
def imports_mapping(token):
    """Step 2: which column holds what; then a dry run or the import."""
    folder = _folder(token)
    if not (folder / "source").exists():  # imported: the file is gone
        return redirect(url_for("admin.imports_run", token=token))
    state = imports.read_state(folder)
    headers = state["headers"]
    form = mapping_form(headers, request.form if request.method == "POST" else None)
    if request.method == "GET":
        if (folder / "mapping.json").exists():
            saved = json.loads((folder / "mapping.json").read_text())
            _prefill(form, headers, saved)
        else:
            _prefill(form, headers, imports.presets().get(state.get("preset") or ""))
        return render_template("admin/imports/mapping.html", form=form, state=state, token=token, problem=None)
    if not form.validate():
        return render_template("admin/imports/mapping.html", form=form, state=state, token=token,
                               problem=None), 422
    mapping = _mapping_of(form)
    try:
        imports.load_mapping(mapping)
    except BillingError as exc:
        return render_template("admin/imports/mapping.html", form=form, state=state, token=token,
                               problem=translate_error(exc)), 422
    (folder / "mapping.json").write_text(json.dumps(mapping, ensure_ascii=False, indent=2))
    return _start(folder, token, dry_run=request.form.get("action") != "import")


def _start(folder: Path, token: str, *, dry_run: bool):
    imports.write_state(folder, status="queued", dry_run=dry_run, done=0, report=None, refusal=None)
    run_import(str(folder), current_actor())
    return redirect(url_for("admin.imports_run", token=token))


@bp.route("/imports/<token>/start", methods=["POST"])
@requires(PERMISSION)
def imports_start(token):
    """The import after a clean dry run, with the same file and mapping."""
    folder = _folder(token)
    if not (folder / "mapping.json").exists() or not (folder / "source").exists() \
            or imports.read_state(folder).get("status") in ("queued", "running"):
        return redirect(url_for("admin.imports_run", token=token))
    return _start(folder, token, dry_run=False)


@bp.route("/imports/<token>")
@requires(PERMISSION)
def imports_run(token):
    """The progress bar while the worker runs; the report when it is done."""
    folder = _folder(token)
    state = imports.read_state(folder)
    report = state.get("report")
    problems = []
    if report:
        for line, message, params, name in report["errors"]:
            problems.append({"line": line, "field": FIELD_LABELS.get(name, name) if name else "",
                             "message": _(message, **params) if params else _(message)})
    refusal = None
    if state.get("refusal"):
        message, params = state["refusal"]
        refusal = _(message, **params) if params else _(message)
    if state.get("status") == "done" and report and not report["dry_run"] and report["error_count"] == 0 \
            and not state.get("announced"):
        imports.write_state(folder, announced=True)
        flash(_("Imported: %(subscribers)s subscribers, %(accounts)s accounts.",
                subscribers=report["subscribers"], accounts=report["accounts"]), "success")
    return render_template("admin/imports/run.html", state=state, report=report, problems=problems,
                           refusal=refusal, token=token, has_file=(folder / "source").exists())


@bp.route("/imports/<token>/discard", methods=["POST"])
@requires(PERMISSION)
def imports_discard(token):
    """Remove the uploaded file of a run (the file holds personal data)."""
    folder = _folder(token)
    if imports.read_state(folder).get("status") not in ("queued", "running"):
        shutil.rmtree(folder, ignore_errors=True)
    return redirect(url_for("admin.imports_upload"))
