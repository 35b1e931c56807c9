"""WTForms for the subscriber, agreement, account and payment screens.

Forms only carry and display values: the rules live in lanbill/billing and
their refusals come back as BillingError, which `common.apply_errors` spreads over
the form's fields in the UI language (nothing is saved on bad input).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, Input, ListWidget

from lanbill.customers.subscribers import parse_person_date
from lanbill.models.subscribers import INDIVIDUAL_FIELDS, LEGAL_FIELDS, PERSONAL_FIELDS

REQUIRED = _l("Required.")

KIND_CHOICES = [("individual", _l("Individual")), ("legal", _l("Legal entity"))]
CATEGORY_CHOICES = [("subscriber", _l("Subscriber")), ("operator", _l("Operator")), ("dealer", _l("Dealer"))]
DELIVERY_CHOICES = [("", "—"), ("post", _l("By post")), ("courier", _l("By courier")),
                    ("email", _l("By e-mail")), ("pickup", _l("Picked up at the office"))]
PAYMENT_METHOD_CHOICES = [("cash", _l("Cash")), ("bank", _l("Bank transfer")), ("card", _l("Card")),
                          ("gateway", _l("Payment gateway"))]
ADDRESS_KINDS = ("main", "postal", "delivery")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PlacedHiddenInput(Input):
    """A hidden input that is not a HiddenInput: the form's hidden-fields
    helper (`hidden_tag`, the `forms.hidden` macro) leaves it out, and the
    page places it itself beside the widget that fills it."""

    input_type = "hidden"
    validation_attrs = ["required"]


class PlacedHiddenField(StringField):
    """A hidden value the page renders where its widget lives (the address
    picker's chosen building).  Rendered by the helper as well it would be
    posted twice, the helper's empty copy first — and that one is saved."""

    widget = PlacedHiddenInput()


class SubscriberForm(FlaskForm):
    """Seed 002 «Работа с формой свойств объекта „Пользователь“»."""

    version = HiddenField()
    kind = RadioField(_l("Class"), choices=KIND_CHOICES, default="individual")
    category = SelectField(_l("Category"), choices=CATEGORY_CHOICES, default="subscriber")
    name = StringField(_l("Full name of the responsible person / company name with its legal form"),
                       validators=[DataRequired(message=REQUIRED), Length(max=255)])
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=255)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=64)])
    fax = StringField(_l("Fax"), validators=[Optional(), Length(max=64)])
    description = TextAreaField(_l("Description"))
    delivery_method = SelectField(_l("Invoice delivery"), choices=DELIVERY_CHOICES, default="")
    login = StringField(_l("Cabinet login"), validators=[Optional(), Length(max=64)])
    cabinet_ip_only = BooleanField(_l("Cabinet only from the IP addresses of the subscriber's accounts"))
    card_activation_blocked = BooleanField(_l("Payment-card activation blocked"))
    is_template = BooleanField(_l("This is a template"))
    # individual
    passport_series = StringField(_l("Passport series"), validators=[Length(max=16)])
    passport_number = StringField(_l("Passport number"), validators=[Length(max=32)])
    passport_issued_on = StringField(_l("Issued on"), validators=[Length(max=32)])
    passport_division_code = StringField(_l("Division code"), validators=[Length(max=16)])
    passport_issued_by = StringField(_l("Issued by"), validators=[Length(max=255)])
    passport_issued_place = StringField(_l("Place of issue"), validators=[Length(max=255)])
    birth_date = StringField(_l("Date of birth"), validators=[Length(max=32)])
    inn_individual = StringField(_l("INN"), validators=[Length(max=12)])
    # legal entity
    director = StringField(_l("Director"), validators=[Length(max=255)])
    acting_basis = StringField(_l("Acting on the basis of"), validators=[Length(max=255)])
    chief_accountant = StringField(_l("Chief accountant"), validators=[Length(max=255)])
    contact_person = StringField(_l("Contact person"), validators=[Length(max=255)])
    legal_category = StringField(_l("Category of the legal entity"), validators=[Length(max=64)])
    inn_legal = StringField(_l("INN"), validators=[Length(max=12)])
    kpp = StringField(_l("KPP"), validators=[Length(max=9)])
    ogrn = StringField(_l("OGRN"), validators=[Length(max=15)])
    bank_name = StringField(_l("Bank"), validators=[Length(max=255)])
    bik = StringField(_l("BIK"), validators=[Length(max=9)])
    corr_account = StringField(_l("Correspondent account"), validators=[Length(max=20)])
    settlement_account = StringField(_l("Settlement account"), validators=[Length(max=20)])
    # addresses: a directory building + flat, or free text
    main_building = PlacedHiddenField()
    main_flat = StringField(_l("Flat / office"), validators=[Length(max=32)])
    main_text = StringField(_l("Address as text"))
    postal_building = PlacedHiddenField()
    postal_flat = StringField(_l("Flat / office"), validators=[Length(max=32)])
    postal_text = StringField(_l("Address as text"))
    delivery_building = PlacedHiddenField()
    delivery_flat = StringField(_l("Flat / office"), validators=[Length(max=32)])
    delivery_text = StringField(_l("Address as text"))
    groups = MultiCheckboxField(_l("Groups"), coerce=int, choices=[])
    confirm_similar = HiddenField()

    FIELD_MAP = {"inn": "inn_individual"}

    def domain_data(self, kind: str, *, with_personal: bool) -> dict:
        """The values for create/update_subscriber: the common fields and
        those of `kind` only (switching class keeps nothing of the other)."""
        data = {
            "name": self.name.data or "",
            "email": self.email.data or "",
            "phone": self.phone.data or "",
            "fax": self.fax.data or "",
            "description": self.description.data or "",
            "delivery_method": self.delivery_method.data or "",
            "login": (self.login.data or "").strip() or None,
            "cabinet_ip_only": bool(self.cabinet_ip_only.data),
            "card_activation_blocked": bool(self.card_activation_blocked.data),
            "is_template": bool(self.is_template.data),
        }
        names = INDIVIDUAL_FIELDS if kind == "individual" else LEGAL_FIELDS
        for name in names:
            if name == "inn":
                data["inn"] = (self.inn_individual.data if kind == "individual" else self.inn_legal.data) or ""
                continue
            if name in PERSONAL_FIELDS and not with_personal:
                continue
            data[name] = getattr(self, name).data or ""
        return data

    def fill_from(self, subscriber, *, with_personal: bool) -> None:
        for name in ("name", "email", "phone", "fax", "description", "delivery_method", "login",
                     "cabinet_ip_only", "card_activation_blocked", "is_template", "director", "acting_basis",
                     "chief_accountant", "contact_person", "legal_category", "kpp", "ogrn", "bank_name", "bik",
                     "corr_account", "settlement_account"):
            getattr(self, name).data = getattr(subscriber, name) or ("" if name != "login" else "")
        for name in PERSONAL_FIELDS:
            getattr(self, name).data = getattr(subscriber, name) if with_personal else ""
        for name in ("passport_issued_on", "birth_date"):
            # a date typed as 25.03.1990 before the date inputs shows in them
            day = parse_person_date(getattr(self, name).data or "")
            if day is not None:
                getattr(self, name).data = day.isoformat()
        self.inn_individual.data = subscriber.inn
        self.inn_legal.data = subscriber.inn
        self.kind.data = subscriber.kind
        self.category.data = subscriber.category


