"""First-run initialisation of the embedded default (seed 004 «Первые шаги»).

Idempotent: a second run finds everything in place and changes nothing.
The first manager, `admin`, gets a random one-time password that `flask
init` prints and `flask start` shows in its banner until it is used up
(DESIGN §8: no account ever logs in with an empty password).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from lanbill.customers.subscribers import SYSTEM_GROUP_NAME
from lanbill.db import transaction
from lanbill.migrations import upgrade_database
from lanbill.models import Currency, Group, Manager, Operator, Role
from lanbill.models.staff import PERMISSIONS
from lanbill.staff.managers import hash_password, new_one_time_password, verify_password

log = logging.getLogger(__name__)

FIRST_LOGIN = "admin"
# The one-time password of `admin`, kept (mode 600, beside secret_key and
# data_key) only so that `flask start` can show it after `flask init`;
# removed once `admin` has chosen a password of their own.
FIRST_PASSWORD_FILE = "admin_one_time_password"


@dataclass
class FirstRun:
    """What `initialize` did: the names of what it created, and the one-time
    password it gave `admin` (None when it gave none)."""

    created: list[str] = field(default_factory=list)
    admin_password: str | None = None

CURRENCIES = [("RUB", "₽", True), ("USD", "$", False), ("EUR", "€", False)]
# What a fresh system is seeded with, named in the installation's language
# (BABEL_DEFAULT_LOCALE): staff read and may rename these like their own.
SEED_NAMES = {
    "ru": {"operator": "Основной оператор", "group": "Все абоненты",
           "group_description": "Все абоненты; покинуть группу нельзя.",
           "RUB": "Российский рубль", "USD": "Доллар США", "EUR": "Евро"},
    "en": {"operator": "Default operator", "group": SYSTEM_GROUP_NAME,
           "group_description": "Every subscriber; cannot be left.",
           "RUB": "Russian rouble", "USD": "US dollar", "EUR": "Euro"},
}


# The default operator keeps one of these names until staff rename it (the
# first step of seed 004).
SEEDED_OPERATOR_NAMES = frozenset(names["operator"] for names in SEED_NAMES.values())


def initialize(language: str = "ru") -> FirstRun:
    """Migrate the schema, then create what a fresh system starts with:
    the default operator, currencies (RUB the default), the system group of
    all subscribers — named in `language` (SEED_NAMES) — the Administrator
    role and manager `admin` with a random one-time password (returned;
    only its hash is stored).  An `admin` left without any password (a
    system from before one-time passwords) gets one too; other managers
    without a password wait for an administrator to give them one."""
    names = SEED_NAMES.get(language, SEED_NAMES["en"])
    created = upgrade_database()
    with transaction():
        if not Operator.select().exists():
            Operator.create(name=names["operator"], is_default=True)
            created.append("operator")
        for code, symbol, default in CURRENCIES:
            _, new = Currency.get_or_create(
                code=code, defaults={"name": names[code], "symbol": symbol, "is_default": default}
            )
            if new:
                created.append(f"currency {code}")
        if not Group.select().where(Group.is_system == True).exists():  # noqa: E712
            Group.create(name=names["group"], is_system=True, description=names["group_description"])
            created.append("group")
        role, new = Role.get_or_create(
            name="Administrator", defaults={"permissions": list(PERMISSIONS), "all_groups": True}
        )
        if not Manager.select().exists():
            Manager.create(login=FIRST_LOGIN, role=role, name="Administrator")
            created.append("manager admin")
        password = None
        if Manager.select().where((Manager.login == FIRST_LOGIN) & (Manager.password_hash == "")).exists():
            password = new_one_time_password()
            hashed = hash_password(password)
            Manager.update(password_hash=hashed, one_time_password_hash=hashed,
                           session_version=Manager.session_version + 1).where(
                Manager.login == FIRST_LOGIN).execute()
            if "manager admin" not in created:
                created.append("one-time password for admin")
    return FirstRun(created, password)


def remember_first_password(instance: Path, password: str) -> None:
    """Keep `admin`'s one-time password for `flask start`'s banner."""
    path = Path(instance) / FIRST_PASSWORD_FILE
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(password + "\n")


def first_password_to_show(instance: Path) -> str | None:
    """`admin`'s one-time password while it still lets `admin` in and must
    still be changed; once it is used up the kept copy is removed."""
    path = Path(instance) / FIRST_PASSWORD_FILE
    if not path.exists():
        return None
    password = path.read_text().strip()
    admin = Manager.get_or_none(Manager.login == FIRST_LOGIN)
    if admin is not None and admin.has_one_time_password and verify_password(admin.password_hash, password):
        return password
    try:
        path.unlink()
    except OSError as exc:
        log.warning("could not remove %s: %s", path, exc)
    return None
