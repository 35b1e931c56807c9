"""Document numbers: per operator, series and year, without gaps, never
reused (DESIGN §12).

The counter row (lanbill.models.Counter, "document:<operator>:<series>:<year>")
is advanced by one UPDATE … RETURNING inside the transaction that inserts
the document: on PostgreSQL the row stays locked until that transaction
ends, on SQLite the transaction holds the database's writer lock
(lanbill.db.transaction).  A transaction that rolls back gives its number
back with it, so the numbers issued run 1, 2, 3… with no hole, and a
cancelled document keeps its number for good.
"""

from __future__ import annotations

from lanbill.db import database
from lanbill.models import Counter

# The series of each kind.  Invoices and prepayment invoices share one.
SERIES = {
    "invoice": "СЧ",
    "prepayment_invoice": "СЧ",
    "act": "АКТ",
    "vat_invoice": "СФ",
    "upd": "УПД",
    "reconciliation": "АС",
}


def counter_name(operator_id: int, series: str, year: int) -> str:
    return f"document:{operator_id}:{series}:{year}"


def take_number(operator_id: int, series: str, year: int) -> int:
    """The next number of the series; call inside the transaction that
    stores the document (the rule in the module docstring)."""
    if not database.in_transaction():
        raise RuntimeError("a document number is taken inside the transaction that stores the document")
    name = counter_name(operator_id, series, year)
    value = _advance(name)
    if value is None:  # the series' first number this year: make its counter
        Counter.insert(name=name, value=0).on_conflict_ignore().execute()
        value = _advance(name)
    return value


_ADVANCE_SQL: dict[str, str] = {}


def _advance(name: str) -> int | None:
    """UPDATE … RETURNING of the counter (its SQL built once); None if the
    counter has no row yet."""
    sql = _ADVANCE_SQL.get(database.param)
    if sql is None:
        table, value, key = Counter._meta.table_name, Counter.value.column_name, Counter.name.column_name
        sql = _ADVANCE_SQL[database.param] = (f'UPDATE "{table}" SET "{value}" = "{value}" + 1 '
                                              f'WHERE "{key}" = {database.param} RETURNING "{value}"')
    row = database.execute_sql(sql, [name]).fetchone()
    return row[0] if row else None


def format_number(prefix: str, series: str, year: int, seq: int) -> str:
    """«СЧ-2026-17»: the series, the year and the number within them,
    after the operator's own prefix (Operator.document_prefix)."""
    return f"{prefix}{series}-{year}-{seq}"
