"""Indexes on the booking path: a payment writes a payment row and a
ledger entry, and each index on those tables is one more B-tree insert per
booking.  Rule: no index there is served by another index of the same
table — its columns the leading part of the other's, or all among the
other's with the same first column (a covering index for a range on that
column) — and the lookups such indexes used to serve still use an index.
A column the booking leaves NULL is indexed only where it is set
(partial index), so the booking does not enter that index at all."""

from __future__ import annotations

import pytest

from lanbill.actor import SYSTEM
from lanbill.billing.payments import post_payment
from lanbill.db import database, is_sqlite
from tests.factories import make_agreement

TABLES = ("payment", "ledger_entry", "audit_log")


def _indexes(table: str) -> list[tuple[str, bool, list[str]]]:
    return [(index.name, index.unique, list(index.columns)) for index in database.get_indexes(table)]


@pytest.mark.parametrize("table", TABLES)
def test_no_index_on_the_booking_path_is_the_leading_part_of_another(app, table):
    indexes = _indexes(table)
    assert indexes, "the migrated schema has indexes"
    for name, unique, columns in indexes:
        if unique:
            continue
        served_by = [other for other, _, cols in indexes if other != name and (
            cols[:len(columns)] == columns or (cols[0] == columns[0] and set(columns) < set(cols)))]
        assert not served_by, f"{table}.{name} {columns} is served by {served_by}"


def test_a_booking_enters_no_index_of_a_column_it_leaves_null(app):
    payment, _ = post_payment(make_agreement(), "10.00", "П-1", actor=SYSTEM, external_id="ext-1")
    rows = {
        "payment": ('SELECT * FROM "payment" WHERE "id" = %s', payment.id),
        "ledger_entry": ('SELECT * FROM "ledger_entry" WHERE "id" = %s', payment.entry_id),
        "audit_log": ('SELECT * FROM "audit_log" WHERE "object_type" = \'agreement\' AND "action" = '
                      '\'payment.create\' ORDER BY "id" DESC LIMIT 1', None),
    }
    checked = 0
    for table, (sql, key) in rows.items():
        cursor = database.execute_sql(sql.replace("%s", database.param), () if key is None else (key,))
        names = [column[0] for column in cursor.description]
        row = dict(zip(names, cursor.fetchone(), strict=True))
        for index in database.get_indexes(table):
            first = index.columns[0].strip('"')
            if first in row and row[first] is None:
                assert " WHERE " in index.sql.upper() and "IS NOT NULL" in index.sql.upper(), (
                    f"{table}.{index.name}: every booking enters it with NULL {first}")
                checked += 1
    assert checked >= 5  # account, idempotency key, reversal, payment system, manager


@pytest.mark.parametrize("sql", [
    'SELECT "id" FROM "payment" WHERE "agreement_id" = 1 ORDER BY "paid_at" DESC',
    'SELECT COUNT(*) FROM "payment" WHERE "agreement_id" = 1',
    'SELECT SUM("amount") FROM "payment" WHERE "paid_at" >= \'2026-01-01\' AND "paid_at" < \'2026-02-01\'',
    'SELECT "id" FROM "ledger_entry" WHERE "agreement_id" = 1',
    'SELECT SUM("amount") FROM "ledger_entry" WHERE "created_at" >= \'2026-01-01\' AND "created_at" < \'2026-02-01\'',
    'SELECT "kind", SUM("amount") FROM "ledger_entry" WHERE "kind" IN (\'rent\', \'service\') '
    'AND "created_at" >= \'2026-01-01\' GROUP BY "kind"',
    'SELECT SUM("amount") FROM "payment" WHERE "paid_at" >= \'2026-01-01\' AND "cancelled_at" IS NULL',
    'SELECT "id" FROM "ledger_entry" WHERE "account_id" = 1',
    'SELECT "id" FROM "ledger_entry" WHERE "idempotency_key" IN (\'a\', \'b\')',
    'SELECT "id" FROM "payment" WHERE "reversal_entry_id" = 1',
    'SELECT COUNT(*) FROM "payment" WHERE "payment_system_id" = 1',
    'SELECT "id" FROM "audit_log" WHERE "manager_id" = 1',
])
def test_lookups_by_agreement_and_by_date_still_use_an_index(app, sql):
    if not is_sqlite():
        pytest.skip("the plan is read with SQLite's EXPLAIN QUERY PLAN")
    plan = " ".join(str(row[-1]) for row in database.execute_sql("EXPLAIN QUERY PLAN " + sql).fetchall())
    assert "USING" in plan and "INDEX" in plan, plan
    assert not plan.startswith("SCAN "), plan
