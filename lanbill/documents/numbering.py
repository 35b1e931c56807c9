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
    Counter.insert(name=name, value=0).on_conflict_ignore().execute()
    row = Counter.update(value=Counter.value + 1).where(Counter.name == name).returning(Counter.value).execute()
    return list(row)[0].value


def format_number(prefix: str, series: str, year: int, seq: int) -> str:
    """«СЧ-2026-17»: the series, the year and the number within them,
    after the operator's own prefix (Operator.document_prefix)."""
    return f"{prefix}{series}-{year}-{seq}"