class GroupAddForm(FlaskForm):
    group = SelectField(_l("Add to group"), coerce=int, choices=[])


class AgreementForm(FlaskForm):
    number = StringField(_l("Number"), validators=[Length(max=64)],
                         description=_l("Leave empty to take the next number from the pattern."))
    date = StringField(_l("Date"), validators=[Optional()])
    operator = SelectField(_l("Operator"), coerce=int, choices=[])
    currency = SelectField(_l("Currency"), choices=[])
    credit_limit = StringField(_l("Credit limit"), default="0")


class CreditLimitForm(FlaskForm):
    credit_limit = StringField(_l("Credit limit"), validators=[DataRequired(message=REQUIRED)])


class AgreementNumberForm(FlaskForm):
    number = StringField(_l("Number"), validators=[DataRequired(message=REQUIRED)])


class PromiseForm(FlaskForm):
    """Seed 002 «Обещанный платеж», given by staff on the agreement page."""

    amount = StringField(_l("Promised amount"), validators=[DataRequired(message=REQUIRED)])


class AccountForm(FlaskForm):
    """Seed 002 «Учетные записи»: agent, NLAI, tariff, subscriber and
    agreement, description, connect/disconnect dates, options, bandwidth,
    sessions, login/password."""

    version = HiddenField()
    agreement_id = SelectField(_l("Agreement"), coerce=int, choices=[])
    agent_id = SelectField(_l("Agent"), coerce=int, choices=[])
    tariff_id = SelectField(_l("Tariff"), coerce=int, choices=[])
    login = StringField(_l("Login"))
    password = PasswordField(_l("Password"), description=_l("Leave empty to keep the current password."))
    ips = TextAreaField(_l("IP addresses and subnets"), description=_l("One per line or separated by commas."))
    mac = StringField(_l("MAC address"))
    phone_numbers = StringField(_l("Phone numbers"))
    description = TextAreaField(_l("Description"))
    connect_date = StringField(_l("Connect date"))
    disconnect_date = StringField(_l("Disconnect date"))
    bandwidth_kbit = StringField(_l("Bandwidth limit (kbit/s)"), default="0",
                                 description=_l("0: the tariff's speed."))
    max_sessions = StringField(_l("Simultaneous sessions"), default="1")
    keep_remote_address = BooleanField(_l("Keep the remote address (resource)"))
    keep_remote_port = BooleanField(_l("Keep the remote port (service)"))
    option_redirect = BooleanField(_l("Redirect to the \"please pay\" page when blocked"))
    option_pool = StringField(_l("Address pool"))

    def domain_data(self) -> dict:
        options = {}
        if self.option_redirect.data:
            options["redirect_when_blocked"] = True
        if (self.option_pool.data or "").strip():
            options["pool"] = self.option_pool.data.strip()
        data = {
            "tariff_id": self.tariff_id.data,
            "login": self.login.data or "",
            "ips": self.ips.data or "",
            "mac": (self.mac.data or "").strip(),
            "phone_numbers": self.phone_numbers.data or "",
            "description": self.description.data or "",
            "connect_date": (self.connect_date.data or "").strip(),
            "disconnect_date": (self.disconnect_date.data or "").strip(),
            "bandwidth_kbit": (self.bandwidth_kbit.data or "").strip() or "0",
            "max_sessions": (self.max_sessions.data or "").strip() or "1",
            "keep_remote_address": bool(self.keep_remote_address.data),
            "keep_remote_port": bool(self.keep_remote_port.data),
            "options": options,
        }
        for name in ("agreement_id", "agent_id"):  # chosen at creation only
            if getattr(self, name, None) is not None:
                data[name] = getattr(self, name).data
        if self.password.data:
            data["password"] = self.password.data
        return data


class BlockForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(message=REQUIRED), Length(max=500)])


class PlanTariffForm(FlaskForm):
    tariff_id = SelectField(_l("New tariff"), coerce=int, choices=[])
    date = StringField(_l("Date"), validators=[DataRequired(message=REQUIRED)])
    time = StringField(_l("Time"), default="00:00")


class PaymentForm(FlaskForm):
    """Seed 002 «Работа с платежами»: an amount or "set balance to", the
    pay date (back-dating allowed), comment and the required document
    number."""

    amount = StringField(_l("Payment amount"))
    target_balance = StringField(_l("Set the balance to"))
    paid_at = StringField(_l("Pay date"))
    document_number = StringField(_l("Payment document number"),
                                  validators=[DataRequired(message=REQUIRED), Length(max=64)])
    method = SelectField(_l("Method"), choices=PAYMENT_METHOD_CHOICES, default="cash")
    comment = TextAreaField(_l("Comment"))


class CancelPaymentForm(FlaskForm):
    reason = StringField(_l("Reason for cancelling"), validators=[DataRequired(message=REQUIRED)])




# --- services (USBox): the catalogue, attaching to an account, the CSV import -------

SERVICE_KIND_CHOICES = [("periodic", _l("Periodic")), ("one_off", _l("One-off"))]
SERVICE_SCHEME_CHOICES = [("monthly", _l("Monthly in advance")), ("daily", _l("Daily")),
                          ("dynamic", _l("Dynamic monthly with active block"))]


