"""The breakdowns reports share: by operator, by tariff or by subscriber
group, as one SQL expression over a query joined to Agreement, and the
ledger's sums per local month in one statement.

Rules (written here once, used by every report):
- An agreement's operator is its own.
- An agreement's tariff, where one figure must belong to one tariff
  (balances), is the tariff of its main account: its live (not deleted)
  account with the lowest id, else its account with the lowest id; an
  agreement without accounts has no tariff ("—").
- A subscriber's groups are its groups other than the system group "All
  subscribers"; a subscriber in two groups is counted in both rows, and
  the total counts it once.  A subscriber in no other group is shown as
  "No group".  Only the groups the manager may see are shown.
- Months are the operator's local months; a ledger entry belongs to the
  month it was posted in (its created_at), which is what moves the
  balance: opening balance + movements = closing balance, to the kopeck.
"""

from __future__ import annotations

import operator as op
from functools import reduce

from peewee import JOIN, SQL, Case, Value, fn

from lanbill.models import Account, Agreement, LedgerEntry, Operator, SubscriberGroup, Tariff
from lanbill.models.agreements import LEDGER_KINDS
from lanbill.reports.common import breakdown_groups, where_all

BY_CHOICES = ("none", "group", "tariff", "operator")


def main_account_cte():
    """agreement_id → its main account id (see the module's rule)."""
    live_id = fn.MIN(Case(None, [(Account.deleted == False, Account.id)], None))  # noqa: E712
    return (Account.select(Account.agreement.alias("agreement_id"),
                           fn.COALESCE(live_id, fn.MIN(Account.id)).alias("account_id"))
            .group_by(Account.agreement).cte("main_account", columns=("agreement_id", "account_id")))


class Breakdown:
    """How rows are split: `by` one of BY_CHOICES.  `join(query)` adds what
    the dimension needs to a query that already joins Agreement;
    `expression` is the dimension's value (None for "none"); `labels()`
    names the values; `overlaps` is True where a row may count an
    agreement that another row counts too (groups)."""

    def __init__(self, by: str, manager):
        self.by = by
        self.manager = manager
        self.cte = None
        self.main_account = None
        self.groups = {}
        if by == "tariff":
            self.cte = main_account_cte()
            self.main_account = Account.alias("main")
            self.expression = self.main_account.tariff
        elif by == "operator":
            self.expression = Agreement.operator
        elif by == "group":
            self.groups = breakdown_groups(manager)
            self.membership = SubscriberGroup.alias("member")
            self.expression = self.membership.group
        else:
            self.expression = None
        self.overlaps = by == "group"

    def join(self, query):
        if self.by == "tariff":
            query = (query.join(self.cte, JOIN.LEFT_OUTER, on=(self.cte.c.agreement_id == Agreement.id))
                     .join(self.main_account, JOIN.LEFT_OUTER, on=(self.main_account.id == self.cte.c.account_id)))
        elif self.by == "group":
            ids = list(self.groups) or [0]
            query = query.join(self.membership, JOIN.LEFT_OUTER, on=(
                (self.membership.subscriber == Agreement.subscriber) & self.membership.group.in_(ids)))
        return query

    def finish(self, query):
        """The query with the CTE the dimension needs attached."""
        return query.with_cte(self.cte) if self.cte is not None else query

    def labels(self, keys) -> dict:
        keys = {k for k in keys if k is not None}
        if self.by == "group":
            return dict(self.groups)
        if self.by == "operator" and keys:
            return {o.id: o.name for o in Operator.select(Operator.id, Operator.name).where(Operator.id.in_(keys))}
        if self.by == "tariff" and keys:
            return {t.id: t.name for t in Tariff.select(Tariff.id, Tariff.name).where(Tariff.id.in_(keys))}
        return {}


def kinds_sql(kinds) -> SQL:
    """`kind IN ('rent', …)` with the kinds written in: they are the
    code's own constants, and SQLite compares literals several times
    faster than bound parameters over a million rows."""
    for kind in kinds:
        if kind not in LEDGER_KINDS:
            raise ValueError(kind)
    return SQL('"kind" IN ({})'.format(", ".join(f"'{k}'" for k in kinds)))


