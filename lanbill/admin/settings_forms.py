"""WTForms of the settings screens (tariffs, agents, NAS, operators, groups,
currencies, addresses, staff, audit filter).  Values are checked by the
domain cleaners (money, rates, digits) or by the domain function itself;
its refusal reaches the fields through admin.common.apply_errors."""

from __future__ import annotations

import ipaddress

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional, Regexp
from wtforms.validators import ValidationError as FieldError

from lanbill.admin.forms import MultiCheckboxField
from lanbill.billing.currency import parse_rate
from lanbill.customers.addresses import clean_postal_index
from lanbill.errors import BillingError
from lanbill.models.agents import NAS_VENDORS
from lanbill.models.tariffs import SCHEMES, VOLUME_SOURCES
from lanbill.money import MoneyError, parse_money
from lanbill.records import clean_digits

REQUIRED = _l("Required.")
WHOLE = _l("A whole number, zero or more.")


class Money:
    """A money field's validator: `650,50` and `650.50` both work."""

    def __init__(self, allow_empty: bool = False):
        self.allow_empty = allow_empty

    def __call__(self, form, field):
        if self.allow_empty and not (field.data or "").strip():
            return
        try:
            parse_money(field.data or "", allow_negative=False)
        except MoneyError as exc:
            raise FieldError(_(exc.message)) from None


def _ip(form, field):
    try:
        ipaddress.ip_address((field.data or "").strip())
    except ValueError:
        raise FieldError(_("Not an IP address.")) from None


def whole(label, default=0, high=2**62):
    return IntegerField(label, default=default, validators=[
        InputRequired(message=REQUIRED), NumberRange(min=0, max=high, message=WHOLE)])


def port(label, default):
    return IntegerField(label, default=default, validators=[
        InputRequired(message=REQUIRED), NumberRange(min=1, max=65535, message=_l("A port number, 1 to 65535."))])


class VersionedForm(FlaskForm):
    version = HiddenField()

    def version_number(self):
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


# --- tariffs ----------------------------------------------------------------------

SCHEME_LABELS = {"monthly": _l("Monthly in advance"), "daily": _l("Daily"),
                 "dynamic": _l("Dynamic monthly with active block")}
SOURCE_LABELS = {"netflow": _l("NetFlow"), "radius": _l("RADIUS accounting")}


class TariffForm(VersionedForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=REQUIRED), Length(max=128)])
    description = TextAreaField(_l("Description"))
    currency = SelectField(_l("Currency"))
    scheme = SelectField(_l("Rent scheme"), choices=[(s, SCHEME_LABELS[s]) for s in SCHEMES])
    rent = StringField(_l("Rent R"), default="0", validators=[Money()])
    rent_blocked = StringField(_l("Rent while blocked by balance or traffic Rb"), default="0",
                               validators=[Money()])
    rent_admin_blocked = StringField(_l("Rent while blocked by staff Ra (empty: as Rb)"),
                                     validators=[Money(allow_empty=True)])
    rent_user_blocked = StringField(_l("Rent while blocked by the subscriber Ru (empty: as R)"),
                                    validators=[Money(allow_empty=True)])
    prepaid_mb = whole(_l("Prepaid volume, MB"))
    traffic_limit_mb = whole(_l("Traffic limit, MB (0: none)"))
    speed_in_kbit = whole(_l("Speed in, kbit/s (0: unlimited)"))
    speed_out_kbit = whole(_l("Speed out, kbit/s (0: unlimited)"))
    volume_source = SelectField(_l("Volume counted from"), choices=[(s, SOURCE_LABELS[s]) for s in VOLUME_SOURCES])
    price_per_minute = StringField(_l("Price per minute"), default="0", validators=[Money()])
    prepaid_minutes = whole(_l("Prepaid minutes"))
    framed_pool = StringField(_l("Address pool"), validators=[Length(max=64)])

    def data_for_service(self) -> dict:
        data = {k: getattr(self, k).data for k in (
            "name", "description", "currency", "scheme", "rent", "rent_blocked", "prepaid_mb",
            "traffic_limit_mb", "speed_in_kbit", "speed_out_kbit", "volume_source", "price_per_minute",
            "prepaid_minutes", "framed_pool")}
        for key in ("rent_admin_blocked", "rent_user_blocked"):
            value = (getattr(self, key).data or "").strip()
            data[key] = value or None
        return data


class CategoryForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=REQUIRED), Length(max=128)])
    networks = TextAreaField(_l("Remote networks (CIDR, comma-separated; empty: everything)"))
    price_in_mb = StringField(_l("Price per MB in"), default="0", validators=[Money()])
    price_out_mb = StringField(_l("Price per MB out"), default="0", validators=[Money()])
    prepaid = BooleanField(_l("Draws from the prepaid volume"), default=True)


# --- agents and NAS --------------------------------------------------------------------

AGENT_TYPE_LABELS = {"radius": _l("RADIUS"), "netflow": _l("NetFlow/IPFIX"), "usbox": _l("Services (USBox)")}

# Options of each agent type: (key, label, kind, default).  Keys other
# screens or agents add to `options` are kept as they are.
AGENT_OPTIONS = {
    "radius": [
        ("auth_port", _l("Authentication port"), "port", 1812),
        ("acct_port", _l("Accounting port"), "port", 1813),
        ("interim_interval", _l("Interim update interval, s"), "int", 300),
        ("blocked_policy", _l("Blocked accounts"), "choice", "reject"),
        ("redirect_pool", _l("Redirect pool for blocked accounts"), "text", ""),
        ("redirect_rate", _l("Speed in the redirect pool"), "text", "256k/256k"),
        ("framed_pool", _l("Address pool (when the account has no IP)"), "text", ""),
        ("workers", _l("Worker processes"), "workers", 1),
        ("allow_mschap1", _l("Allow MS-CHAPv1 (insecure, only for old clients)"), "flag", False),
        ("ip_pools", _l("Pools of static IP addresses for accounts (one network per line)"), "networks", ()),
    ],
    "netflow": [
        ("port", _l("Listening port"), "port", 2055),
        ("flush_seconds", _l("Write counters every, s"), "int", 60),
        ("exporters", _l("Exporter addresses besides the NAS (one per line)"), "addresses", ()),
    ],
    "usbox": [],
}
BLOCKED_POLICIES = [("reject", _l("Reject")), ("redirect", _l("Redirect to the «please pay» page"))]


def agent_form_class(agent_type: str):
    """An AgentForm with the option fields of one agent type."""

    class AgentForm(VersionedForm):
        name = StringField(_l("Name"), validators=[DataRequired(message=REQUIRED), Length(max=128)])
        listen_address = StringField(_l("Listen address"), default="0.0.0.0",
                                     validators=[DataRequired(message=REQUIRED), _ip])
        enabled = BooleanField(_l("Enabled"), default=True)

    for key, label, kind, default in AGENT_OPTIONS.get(agent_type, []):
        if kind == "port":
            field = port(label, default)
        elif kind == "int":
            field = IntegerField(label, default=default, validators=[
                InputRequired(message=REQUIRED), NumberRange(min=1, max=86400, message=_l("From 1 to 86400."))])
        elif kind == "workers":
            field = IntegerField(label, default=default, validators=[
                InputRequired(message=REQUIRED), NumberRange(min=1, max=16, message=_l("From 1 to 16."))])
        elif kind == "choice":
            field = SelectField(label, default=default, choices=BLOCKED_POLICIES)
        elif kind == "flag":
            field = BooleanField(label, default=default)
        elif kind in ("addresses", "networks"):
            field = TextAreaField(label, default="", validators=[Length(max=64 * 1024)])
        else:
            field = StringField(label, default=default, validators=[Length(max=255)])
        setattr(AgentForm, "opt_" + key, field)
    return AgentForm


