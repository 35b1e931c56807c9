"""Staff settings of the notices kept in the database: how many days ahead
each group is warned that its money runs out (GroupNotifyRule)."""

from __future__ import annotations

from lanbill.db import transaction
from lanbill.errors import N_, NotFound, ValidationError
from lanbill.models import Group
from lanbill.models.notify import GroupNotifyRule
from lanbill.staff import audit

MAX_DAYS = 31


def group_days() -> dict[int, int]:
    return {r.group_id: r.low_balance_days for r in GroupNotifyRule.select()}


def set_group_days(group_id: int, days, *, actor) -> int | None:
    """Warn a group's subscribers `days` days ahead (0: never; empty: the
    default NOTIFY_LOW_BALANCE_DAYS).  A subscriber in several groups with
    a rule is warned by the largest.  0…31 days."""
    if Group.get_or_none(Group.id == group_id) is None:
        raise NotFound(N_("Group not found."))
    text = str(days if days is not None else "").strip()
    value = None
    if text:
        if not text.isdigit() or int(text) > MAX_DAYS:
            raise ValidationError(N_("Enter a number of days from 0 to 31, or leave it empty."),
                                  fields={"days": N_("From 0 to 31.")})
        value = int(text)
    with transaction():
        GroupNotifyRule.delete().where(GroupNotifyRule.group == group_id).execute()
        if value is not None:
            GroupNotifyRule.create(group=group_id, low_balance_days=value)
        audit.record(actor, "notify.group_days", "group", group_id, after={"low_balance_days": value})
    return value