def class_sum(kinds):
    """SUM of the amounts of entries of `kinds` (0 when none)."""
    return fn.SUM(Case(None, [(kinds_sql(kinds), LedgerEntry.amount)], SQL("0")))


def mapping_cte(breakdown: Breakdown, conditions: list):
    """agreement id → breakdown key of the agreements
    `conditions` keep: built once per statement, so the ledger is joined
    to a narrow table instead of to the agreements and their groups."""
    key = breakdown.expression if breakdown.expression is not None else Value(None)
    query = breakdown.join(Agreement.select(Agreement.id.alias("aid"), key.alias("key")))
    # computed once when it carries the main-account aggregate, not once per month of the UNION
    return where_all(query, conditions).cte("dim", columns=("aid", "key"),
                                            materialized=True if breakdown.cte is not None else None)


def ledger_by_month(bounds, classes: dict, breakdown: Breakdown, conditions: list, *, after: bool = True,
                    payers_of=None, kinds=None) -> dict:
    """{(bucket, key): {class: minor units}} of the ledger entries posted
    in each month of `bounds` (bucket i for bounds[i] ≤ created_at <
    bounds[i+1]) and, with `after`, since the period's end (bucket n).
    `classes` maps a name to the kinds it sums; with `payers_of` (kinds)
    "payers" counts the distinct agreements charged (an entry of those
    kinds below zero); `kinds` limits the entries read to those kinds.
    One statement: a UNION ALL of one range scan per month, grouped by
    the breakdown only; the ledger is joined to the agreements (through
    mapping_cte) only when a breakdown or a filter needs it, so the plain
    report reads nothing but the ledger's (created_at, agreement, kind,
    amount) index."""
    expressions = {name: class_sum(kinds_of) for name, kinds_of in classes.items()}
    if payers_of:
        payer = Case(None, [(kinds_sql(payers_of) & (LedgerEntry.amount < 0), LedgerEntry.agreement)], None)
        expressions["payers"] = fn.COUNT(fn.DISTINCT(payer))
    dim = None
    if conditions or breakdown.expression is not None:
        dim = mapping_cte(breakdown, conditions)
    ranges = [(i, bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]
    if after:
        ranges.append((len(bounds) - 1, bounds[-1], None))
    parts = []
    key_expression = dim.c.key if dim is not None else Value(None)
    for i, low, high in ranges:
        query = LedgerEntry.select(Value(i).alias("bucket"), key_expression.alias("key"),
                                   *[e.alias(n) for n, e in expressions.items()])
        if dim is not None:
            query = query.join(dim, on=(dim.c.aid == LedgerEntry.agreement))
        query = query.where(LedgerEntry.created_at >= low)
        if high is not None:
            query = query.where(LedgerEntry.created_at < high)
        if kinds is not None:
            query = query.where(kinds_sql(kinds))
        if dim is not None:  # the key is NULL throughout without a breakdown: one group
            query = query.group_by(dim.c.key)
        parts.append(query)
    compound = reduce(op.add, parts)
    if dim is not None:
        compound = compound.with_cte(*([breakdown.cte] if breakdown.cte is not None else []), dim)
    names = list(expressions)
    out = {}
    for row in compound.tuples():
        bucket, key, *values = row
        if all(v is None for v in values):
            continue
        out[(int(bucket), key)] = {n: int(v or 0) for n, v in zip(names, values, strict=True)}
    return out


def balances(breakdown: Breakdown, conditions: list) -> dict:
    """{key: Σ agreement balances in minor units} now, per breakdown value."""
    key_expression = breakdown.expression if breakdown.expression is not None else Value(None)
    query = breakdown.join(Agreement.select(key_expression.alias("key"),
                                            fn.SUM(Agreement.balance).coerce(False).alias("total")))
    query = where_all(query, conditions)
    if breakdown.expression is not None:
        query = query.group_by(breakdown.expression)
    return {key: int(total or 0) for key, total in breakdown.finish(query).tuples()}