class ServiceForm(FlaskForm):
    """A catalogue entry (DESIGN §3 «Service»); the domain checks the values."""

    name = StringField(_l("Name"), validators=[DataRequired(message=REQUIRED), Length(max=128)])
    kind = SelectField(_l("Kind"), choices=SERVICE_KIND_CHOICES, default="periodic")
    scheme = SelectField(_l("Charging scheme"), choices=SERVICE_SCHEME_CHOICES, default="daily",
                         description=_l("For periodic services: charged like a tariff's rent."))
    price = StringField(_l("Price"), default="0", validators=[DataRequired(message=REQUIRED)])
    currency = SelectField(_l("Currency"), choices=[])
    archived = BooleanField(_l("Archived (not offered for attaching)"))

    def domain_data(self) -> dict:
        data = {"name": self.name.data or "", "kind": self.kind.data, "scheme": self.scheme.data,
                "price": (self.price.data or "").strip(), "currency": self.currency.data}
        if getattr(self, "archived", None) is not None:  # a new service has no archive box
            data["archived"] = bool(self.archived.data)
        return data


class AttachServiceForm(FlaskForm):
    """Attach a catalogue service to an account for start..end."""

    service_id = SelectField(_l("Service"), coerce=int, choices=[])
    start_date = StringField(_l("From"), validators=[Optional()], description=_l("Empty: today."))
    end_date = StringField(_l("To"), validators=[Optional()], description=_l("Empty: until ended."))
    quantity = StringField(_l("Quantity"), default="1")
    amount = StringField(_l("Amount (one-off)"), validators=[Optional()],
                         description=_l("Empty: price × quantity."))
    comment = StringField(_l("Comment"), validators=[Length(max=500)])


class EndServiceForm(FlaskForm):
    end_date = StringField(_l("Last day"), validators=[Optional()], description=_l("Empty: today."))


class ImportUploadForm(FlaskForm):
    """Step 1 of the one-off import: the CSV file."""

    file = FileField(_l("CSV file"))


NO_COLUMN = ("", "—")


class ImportMappingForm(FlaskForm):
    """Step 2: which column of the file holds what (see
    billing.services.import_one_offs), the file itself travelling in a
    hidden field, and the choice between a dry run and the import."""

    csv_text = HiddenField()
    filename = HiddenField()
    login = SelectField(_l("Account login"), choices=[], default="")
    account_id = SelectField(_l("Account number (id)"), choices=[], default="")
    agreement = SelectField(_l("Agreement number"), choices=[], default="")
    service = SelectField(_l("Service (name or number)"), choices=[], default="")
    service_id = SelectField(_l("Or one service for every row"), coerce=int, choices=[], default=0)
    date = SelectField(_l("Date"), choices=[], default="")
    quantity = SelectField(_l("Quantity"), choices=[], default="")
    amount = SelectField(_l("Amount"), choices=[], default="")
    comment = SelectField(_l("Comment"), choices=[], default="")

    COLUMNS = ("login", "account_id", "agreement", "service", "date", "quantity", "amount", "comment")

    def set_columns(self, headers: list[str]) -> None:
        for name in self.COLUMNS:
            getattr(self, name).choices = [NO_COLUMN] + [(h, h) for h in headers]

    def mapping(self) -> dict:
        return {name: getattr(self, name).data for name in self.COLUMNS if getattr(self, name).data}
