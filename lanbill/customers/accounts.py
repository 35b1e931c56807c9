"""Accounts («учетная запись», seed 002): create, update, soft delete,
with the seed's login rules and the account's network identifiers."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re

from lanbill.actor import actor_of
from lanbill.billing import blocks, tariff_schedule
from lanbill.clock import now_utc, today
from lanbill.db import transaction
from lanbill.errors import N_, Conflict, NotFound, ValidationError
from lanbill.models import Account, AccountIp, Agent, Agreement, Tariff, TariffChange
from lanbill.network.radius_access import needs_service_password
from lanbill.staff import audit

_LATIN_LOGIN = re.compile(r"^[A-Za-z0-9_-]+$")
_MAC = re.compile(r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$")


def login_error(login) -> str | None:
    """The exact message for each broken login rule (seed 002), or None.

    Rules: required; at most 64 characters; no national-alphabet letters;
    no spaces or special characters (only Latin letters, digits, _ and -).
    Uniqueness within the agent is checked by `_check_login_free`."""
    if not isinstance(login, str) or not login.strip():
        return N_("Login is required.")
    if len(login) > 64:
        return N_("Login may be at most 64 characters long.")
    if any(ch.isalpha() and not ch.isascii() for ch in login):
        return N_("Login may contain only Latin letters: national alphabets are not allowed.")
    if not _LATIN_LOGIN.match(login):
        return N_("Login may not contain spaces or special characters; use Latin letters, digits, _ and -.")
    return None


def parse_networks(values) -> list[str]:
    """IP addresses or subnets → normalised CIDRs ("10.0.0.5/32").  A
    subnet with host bits set is refused rather than silently changed."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [v for v in re.split(r"[\s,;]+", values) if v]
    if not isinstance(values, (list, tuple)):
        raise ValidationError(N_("IP addresses must be a list."), fields={"ips": N_("Must be a list.")})
    networks = []
    for value in values:
        try:
            network = ipaddress.ip_network(str(value).strip(), strict=True)
        except ValueError:
            raise ValidationError(
                N_("%(value)s is not an IP address or subnet."),
                fields={"ips": N_("Not an IP address or subnet.")}, value=str(value),
            ) from None
        if str(network) not in networks:
            networks.append(str(network))
    return networks


def _check_login_free(agent_id: int, login: str, account_id: int | None) -> None:
    query = Account.select().where(
        (Account.agent == agent_id) & (Account.login == login) & (Account.deleted == False)  # noqa: E712
    )
    if account_id:
        query = query.where(Account.id != account_id)
    if query.exists():
        raise Conflict(N_("This login is already used by another account of this agent."),
                       fields={"login": N_("Already used within this agent.")})


def _check_networks_free(networks: list[str], account_id: int | None) -> None:
    if not networks:
        return
    query = (
        AccountIp.select(AccountIp.network)
        .join(Account)
        .where((AccountIp.network.in_(networks)) & (Account.deleted == False))  # noqa: E712
    )
    if account_id:
        query = query.where(Account.id != account_id)
    taken = [row.network for row in query]
    if taken:
        raise Conflict(N_("IP %(ip)s already belongs to another account."),
                       fields={"ips": N_("Already used.")}, ip=taken[0])


def _get(model, value, field, message):
    if isinstance(value, model):
        return value
    found = model.get_or_none(model.id == value) if value is not None else None
    if found is None:
        raise ValidationError(message, fields={field: message})
    return found


# DESIGN §8: no account logs in with an empty password.
SERVICE_PASSWORD_REQUIRED = N_("Set a password: the account's agent checks it, and an empty one lets anyone in.")


