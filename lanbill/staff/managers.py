"""Managers (staff): password hashing, login with slow-down, first-login
password, and the manager records staff keep."""

from __future__ import annotations

import base64
import re
import secrets

import argon2.low_level
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from lanbill.clock import now_utc
from lanbill.db import transaction
from lanbill.errors import N_, Conflict, ValidationError
from lanbill.models import Manager, Role
from lanbill.records import EMAIL, check_version, clean_text, get_record, raise_if_any
from lanbill.staff import audit, login_limits, roles

_hasher = PasswordHasher()
MIN_PASSWORD = 8


def _dummy_hash() -> str:
    """An argon2 hash with the hasher's own parameters, a random salt and a
    random tag: no password matches it, and checking one against it costs
    exactly what checking a real hash costs.  Written out, not computed, so
    it is ready at import for nothing (hashing would cost a whole argon2
    run per process)."""
    def b64(size: int) -> str:
        return base64.b64encode(secrets.token_bytes(size)).decode().rstrip("=")

    kind = _hasher.type.name.lower()
    return (f"$argon2{kind}$v={argon2.low_level.ARGON2_VERSION}$m={_hasher.memory_cost},t={_hasher.time_cost},"
            f"p={_hasher.parallelism}${b64(_hasher.salt_len)}${b64(_hasher.hash_len)}")


# What an unknown login (or one without a password) is checked against.
DUMMY_HASH = _dummy_hash()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True only for a non-empty password matching a non-empty hash."""
    if not password_hash or not password:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _hash_to_compare(manager: Manager | None) -> str:
    """The hash a login attempt is checked against.  An unknown login or a
    manager without a password is checked against a dummy hash made with
    the same parameters, so that the answer takes as long as for a real
    manager and does not tell which logins exist."""
    if manager is not None and manager.password_hash:
        return manager.password_hash
    return DUMMY_HASH


def new_one_time_password() -> str:
    """A random password that follows the password rules (letters and
    digits, 16 characters, no look-alike characters)."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(16))
        if password_problem(password) is None:
            return password


class LoginRefused(Exception):
    def __init__(self, message: str, wait_seconds: int = 0):
        super().__init__(message)
        self.message = message
        self.wait_seconds = wait_seconds


def authenticate(login: str, password: str, *, ip: str = "", free_failures: int = 5,
                 free_failures_per_address: int = 20) -> Manager:
    """Check a staff login (DESIGN §8–§9).

    An empty password never authenticates, nor does a manager without a
    password.  The attempt is counted before the password is checked
    (staff.login_limits: per login from this address, and per address);
    when it must wait, LoginRefused carries the seconds.  Unknown logins,
    inactive managers and managers without a password cost the same
    argon2 work as a real check."""
    login = login_limits.clean_login(login)
    wait, attempt = login_limits.begin_attempt(ip, login, free_per_login=free_failures,
                                               free_per_address=free_failures_per_address)
    if wait:
        raise LoginRefused(N_("Too many failed logins; try again in %(seconds)s seconds."), wait)
    manager = Manager.get_or_none(Manager.login == login) if login else None
    matches = False
    try:
        matches = _hasher.verify(_hash_to_compare(manager), password or "")
    except (VerificationError, InvalidHashError):
        matches = False
    ok = matches and bool(password) and manager is not None and bool(manager.password_hash) and manager.is_active
    if not ok:
        if manager is not None:
            with transaction():
                Manager.update(failed_logins=Manager.failed_logins + 1).where(Manager.id == manager.id).execute()
                audit.record(f"login:{login}", "login.failed", "manager", manager.id,
                             after={"ip": ip, "failures": manager.failed_logins + 1})
        raise LoginRefused(N_("Wrong login or password."))
    login_limits.forget_failures(attempt, ip, login)
    with transaction():
        Manager.update(failed_logins=0, locked_until=None, last_login_at=now_utc()).where(
            Manager.id == manager.id
        ).execute()
    return Manager.get_by_id(manager.id)


def password_problem(password: str) -> str | None:
    if not password or len(password) < MIN_PASSWORD:
        return N_("The password must be at least 8 characters long.")
    if password.isdigit() or password.isalpha():
        return N_("The password must mix letters with digits or symbols.")
    return None


