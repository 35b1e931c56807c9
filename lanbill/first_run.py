"""First-run initialisation of the embedded default (seed 004 «Первые шаги»).

Idempotent: a second run finds everything in place and changes nothing.
"""

from __future__ import annotations

from lanbill.customers.subscribers import SYSTEM_GROUP_NAME
from lanbill.db import transaction
from lanbill.migrations import upgrade_database
from lanbill.models import Currency, Group, Manager, Operator, Role
from lanbill.models.staff import PERMISSIONS

CURRENCIES = [
    ("RUB", "Российский рубль", "₽", True),
    ("USD", "US dollar", "$", False),
    ("EUR", "Euro", "€", False),
]


def initialize() -> list[str]:
    """Migrate the schema, then create what a fresh system starts with:
    "Default operator", currencies (RUB the default), the system group
    "All subscribers", the Administrator role and manager `admin` with no
    password.  Returns what was created."""
    created = upgrade_database()
    with transaction():
        if not Operator.select().exists():
            Operator.create(name="Default operator", is_default=True)
            created.append("operator")
        for code, name, symbol, default in CURRENCIES:
            _, new = Currency.get_or_create(
                code=code, defaults={"name": name, "symbol": symbol, "is_default": default}
            )
            if new:
                created.append(f"currency {code}")
        if not Group.select().where(Group.is_system == True).exists():  # noqa: E712
            Group.create(name=SYSTEM_GROUP_NAME, is_system=True,
                         description="Every subscriber; cannot be left.")
            created.append("group")
        role, new = Role.get_or_create(
            name="Administrator", defaults={"permissions": list(PERMISSIONS), "all_groups": True}
        )
        if not Manager.select().exists():
            Manager.create(login="admin", role=role, name="Administrator")
            created.append("manager admin")
    return created
