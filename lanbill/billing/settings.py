"""Reference settings staff keep: operators and their requisites, subscriber
groups with promised-payment settings, currencies and rates, roles and
managers, tariff traffic categories, agent/NAS edits with stale checks.

Each write runs in one transaction with an audit row.  Forms send back the
`version` they showed; a different current version means someone changed
the record meanwhile and the write is refused (no silent overwrite).
Tariffs, agents and NAS themselves live in billing.catalog, staff logins and
passwords in billing.staff: these functions reuse them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from decimal import Decimal, InvalidOperation

from lanbill.billing import audit, catalog, staff
from lanbill.billing import currency as currency_rates
from lanbill.billing.errors import N_, Conflict, NotFound, ValidationError
from lanbill.db import transaction
from lanbill.models import (
    Account,
    Agent,
    Agreement,
    Currency,
    CurrencyRate,
    Group,
    Manager,
    Nas,
    Operator,
    Role,
    RoleGroup,
    Tariff,
    TrafficCategory,
    TrafficHourly,
)
from lanbill.models.staff import PERMISSIONS
from lanbill.money import MoneyError, parse_money

STALE = N_("Someone else changed this record meanwhile; reload and try again.")
CHECK = N_("Check the highlighted fields.")
# Field messages are msgids translated by the screen, so each is a literal.
RANGE_MESSAGES = {
    (0, 100): N_("From 0 to 100."),
    (1, 365): N_("From 1 to 365."),
    (0, 365): N_("From 0 to 365."),
}
DIGIT_MESSAGES = {
    (10, 12): N_("10 or 12 digits."),
    (9,): N_("Exactly 9 digits."),
    (13, 15): N_("13 or 15 digits."),
    (20,): N_("Exactly 20 digits."),
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DIGITS = re.compile(r"^\d+$")


def _get(model, object_id):
    try:
        found = model.get_or_none(model.id == int(object_id))
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise NotFound(N_("Not found."))
    return found


def _check_version(current, version) -> None:
    if version is not None and int(current.version) != int(version):
        raise Conflict(STALE)


def _text(data: dict, key: str, errors: dict, *, required: bool = False, limit: int = 255) -> str:
    value = data.get(key)
    value = value.strip() if isinstance(value, str) else ("" if value is None else str(value).strip())
    if required and not value:
        errors[key] = N_("Required.")
    elif len(value) > limit:
        errors[key] = N_("Too long.")
    return value


def _int(data: dict, key: str, errors: dict, low: int, high: int, default: int = 0) -> int:
    value = data.get(key, default)
    if value in (None, ""):
        value = default
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(value)
    except (TypeError, ValueError):
        errors[key] = N_("A whole number.")
        return default
    if not low <= number <= high:
        errors[key] = RANGE_MESSAGES.get((low, high), N_("Out of range."))
    return number


def _digits(value: str, key: str, lengths: tuple, errors: dict) -> None:
    """Russian requisites are fixed-length digit strings (INN 10/12, KPP 9,
    OGRN 13/15, BIK 9, bank accounts 20); empty is allowed."""
    if value and (not _DIGITS.match(value) or len(value) not in lengths):
        errors[key] = DIGIT_MESSAGES[lengths]


def _raise(errors: dict) -> None:
    if errors:
        raise ValidationError(CHECK, fields=errors)


# --- operators ----------------------------------------------------------------

OPERATOR_TEXT = ("name", "inn", "kpp", "ogrn", "bank_name", "bik", "corr_account", "settlement_account",
                 "address", "director", "chief_accountant", "phone", "email")


def clean_operator(data: dict) -> dict:
    """An operator's requisites (DESIGN §3): name required; INN 10 or 12
    digits, KPP 9, OGRN 13 or 15, BIK 9, accounts 20; VAT 0–100 %."""
    errors: dict = {}
    out = {key: _text(data, key, errors, required=(key == "name"), limit=4000 if key == "address" else 255)
           for key in OPERATOR_TEXT}
    _digits(out["inn"], "inn", (10, 12), errors)
    _digits(out["kpp"], "kpp", (9,), errors)
    _digits(out["ogrn"], "ogrn", (13, 15), errors)
    _digits(out["bik"], "bik", (9,), errors)
    _digits(out["corr_account"], "corr_account", (20,), errors)
    _digits(out["settlement_account"], "settlement_account", (20,), errors)
    if out["email"] and not _EMAIL.match(out["email"]):
        errors["email"] = N_("Not an e-mail address.")
    out["vat_percent"] = _int(data, "vat_percent", errors, 0, 100, default=20)
    _raise(errors)
    return out


def create_operator(data: dict, *, actor) -> Operator:
    fields = clean_operator(data)
    with transaction():
        operator = Operator.create(**fields)
        audit.record(actor, "operator.create", "operator", operator.id, after=fields)
    return operator


def update_operator(operator_id, data: dict, *, actor, version=None) -> Operator:
    """Change requisites (seed 004: first rename "Default operator")."""
    fields = clean_operator(data)
    with transaction():
        current = _get(Operator, operator_id)
        _check_version(current, version)
        before = {k: getattr(current, k) for k in fields}
        old, new = audit.diff(before, fields)
        Operator.update(version=Operator.version + 1, **fields).where(Operator.id == current.id).execute()
        audit.record(actor, "operator.update", "operator", current.id, before=old, after=new)
    return Operator.get_by_id(current.id)


def make_default_operator(operator_id, *, actor) -> Operator:
    """The default operator is the one new agreements get."""
    with transaction():
        current = _get(Operator, operator_id)
        Operator.update(is_default=False, version=Operator.version + 1).where(
            Operator.is_default == True  # noqa: E712
        ).execute()
        Operator.update(is_default=True, version=Operator.version + 1).where(Operator.id == current.id).execute()
        audit.record(actor, "operator.default", "operator", current.id, after={"is_default": True})
    return Operator.get_by_id(current.id)


# --- subscriber groups ----------------------------------------------------------


def clean_group(data: dict) -> dict:
    """A group and its promised-payment settings (seed 002 «Обещанный
    платеж»: allowed or not, the largest amount, the term in days, the
    least number of days between two promises)."""
    errors: dict = {}
    out = {
        "name": _text(data, "name", errors, required=True, limit=128),
        "description": _text(data, "description", errors, limit=4000),
        "promise_allowed": bool(data.get("promise_allowed")),
        "promise_days": _int(data, "promise_days", errors, 1, 365, default=3),
        "promise_interval_days": _int(data, "promise_interval_days", errors, 0, 365, default=30),
    }
    try:
        out["promise_max_amount"] = parse_money(data.get("promise_max_amount") or "0", allow_negative=False)
    except MoneyError as exc:
        errors["promise_max_amount"] = exc.message
    if out["promise_allowed"] and not errors.get("promise_max_amount") and out["promise_max_amount"] <= 0:
        errors["promise_max_amount"] = N_("Give the largest amount of a promised payment.")
    _raise(errors)
    return out


def _group_name_free(name: str, exclude_id=None) -> None:
    query = Group.select().where(Group.name == name)
    if exclude_id is not None:
        query = query.where(Group.id != exclude_id)
    if query.exists():
        raise Conflict(N_("A group with this name exists."), fields={"name": N_("Taken.")})


def create_group(data: dict, *, actor) -> Group:
    fields = clean_group(data)
    with transaction():
        _group_name_free(fields["name"])
        group = Group.create(**fields)
        audit.record(actor, "group.create", "group", group.id, after=fields)
    return group


def update_group(group_id, data: dict, *, actor, version=None) -> Group:
    fields = clean_group(data)
    with transaction():
        current = _get(Group, group_id)
        _check_version(current, version)
        _group_name_free(fields["name"], current.id)
        before = {k: getattr(current, k) for k in fields}
        old, new = audit.diff(before, fields)
        Group.update(version=Group.version + 1, **fields).where(Group.id == current.id).execute()
        audit.record(actor, "group.update", "group", current.id, before=old, after=new)
    return Group.get_by_id(current.id)


def delete_group(group_id, *, actor) -> None:
    """The system group "All subscribers" cannot be deleted (seed 002: every
    subscriber is in it).  Deleting another group drops its memberships
    and its links to roles; subscribers themselves stay."""
    with transaction():
        group = _get(Group, group_id)
        if group.is_system:
            raise Conflict(N_("The system group cannot be deleted."))
        audit.record(actor, "group.delete", "group", group.id, before={"name": group.name})
        group.delete_instance(recursive=True)


# --- currencies and rates -------------------------------------------------------


def parse_rate(value) -> Decimal:
    """A positive exchange rate with at most six decimals; `92,5` works."""
    if isinstance(value, float) or isinstance(value, bool):
        raise ValidationError(CHECK, fields={"rate": N_("A positive number, for example 92,5.")})
    text = str(value if value is not None else "").strip().replace(" ", "").replace(",", ".")
    try:
        rate = Decimal(text)
    except InvalidOperation:
        rate = None
    if rate is None or not rate.is_finite() or rate <= 0 or rate > Decimal(10) ** 9:
        raise ValidationError(CHECK, fields={"rate": N_("A positive number, for example 92,5.")})
    if rate != rate.quantize(Decimal("0.000001")):
        raise ValidationError(CHECK, fields={"rate": N_("At most six decimals.")})
    return rate


def clean_currency(data: dict, *, creating: bool) -> dict:
    errors: dict = {}
    out = {
        "name": _text(data, "name", errors, required=True, limit=64),
        "symbol": _text(data, "symbol", errors, limit=8),
    }
    if creating:
        code = _text(data, "code", errors, required=True, limit=3).upper()
        if code and not re.match(r"^[A-Z]{3}$", code):
            errors["code"] = N_("Three Latin letters, for example USD.")
        out["code"] = code
    _raise(errors)
    return out


def create_currency(data: dict, *, actor) -> Currency:
    fields = clean_currency(data, creating=True)
    with transaction():
        if Currency.select().where(Currency.code == fields["code"]).exists():
            raise Conflict(N_("This currency exists."), fields={"code": N_("Taken.")})
        currency = Currency.create(**fields)
        audit.record(actor, "currency.create", "currency", currency.id, after=fields)
    return currency


def update_currency(currency_id, data: dict, *, actor, version=None) -> Currency:
    """Name and symbol only: the code is what agreements and tariffs use."""
    fields = clean_currency(data, creating=False)
    with transaction():
        current = _get(Currency, currency_id)
        _check_version(current, version)
        old, new = audit.diff({k: getattr(current, k) for k in fields}, fields)
        Currency.update(version=Currency.version + 1, **fields).where(Currency.id == current.id).execute()
        audit.record(actor, "currency.update", "currency", current.id, before=old, after=new)
    return Currency.get_by_id(current.id)


def set_rate(currency_id, day, rate, *, actor) -> CurrencyRate:
    """Set the value of one unit of a currency in the default currency on a
    date (DESIGN §4: a charge in another currency uses that day's rate).
    Setting a date again replaces its rate; the default currency has none.
    Checks the input field by field for the form, then writes through
    billing.currency.set_rate."""
    errors: dict = {}
    if isinstance(day, str):
        try:
            day = dt.date.fromisoformat(day.strip())
        except ValueError:
            day = None
    if not isinstance(day, dt.date):
        errors["date"] = N_("A date.")
    try:
        rate = parse_rate(rate)
    except ValidationError as exc:
        errors.update(exc.fields)
    _raise(errors)
    with transaction():
        currency = _get(Currency, currency_id)
        if currency.is_default:
            raise ValidationError(N_("The default currency has no rate."), fields={"rate": N_("Not needed.")})
        return currency_rates.set_rate(currency, day, rate, actor=actor)


def delete_rate(rate_id, *, actor) -> None:
    with transaction():
        row = _get(CurrencyRate, rate_id)
        audit.record(actor, "currency.rate_delete", "currency", row.currency_id,
                     before={"date": row.date.isoformat(), "rate": str(row.rate)})
        row.delete_instance()


# --- roles and managers -------------------------------------------------------------


def clean_role(data: dict) -> dict:
    errors: dict = {}
    out = {"name": _text(data, "name", errors, required=True, limit=64),
           "all_groups": bool(data.get("all_groups"))}
    permissions = data.get("permissions") or []
    if not isinstance(permissions, (list, tuple, set)) or any(p not in PERMISSIONS for p in permissions):
        errors["permissions"] = N_("Unknown permission.")
        permissions = []
    out["permissions"] = [p for p in PERMISSIONS if p in set(permissions)]
    group_ids = data.get("group_ids") or []
    try:
        group_ids = sorted({int(g) for g in group_ids})
    except (TypeError, ValueError):
        errors["group_ids"] = N_("Unknown group.")
        group_ids = []
    if group_ids and Group.select().where(Group.id.in_(group_ids)).count() != len(group_ids):
        errors["group_ids"] = N_("Unknown group.")
    if not out["all_groups"] and not group_ids and not errors.get("group_ids"):
        errors["group_ids"] = N_("Choose the groups the role may see, or tick «All groups».")
    out["group_ids"] = [] if out["all_groups"] else group_ids
    _raise(errors)
    return out


def _role_name_free(name: str, exclude_id=None) -> None:
    query = Role.select().where(Role.name == name)
    if exclude_id is not None:
        query = query.where(Role.id != exclude_id)
    if query.exists():
        raise Conflict(N_("A role with this name exists."), fields={"name": N_("Taken.")})


def _role_groups(role_id) -> list[int]:
    return sorted(r.group_id for r in RoleGroup.select(RoleGroup.group).where(RoleGroup.role == role_id))


def _ensure_an_administrator_remains() -> None:
    """Refuse a change that leaves nobody able to edit settings (roles and
    managers): the system would be locked for good."""
    roles = [r.id for r in Role.select(Role.id, Role.permissions) if r.has("settings.edit")]
    ok = bool(roles) and Manager.select().where((Manager.active == True) & Manager.role.in_(roles)).exists()  # noqa: E712
    if not ok:
        raise Conflict(N_("At least one active manager must keep the permission to edit settings."))


def create_role(data: dict, *, actor) -> Role:
    fields = clean_role(data)
    group_ids = fields.pop("group_ids")
    with transaction():
        _role_name_free(fields["name"])
        role = Role.create(**fields)
        for group_id in group_ids:
            RoleGroup.create(role=role.id, group=group_id)
        audit.record(actor, "role.create", "role", role.id, after={**fields, "groups": group_ids})
    return role


def update_role(role_id, data: dict, *, actor, version=None) -> Role:
    """Permissions and the subscriber groups the role may see (RoleGroup)."""
    fields = clean_role(data)
    group_ids = fields.pop("group_ids")
    with transaction():
        current = _get(Role, role_id)
        _check_version(current, version)
        _role_name_free(fields["name"], current.id)
        before = {k: getattr(current, k) for k in fields}
        before["groups"] = _role_groups(current.id)
        after = {**fields, "groups": group_ids}
        Role.update(version=Role.version + 1, **fields).where(Role.id == current.id).execute()
        RoleGroup.delete().where(RoleGroup.role == current.id).execute()
        for group_id in group_ids:
            RoleGroup.create(role=current.id, group=group_id)
        _ensure_an_administrator_remains()
        old, new = audit.diff(before, after)
        audit.record(actor, "role.update", "role", current.id, before=old, after=new)
    return Role.get_by_id(current.id)


def delete_role(role_id, *, actor) -> None:
    with transaction():
        role = _get(Role, role_id)
        if Manager.select().where(Manager.role == role.id).exists():
            raise Conflict(N_("The role is given to managers; give them another role first."))
        audit.record(actor, "role.delete", "role", role.id, before={"name": role.name})
        role.delete_instance(recursive=True)


LANGUAGES = ("ru", "en")


def clean_manager(data: dict, *, creating: bool) -> dict:
    errors: dict = {}
    out = {
        "login": _text(data, "login", errors, required=True, limit=64),
        "name": _text(data, "name", errors, limit=128),
        "email": _text(data, "email", errors, limit=255),
        "language": data.get("language") or "ru",
        "active": bool(data.get("active", True)),
    }
    if out["login"] and not re.match(r"^[A-Za-z0-9_.@-]+$", out["login"]):
        errors["login"] = N_("Latin letters, digits and _ . @ - only.")
    if out["email"] and not _EMAIL.match(out["email"]):
        errors["email"] = N_("Not an e-mail address.")
    if out["language"] not in LANGUAGES:
        errors["language"] = N_("Russian or English.")
    role = None
    try:
        role = Role.get_or_none(Role.id == int(data.get("role_id")))
    except (TypeError, ValueError):
        pass
    if role is None:
        errors["role_id"] = N_("Choose a role.")
    out["role"] = role
    if creating:
        password = data.get("password") or ""
        if password:
            problem = staff.password_problem(password)
            if problem:
                errors["password"] = problem
        out["password"] = password
    _raise(errors)
    return out


def create_manager(data: dict, *, actor) -> Manager:
    """A new manager.  Without a password the first login asks for one
    (seed 004); with one it must follow the password rules."""
    fields = clean_manager(data, creating=True)
    with transaction():
        manager = staff.create_manager(fields["login"], role=fields["role"], actor=actor, name=fields["name"],
                                       password=fields["password"] or None, language=fields["language"])
        Manager.update(email=fields["email"], active=fields["active"]).where(Manager.id == manager.id).execute()
    return Manager.get_by_id(manager.id)


def update_manager(manager_id, data: dict, *, actor, version=None) -> Manager:
    """Edit a manager; deactivating takes effect at their next request (the
    login loader only loads active managers) and for their API tokens."""
    fields = clean_manager(data, creating=False)
    role = fields.pop("role")
    fields["role"] = role.id
    with transaction():
        current = _get(Manager, manager_id)
        _check_version(current, version)
        if fields["login"] != current.login and Manager.select().where(
            (Manager.login == fields["login"]) & (Manager.id != current.id)
        ).exists():
            raise Conflict(N_("This login is taken."), fields={"login": N_("Taken.")})
        before = {k: getattr(current, k) for k in ("login", "name", "email", "language", "active")}
        before["role"] = current.role_id
        Manager.update(version=Manager.version + 1, **fields).where(Manager.id == current.id).execute()
        _ensure_an_administrator_remains()
        old, new = audit.diff(before, fields)
        audit.record(actor, "manager.update", "manager", current.id, before=old, after=new)
    return Manager.get_by_id(current.id)


def reset_password(manager_id, password: str, *, actor) -> None:
    """Give a manager a new password (the rules of billing.staff) and lift
    a login slow-down."""
    with transaction():
        manager = _get(Manager, manager_id)
        staff.set_password(manager, password, actor=actor)
        Manager.update(failed_logins=0, locked_until=None, version=Manager.version + 1).where(
            Manager.id == manager.id
        ).execute()


# --- agents and NAS (stale-checked wrappers over billing.catalog) ------------------


def update_agent(agent_id, data: dict, *, actor, version=None) -> Agent:
    with transaction():
        current = _get(Agent, agent_id)
        _check_version(current, version)
        if "name" in data and Agent.select().where(
            (Agent.name == str(data["name"]).strip()) & (Agent.id != current.id)
        ).exists():
            raise Conflict(N_("An agent with this name exists."), fields={"name": N_("Taken.")})
        listen = data.pop("listen_address", None)
        if listen is not None:
            listen = clean_listen_address(listen)
        agent = catalog.update_agent(current, data, actor=actor)
        if listen is not None and listen != current.listen_address:
            audit.record(actor, "agent.update", "agent", agent.id, before={"listen_address": current.listen_address},
                         after={"listen_address": listen})
        Agent.update(version=Agent.version + 1, **({"listen_address": listen} if listen else {})).where(
            Agent.id == current.id
        ).execute()
    return Agent.get_by_id(current.id)


def clean_listen_address(value) -> str:
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        raise ValidationError(CHECK, fields={"listen_address": N_("Not an IP address.")}) from None


def delete_agent(agent_id, *, actor) -> None:
    with transaction():
        agent = _get(Agent, agent_id)
        if Account.select().where(Account.agent == agent.id).exists():
            raise Conflict(N_("The agent serves accounts; disable it instead."))
        audit.record(actor, "agent.delete", "agent", agent.id, before={"name": agent.name, "type": agent.type})
        Nas.update(agent=None).where(Nas.agent == agent.id).execute()
        agent.delete_instance()


def update_nas(nas_id, data: dict, *, actor, version=None) -> Nas:
    with transaction():
        current = _get(Nas, nas_id)
        _check_version(current, version)
        if "agent_id" in data and data["agent_id"] is None:
            Nas.update(agent=None).where(Nas.id == current.id).execute()
            current = Nas.get_by_id(current.id)
        catalog.update_nas(current, data, actor=actor)
        Nas.update(version=Nas.version + 1).where(Nas.id == current.id).execute()
    return Nas.get_by_id(current.id)


def delete_nas(nas_id, *, actor) -> None:
    with transaction():
        nas = _get(Nas, nas_id)
        audit.record(actor, "nas.delete", "nas", nas.id, before={"name": nas.name, "ip": nas.ip})
        nas.delete_instance()


# --- tariffs: stale-checked update and traffic categories ------------------------------


def clean_category(data: dict) -> dict:
    """A traffic category: a name, the remote networks it matches (CIDRs
    separated by commas; empty = everything), prices per MB in and out."""
    errors: dict = {}
    out = {"name": _text(data, "name", errors, required=True, limit=128), "prepaid": bool(data.get("prepaid"))}
    networks = []
    for part in str(data.get("networks") or "").replace("\n", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            errors["networks"] = N_("Networks are written like 10.0.0.0/8, separated by commas.")
            break
    out["networks"] = ", ".join(networks)
    for key in ("price_in_mb", "price_out_mb"):
        try:
            out[key] = parse_money(data.get(key) or "0", allow_negative=False)
        except MoneyError as exc:
            errors[key] = exc.message
    _raise(errors)
    return out


def _bump_tariff(tariff_id) -> None:
    Tariff.update(version=Tariff.version + 1).where(Tariff.id == tariff_id).execute()


def create_category(tariff_id, data: dict, *, actor) -> TrafficCategory:
    fields = clean_category(data)
    with transaction():
        tariff = _get(Tariff, tariff_id)
        category = TrafficCategory.create(tariff=tariff.id, **fields)
        _bump_tariff(tariff.id)
        audit.record(actor, "tariff.category_create", "tariff", tariff.id, after={"id": category.id, **fields})
    return category


def update_category(category_id, data: dict, *, actor) -> TrafficCategory:
    fields = clean_category(data)
    with transaction():
        category = _get(TrafficCategory, category_id)
        old, new = audit.diff({k: getattr(category, k) for k in fields}, fields)
        TrafficCategory.update(**fields).where(TrafficCategory.id == category.id).execute()
        _bump_tariff(category.tariff_id)
        audit.record(actor, "tariff.category_update", "tariff", category.tariff_id,
                     before={"id": category.id, **old}, after={"id": category.id, **new})
    return TrafficCategory.get_by_id(category.id)


def delete_category(category_id, *, actor) -> None:
    """A category with counted traffic stays: statistics refer to it."""
    with transaction():
        category = _get(TrafficCategory, category_id)
        if TrafficHourly.select().where(TrafficHourly.category_id == category.id).exists():
            raise Conflict(N_("Traffic was counted in this category; it cannot be deleted."))
        audit.record(actor, "tariff.category_delete", "tariff", category.tariff_id,
                     before={"id": category.id, "name": category.name})
        category.delete_instance()
        _bump_tariff(category.tariff_id)


def tariff_in_use(tariff_id) -> bool:
    return Account.select().where((Account.tariff == tariff_id) & (Account.deleted == False)).exists()  # noqa: E712


def agreements_in_currency(currency_id) -> int:
    return Agreement.select().where(Agreement.currency == currency_id).count()
