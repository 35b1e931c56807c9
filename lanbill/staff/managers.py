"""Managers (staff): password hashing, login with slow-down, first-login
password, and the manager records staff keep."""

from __future__ import annotations

import datetime as dt
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from lanbill.clock import now_utc
from lanbill.db import transaction
from lanbill.errors import N_, Conflict, ValidationError
from lanbill.models import Manager, Role
from lanbill.records import EMAIL, check_version, clean_text, get_record, raise_if_any
from lanbill.staff import audit, roles
from lanbill.staff.login_limits import lockout_seconds

_hasher = PasswordHasher()
MIN_PASSWORD = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class LoginRefused(Exception):
    def __init__(self, message: str, wait_seconds: int = 0):
        super().__init__(message)
        self.message = message
        self.wait_seconds = wait_seconds


def authenticate(login: str, password: str, *, ip: str = "", free_failures: int = 5) -> Manager:
    """Check a staff login.  A manager with no password yet (the first
    `admin`) gets in with an empty password and must set one at once.
    Repeated failures slow the login down (`locked_until`)."""
    manager = Manager.get_or_none(Manager.login == (login or "").strip())
    now = now_utc()
    if manager is not None and manager.locked_until and manager.locked_until > now:
        wait = int((manager.locked_until - now).total_seconds()) + 1
        raise LoginRefused(N_("Too many failed logins; try again in %(seconds)s seconds."), wait)
    ok = manager is not None and manager.is_active and (
        (manager.needs_password and not password) or verify_password(manager.password_hash, password or "")
    )
    if not ok:
        if manager is not None:
            with transaction():
                failures = manager.failed_logins + 1
                wait = lockout_seconds(failures, free_failures)
                Manager.update(
                    failed_logins=failures,
                    locked_until=now + dt.timedelta(seconds=wait) if wait else None,
                ).where(Manager.id == manager.id).execute()
                audit.record(f"login:{login}", "login.failed", "manager", manager.id,
                             after={"ip": ip, "failures": failures})
        raise LoginRefused(N_("Wrong login or password."))
    with transaction():
        Manager.update(failed_logins=0, locked_until=None, last_login_at=now).where(
            Manager.id == manager.id
        ).execute()
    return Manager.get_by_id(manager.id)


def password_problem(password: str) -> str | None:
    if not password or len(password) < MIN_PASSWORD:
        return N_("The password must be at least 8 characters long.")
    if password.isdigit() or password.isalpha():
        return N_("The password must mix letters with digits or symbols.")
    return None


def set_password(manager: Manager, password: str, *, actor) -> None:
    problem = password_problem(password)
    if problem:
        raise ValidationError(problem, fields={"password": problem})
    with transaction():
        Manager.update(password_hash=hash_password(password)).where(Manager.id == manager.id).execute()
        audit.record(actor, "manager.password", "manager", manager.id)


def create_manager(login: str, *, role: Role, actor, name: str = "", password: str | None = None,
                   language: str = "ru") -> Manager:
    login = (login or "").strip()
    if not login:
        raise ValidationError(N_("Login is required."), fields={"login": N_("Required.")})
    with transaction():
        if Manager.select().where(Manager.login == login).exists():
            raise Conflict(N_("This login is taken."), fields={"login": N_("Taken.")})
        manager = Manager.create(login=login, role=role, name=name, language=language,
                                 password_hash=hash_password(password) if password else "")
        audit.record(actor, "manager.create", "manager", manager.id, after={"login": login, "role": role.name})
    return manager


LANGUAGES = ("ru", "en")


def clean_manager(data: dict, *, creating: bool) -> dict:
    errors: dict = {}
    out = {
        "login": clean_text(data, "login", errors, required=True, limit=64),
        "name": clean_text(data, "name", errors, limit=128),
        "email": clean_text(data, "email", errors, limit=255),
        "language": data.get("language") or "ru",
        "active": bool(data.get("active", True)),
    }
    if out["login"] and not re.match(r"^[A-Za-z0-9_.@-]+$", out["login"]):
        errors["login"] = N_("Latin letters, digits and _ . @ - only.")
    if out["email"] and not EMAIL.match(out["email"]):
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
            problem = password_problem(password)
            if problem:
                errors["password"] = problem
        out["password"] = password
    raise_if_any(errors)
    return out


def add_manager(data: dict, *, actor) -> Manager:
    """A new manager.  Without a password the first login asks for one
    (seed 004); with one it must follow the password rules."""
    fields = clean_manager(data, creating=True)
    roles.ensure_may_give_role(actor, fields["role"])
    with transaction():
        manager = create_manager(fields["login"], role=fields["role"], actor=actor, name=fields["name"],
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
        current = get_record(Manager, manager_id)
        check_version(current, version)
        roles.ensure_may_manage(actor, current)
        roles.ensure_not_own_role_change(actor, current, role.id)
        if role.id != current.role_id:
            roles.ensure_may_give_role(actor, role)
        if fields["login"] != current.login and Manager.select().where(
            (Manager.login == fields["login"]) & (Manager.id != current.id)
        ).exists():
            raise Conflict(N_("This login is taken."), fields={"login": N_("Taken.")})
        before = {k: getattr(current, k) for k in ("login", "name", "email", "language", "active")}
        before["role"] = current.role_id
        Manager.update(version=Manager.version + 1, **fields).where(Manager.id == current.id).execute()
        roles.ensure_an_administrator_remains()
        old, new = audit.diff(before, fields)
        audit.record(actor, "manager.update", "manager", current.id, before=old, after=new)
    return Manager.get_by_id(current.id)


def reset_password(manager_id, password: str, *, actor) -> None:
    """Give a manager a new password (the password rules above) and lift
    a login slow-down."""
    with transaction():
        manager = get_record(Manager, manager_id)
        roles.ensure_may_manage(actor, manager)
        set_password(manager, password, actor=actor)
        Manager.update(failed_logins=0, locked_until=None, version=Manager.version + 1).where(
            Manager.id == manager.id
        ).execute()