def create_account(data: dict, *, actor) -> Account:
    """Create an account for an agreement; the subscriber is the agreement's.

    `data`: agreement_id, agent_id, tariff_id, login, password, ips, mac,
    phone_numbers, bandwidth_kbit, max_sessions, connect_date,
    disconnect_date, keep_remote_address, keep_remote_port, description,
    options.  The connect date defaults to today (seed 002).  The service
    password may be empty only if the agent authorises by IP alone
    (radius_access.needs_service_password); editing keeps to the same rule."""
    errors = {}
    agreement = agent = tariff = None
    try:
        agreement = _get(Agreement, data.get("agreement_id"), "agreement_id", N_("No such agreement."))
    except ValidationError as exc:
        errors.update(exc.fields)
    try:
        agent = _get(Agent, data.get("agent_id"), "agent_id", N_("No such agent."))
    except ValidationError as exc:
        errors.update(exc.fields)
    try:
        tariff = _get(Tariff, data.get("tariff_id"), "tariff_id", N_("No such tariff."))
        if tariff.archived:
            errors["tariff_id"] = N_("The tariff is archived.")
    except ValidationError as exc:
        errors.update(exc.fields)
    login = data.get("login")
    message = login_error(login)
    if message:
        errors["login"] = message
    fields = {}
    try:
        fields = _clean_fields(data)
    except ValidationError as exc:
        errors.update(exc.fields)
    if agent is not None and "password" not in errors and not fields.get("password") \
            and needs_service_password(agent.type):
        errors["password"] = SERVICE_PASSWORD_REQUIRED
    if errors:
        raise ValidationError(N_("Check the highlighted fields."), fields=errors)
    networks = parse_networks(data.get("ips"))
    connect = fields.pop("connect_date", None) or today()
    with transaction():
        _check_login_free(agent.id, login, None)
        _check_networks_free(networks, None)
        account = Account.create(
            agent=agent, subscriber=agreement.subscriber_id, agreement=agreement, tariff=tariff,
            login=login, connect_date=connect, **fields,
        )
        for network in networks:
            AccountIp.create(account=account, network=network)
        TariffChange.create(account=account, tariff=tariff, at=now_utc(), applied_at=now_utc(),
                            actor=actor_of(actor).label)
        if account.disconnect_date and account.disconnect_date <= today():
            blocks.set_flag(account, "off", True, actor=actor, reason=N_("Disconnect date reached"))
        blocks.evaluate_agreement(agreement.id)
        audit.record(actor, "account.create", "account", account.id,
                     after={"login": login, "agent": agent.id, "tariff": tariff.id, "ips": networks})
    return Account.get_by_id(account.id)


def _clean_fields(data: dict) -> dict:
    """The plain fields of an account, checked; unknown keys are ignored."""
    out, errors = {}, {}
    if "password" in data:
        password = data["password"]
        if password is not None and not isinstance(password, str):
            errors["password"] = N_("Must be text.")
        elif password and len(password) > 128:
            errors["password"] = N_("At most 128 characters.")
        else:
            out["password"] = password or ""
    for key in ("bandwidth_kbit", "max_sessions"):
        if key in data and data[key] not in (None, ""):
            try:
                value = int(data[key])
                if isinstance(data[key], bool) or value < 0:
                    raise ValueError
                out[key] = value
            except (TypeError, ValueError):
                errors[key] = N_("A whole number, zero or more.")
    for key in ("connect_date", "disconnect_date"):
        if key in data:
            value = data[key]
            if value in (None, ""):
                if key == "disconnect_date":
                    out[key] = None
                continue
            if isinstance(value, str):
                try:
                    value = dt.date.fromisoformat(value)
                except ValueError:
                    errors[key] = N_("Not a date.")
                    continue
            out[key] = value
    if out.get("connect_date") and out.get("disconnect_date") and out["disconnect_date"] < out["connect_date"]:
        errors["disconnect_date"] = N_("Disconnect date is before the connect date.")
    if data.get("mac"):
        if not _MAC.match(str(data["mac"])):
            errors["mac"] = N_("Not a MAC address.")
        else:
            out["mac"] = str(data["mac"]).lower().replace("-", ":")
    elif "mac" in data:
        out["mac"] = ""
    for key in ("phone_numbers", "description"):
        if key in data:
            value = data[key]
            if value is not None and not isinstance(value, str):
                errors[key] = N_("Must be text.")
            else:
                out[key] = (value or "").strip()
    for key in ("keep_remote_address", "keep_remote_port"):
        if key in data:
            out[key] = bool(data[key])
    if "options" in data:
        if not isinstance(data["options"], dict):
            errors["options"] = N_("Must be an object.")
        else:
            out["options"] = data["options"]
    if errors:
        raise ValidationError(N_("Check the highlighted fields."), fields=errors)
    return out