def agent_option_fields(form, agent_type: str):
    return [getattr(form, "opt_" + key) for key, *_rest in AGENT_OPTIONS.get(agent_type, [])]


def agent_options(form, agent_type: str, existing: dict | None = None) -> dict:
    """The options typed into an agent form; an address list is one
    address per line (commas and spaces also separate)."""
    options = dict(existing or {})
    for key, _label, kind, _default in AGENT_OPTIONS.get(agent_type, []):
        value = getattr(form, "opt_" + key).data
        if kind in ("addresses", "networks"):
            value = (value or "").replace(",", " ").split()
        options[key] = value.strip() if isinstance(value, str) else value
    return options


def agent_option_value(kind: str, value):
    """An option's stored value as its form field shows it."""
    if kind in ("addresses", "networks"):
        return "\n".join(value or ())
    return value


VENDOR_LABELS = {"mikrotik": "MikroTik", "accel-ppp": "accel-ppp", "cisco": "Cisco", "generic": _l("Generic")}


class NasForm(VersionedForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=REQUIRED), Length(max=128)])
    ip = StringField(_l("IP address"), validators=[DataRequired(message=REQUIRED), _ip])
    secret = PasswordField(_l("RADIUS secret"), validators=[Length(max=128)])
    vendor = SelectField(_l("Vendor"), choices=[(v, VENDOR_LABELS[v]) for v in NAS_VENDORS])
    coa_port = port(_l("CoA/Disconnect port"), 3799)
    agent_id = SelectField(_l("Agent"), coerce=int)
    require_message_authenticator = BooleanField(_l("Require Message-Authenticator"), default=True)


# --- operators, groups, currencies ---------------------------------------------------------


def digits(*lengths):
    """Russian requisites, checked by the domain's own cleaner
    (records.clean_digits): empty, or digits of one of `lengths`."""

    def check(form, field):
        errors = {}
        clean_digits(field.data or "", field.name, lengths, errors)
        if errors:
            raise FieldError(_(errors[field.name]))

    return check


class OperatorForm(VersionedForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=REQUIRED), Length(max=255)])
    inn = StringField(_l("INN"), validators=[digits(10, 12)])
    kpp = StringField(_l("KPP"), validators=[digits(9)])
    ogrn = StringField(_l("OGRN"), validators=[digits(13, 15)])
    bank_name = StringField(_l("Bank"), validators=[Length(max=255)])
    bik = StringField(_l("BIK"), validators=[digits(9)])
    corr_account = StringField(_l("Correspondent account"), validators=[digits(20)])
    settlement_account = StringField(_l("Settlement account"), validators=[digits(20)])
    address = TextAreaField(_l("Address"))
    vat_percent = IntegerField(_l("VAT, %"), default=20, validators=[
        InputRequired(message=REQUIRED), NumberRange(min=0, max=100, message=_l("From 0 to 100."))])
    director = StringField(_l("Director"), validators=[Length(max=255)])
    chief_accountant = StringField(_l("Chief accountant"), validators=[Length(max=255)])
    phone = StringField(_l("Phone"), validators=[Length(max=64)])
    email = StringField(_l("E-mail"), validators=[Length(max=255)])
    # documents
    is_vat_payer = BooleanField(_l("Pays VAT (documents say «in including VAT», VAT invoices are issued)"))
    no_vat_basis = StringField(_l("Legal basis of «without VAT»"), validators=[Length(max=255)])
    director_position = StringField(_l("Director's position"), validators=[Length(max=128)])
    chief_accountant_position = StringField(_l("Chief accountant's position"), validators=[Length(max=128)])
    logo_path = StringField(_l("Logo file (in the instance folder)"), validators=[Length(max=255)])
    document_prefix = StringField(_l("Prefix of document numbers"), validators=[Length(max=16)])


