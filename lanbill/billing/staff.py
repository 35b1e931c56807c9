"""Staff: password hashing, login with slow-down, first-login password,
API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from lanbill.billing import audit
from lanbill.billing.clock import now_utc
from lanbill.billing.errors import N_, Conflict, ValidationError
from lanbill.db import transaction
from lanbill.models import ApiToken, Manager, Role

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


def lockout_seconds(failures: int, free_failures: int) -> int:
    """After `free_failures` wrong passwords in a row, each further attempt
    waits 2, 4, 8 … seconds (at most 15 minutes)."""
    if failures < free_failures:
        return 0
    return min(2 ** (failures - free_failures + 1), 900)


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


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(manager: Manager, *, name: str = "", actor=None) -> str:
    """Create an API token; only its hash is stored, the token is shown once."""
    token = "lb_" + secrets.token_urlsafe(32)
    with transaction():
        row = ApiToken.create(manager=manager, name=name, token_hash=token_hash(token))
        audit.record(actor or manager, "token.create", "api_token", row.id, after={"manager": manager.login})
    return token


def manager_for_token(token: str) -> Manager | None:
    row = (
        ApiToken.select(ApiToken, Manager, Role)
        .join(Manager)
        .join(Role)
        .where((ApiToken.token_hash == token_hash(token)) & (ApiToken.revoked_at.is_null()))
        .first()
    )
    if row is None or not row.manager.is_active:
        return None
    return row.manager