def update_account(account: Account, data: dict, *, actor, version: int | None = None) -> Account:
    """Change an account's fields, login and IPs.  A tariff change goes
    through the tariff schedule (the change day belongs to the new tariff)."""
    if account.deleted:
        raise Conflict(N_("The account is deleted."))
    errors = {}
    if "login" in data:
        message = login_error(data["login"])
        if message:
            errors["login"] = message
    fields = {}
    try:
        fields = _clean_fields(data)
    except ValidationError as exc:
        errors.update(exc.fields)
    tariff = None
    if "tariff_id" in data and data["tariff_id"] != account.tariff_id:
        try:
            tariff = _get(Tariff, data["tariff_id"], "tariff_id", N_("No such tariff."))
            if tariff.archived:
                errors["tariff_id"] = N_("The tariff is archived.")
        except ValidationError as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationError(N_("Check the highlighted fields."), fields=errors)
    networks = parse_networks(data["ips"]) if "ips" in data else None
    with transaction():
        current = Account.get_by_id(account.id)
        if version is not None and current.version != version:
            raise Conflict(N_("Someone else changed this record meanwhile; reload and try again."))
        password = fields["password"] if "password" in fields else current.password
        if not password and needs_service_password(Agent.get_by_id(current.agent_id).type):
            raise ValidationError(N_("Check the highlighted fields."), fields={"password": SERVICE_PASSWORD_REQUIRED})
        if "login" in data:
            _check_login_free(current.agent_id, data["login"], current.id)
            fields["login"] = data["login"]
        before = {k: getattr(current, k) for k in fields if k != "password"}
        for key, value in fields.items():
            setattr(current, key, value)
        current.version += 1
        current.updated_at = now_utc()
        current.save()
        if networks is not None:
            _check_networks_free(networks, current.id)
            old_networks = [ip.network for ip in current.ips]
            if old_networks != networks:
                AccountIp.delete().where(AccountIp.account == current.id).execute()
                for network in networks:
                    AccountIp.create(account=current, network=network)
                before["ips"] = old_networks
                fields["ips"] = networks
        if tariff is not None:
            tariff_schedule.change_tariff_now(current, tariff, actor=actor)
        off = bool(current.disconnect_date and current.disconnect_date <= today())
        blocks.set_flag(current, "off", off, actor=actor,
                        reason=N_("Disconnect date reached") if off else N_("Disconnect date removed"))
        after = {k: v for k, v in fields.items() if k != "password"}
        old, new = audit.diff(before, after)
        if "password" in fields:
            new["password"] = "changed"
        audit.record(actor, "account.update", "account", current.id, before=old, after=new)
    return Account.get_by_id(account.id)


def delete_account(account: Account, *, actor) -> Account:
    """Mark deleted (seed 002): history and statistics stay visible."""
    with transaction():
        current = Account.get_by_id(account.id)
        if current.deleted:
            return current
        current.deleted = True
        current.deleted_at = now_utc()
        current.updated_at = now_utc()
        current.save()
        audit.record(actor, "account.delete", "account", current.id, before={"login": current.login})
    return current


def get_account(account_id) -> Account:
    found = Account.get_or_none(Account.id == account_id)
    if found is None:
        raise NotFound(N_("Account not found."))
    return found