class GroupForm(VersionedForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=REQUIRED), Length(max=128)])
    description = TextAreaField(_l("Description"))
    promise_allowed = BooleanField(_l("Promised payment allowed"))
    promise_max_amount = StringField(_l("Largest promised payment"), default="0", validators=[Money()])
    promise_days = IntegerField(_l("Term of a promised payment, days"), default=3, validators=[
        InputRequired(message=REQUIRED), NumberRange(min=1, max=365, message=_l("From 1 to 365."))])
    promise_interval_days = IntegerField(_l("Days between two promised payments"), default=30, validators=[
        InputRequired(message=REQUIRED), NumberRange(min=0, max=365, message=_l("From 0 to 365."))])


class CurrencyForm(VersionedForm):
    code = StringField(_l("Code"), validators=[
        DataRequired(message=REQUIRED), Regexp(r"^[A-Za-z]{3}$", message=_l("Three Latin letters, for example USD."))])
    name = StringField(_l("Name"), validators=[DataRequired(message=REQUIRED), Length(max=64)])
    symbol = StringField(_l("Symbol"), validators=[Length(max=8)])


def _rate(form, field):
    try:
        parse_rate(field.data)
    except BillingError as exc:
        raise FieldError(_(exc.fields.get("rate", exc.message))) from None


class RateForm(FlaskForm):
    date = DateField(_l("Date"), validators=[InputRequired(message=REQUIRED)])
    rate = StringField(_l("Rate"), validators=[DataRequired(message=REQUIRED), _rate])


# --- address directory -------------------------------------------------------------------


def _postal_index(form, field):
    try:
        clean_postal_index(field.data)
    except BillingError as exc:
        raise FieldError(_(exc.fields.get("postal_index", exc.message))) from None


class EntryForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=REQUIRED), Length(max=128)])
    postal_index = StringField(_l("Postal index"), validators=[_postal_index])


# --- staff -----------------------------------------------------------------------------------

PERMISSION_LABELS = {
    "subscribers.view": _l("View subscribers"),
    "subscribers.edit": _l("Edit subscribers"),
    "payments.create": _l("Take payments"),
    "payments.cancel": _l("Cancel payments"),
    "tariffs.edit": _l("Edit tariffs"),
    "settings.edit": _l("Edit settings, staff and roles"),
    "personal_data.view": _l("See personal data (passport)"),
    "reports.view": _l("View reports and the dashboard"),
    "helpdesk.use": _l("Work in the helpdesk"),
}


class RoleForm(VersionedForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=REQUIRED), Length(max=64)])
    permissions = MultiCheckboxField(_l("Permissions"))
    all_groups = BooleanField(_l("All groups"))
    group_ids = MultiCheckboxField(_l("Subscriber groups the role may see"), coerce=int)


LANGUAGE_CHOICES = [("ru", "Русский"), ("en", "English")]


class ManagerForm(VersionedForm):
    login = StringField(_l("Login"), validators=[
        DataRequired(message=REQUIRED), Length(max=64),
        Regexp(r"^[A-Za-z0-9_.@-]+$", message=_l("Latin letters, digits and _ . @ - only."))])
    name = StringField(_l("Name"), validators=[Length(max=128)])
    email = StringField(_l("E-mail"), validators=[Length(max=255)])
    role_id = SelectField(_l("Role"), coerce=int)
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    active = BooleanField(_l("Active"), default=True)
    password = PasswordField(_l("One-time password (empty: generated and shown once)"))


class PasswordResetForm(FlaskForm):
    """A new one-time password for a manager: typed, or generated when left
    empty; the manager replaces it at the next login."""

    password = PasswordField(_l("New one-time password (empty: generated and shown once)"))
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[EqualTo("password", message=_l("The passwords do not match."))])


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    manager = SelectField(_l("Manager"), coerce=str, validators=[Optional()])
    action = StringField(_l("Action"), validators=[Optional()])
    object_type = StringField(_l("Object"), validators=[Optional()])
    object_id = StringField(_l("Object number"), validators=[Optional()])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
