"""The tariff schedule of an account: changes now and planned ones.

DESIGN §6: the day of a tariff change belongs to the new tariff; planned
changes apply at 00:00 of their date unless a time is given.
"""

from __future__ import annotations

from lanbill.billing import audit
from lanbill.billing.clock import now_utc
from lanbill.db import transaction
from lanbill.models import Account, Tariff, TariffChange


def change_tariff_now(account: Account, tariff: Tariff, *, actor) -> TariffChange:
    """Switch the account to `tariff` at once and record it as applied."""
    with transaction():
        now = now_utc()
        change = TariffChange.create(
            account=account.id, tariff=tariff.id, previous_tariff=account.tariff_id,
            at=now, applied_at=now, actor=audit.actor_of(actor).label,
        )
        Account.update(tariff=tariff.id, updated_at=now).where(Account.id == account.id).execute()
        audit.record(actor, "account.tariff", "account", account.id,
                     before={"tariff": account.tariff_id}, after={"tariff": tariff.id})
    return change