def set_password(manager: Manager, password: str, *, actor) -> int:
    """The manager's own new password (the password rules above).  Ends
    the manager's other sessions: returns the new session version, which
    the session that changed the password keeps."""
    problem = password_problem(password)
    if not problem and verify_password(manager.password_hash, password):
        problem = N_("Choose a password different from the current one.")
    if problem:
        raise ValidationError(problem, fields={"password": problem})
    with transaction():
        Manager.update(password_hash=hash_password(password), one_time_password_hash="",
                       session_version=Manager.session_version + 1).where(Manager.id == manager.id).execute()
        audit.record(actor, "manager.password", "manager", manager.id)
        return Manager.get_by_id(manager.id).session_version


def end_sessions(manager: Manager) -> None:
    """Log the manager out everywhere: every session carrying the old
    session version is refused from its next request on (a logout)."""
    with transaction():
        Manager.update(session_version=Manager.session_version + 1).where(Manager.id == manager.id).execute()


def give_one_time_password(manager_id, *, actor, password: str | None = None) -> str:
    """Give a manager a one-time password and return it, to be shown once
    to whoever gives it (only its hash is stored).  Without `password` one
    is generated; a given one must follow the password rules.  The manager
    logs in with it once and must then set their own (seed 004); their
    sessions end, and a login slow-down is lifted."""
    if password is None:
        password = new_one_time_password()
    problem = password_problem(password)
    if problem:
        raise ValidationError(problem, fields={"password": problem})
    with transaction():
        manager = get_record(Manager, manager_id)
        hashed = hash_password(password)
        Manager.update(password_hash=hashed, one_time_password_hash=hashed, failed_logins=0,
                       locked_until=None, session_version=Manager.session_version + 1,
                       version=Manager.version + 1).where(Manager.id == manager.id).execute()
        audit.record(actor, "manager.password", "manager", manager.id, after={"one_time": True})
    return password


def create_manager(login: str, *, role: Role, actor, name: str = "", password: str | None = None,
                   language: str = "ru") -> Manager:
    """A new manager.  No manager is ever without a password: when none is
    given, a one-time password is generated and returned once in the
    manager's `one_time_password` attribute (not stored; only its hash
    is), for the creator to hand over.  The manager logs in with it once
    and must then choose their own (seed 004).  A given password is the
    manager's own and is not asked again."""
    login = (login or "").strip()
    if not login:
        raise ValidationError(N_("Login is required."), fields={"login": N_("Required.")})
    with transaction():
        if Manager.select().where(Manager.login == login).exists():
            raise Conflict(N_("This login is taken."), fields={"login": N_("Taken.")})
        one_time = None if password else new_one_time_password()
        hashed = hash_password(password or one_time)
        manager = Manager.create(login=login, role=role, name=name, language=language, password_hash=hashed,
                                 one_time_password_hash=hashed if one_time else "")
        audit.record(actor, "manager.create", "manager", manager.id, after={"login": login, "role": role.name})
    manager.one_time_password = one_time
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
    """A new manager from the staff screen.  Without a password a one-time
    one is generated and returned once in `one_time_password` for the
    creator to hand over (create_manager); a typed one must follow the
    password rules.  Either way it is a one-time password — the creator
    knows it — and the manager chooses their own at the first login."""
    fields = clean_manager(data, creating=True)
    roles.ensure_may_give_role(actor, fields["role"])
    with transaction():
        manager = create_manager(fields["login"], role=fields["role"], actor=actor, name=fields["name"],
                                 password=fields["password"] or None, language=fields["language"])
        Manager.update(email=fields["email"], active=fields["active"],
                       one_time_password_hash=Manager.password_hash).where(
            Manager.id == manager.id).execute()
    saved = Manager.get_by_id(manager.id)
    saved.one_time_password = manager.one_time_password
    return saved


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


def reset_password(manager_id, password: str | None, *, actor) -> str:
    """An administrator gives a manager a new password: a one-time one
    (give_one_time_password) — typed by the administrator, or generated
    when `password` is empty — that the manager must replace at the next
    login.  Returns it, to be shown once.  Only a manager the actor may
    manage (roles.ensure_may_manage: no reaching above one's own role)."""
    roles.ensure_may_manage(actor, get_record(Manager, manager_id))
    return give_one_time_password(manager_id, actor=actor, password=password or None)
