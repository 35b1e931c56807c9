"""The manager's group scope and a report's filters and breakdown applied
to aggregate cells (lanbill.reports.totals) in Python: cells are few, so
each figure is kept or split by looking at its cell.

Rules, the same as the SQL ones in common.agreement_conditions and
breakdown.Breakdown: a cell is visible when the role sees every group
or the subscriber is in one of the role's groups; a group filter keeps
the cells whose subscriber is in the group, an operator filter the
cells of the operator.  By group, a cell counts under each of its
groups the manager may see other than the system group ("No group" —
None — when it has none); by tariff under its main account's tariff
(None: no account); by operator under its operator.
"""

from __future__ import annotations

from lanbill.reports.common import breakdown_groups
from lanbill.staff import access


class CellScope:
    def __init__(self, manager, group_id=None, operator_id=None, by: str = "none"):
        visible = access.visible_group_ids(manager)
        self.role_groups = None if visible is None else {gid for (gid,) in visible.tuples()}
        self.group_id = group_id
        self.operator_id = operator_id
        self.by = by
        self.groups = breakdown_groups(manager) if by == "group" else {}
        self._kept: dict = {}

    def keeps(self, cell) -> bool:
        found = self._kept.get(cell)
        if found is None:
            found = self._kept[cell] = (
                (self.role_groups is None or bool(cell.groups & self.role_groups))
                and (not self.group_id or self.group_id in cell.groups)
                and (not self.operator_id or cell.operator == self.operator_id))
        return found

    def keys(self, cell) -> list:
        """The breakdown values the cell's figures count under."""
        if self.by == "group":
            return [g for g in cell.groups if g in self.groups] or [None]
        if self.by == "tariff":
            return [cell.tariff]
        if self.by == "operator":
            return [cell.operator]
        return [None]
