"""Subscriber and account search (seed 002): by name, agreement, login,
phone, e-mail and IP, "contains", case-insensitive; the advanced search
with rule sets (saved per manager in SavedSearch).

Case-insensitive "contains" over Cyrillic: SQLite's LIKE folds only ASCII,
so on SQLite the name is compared through `lb_lower()`, Python's
str.lower registered as a deterministic SQL function; PostgreSQL uses
lower()/ILIKE.  Logins, phones, e-mails, agreement numbers and IPs are
ASCII, where LIKE alone is case-insensitive on both databases.
"""

from __future__ import annotations

from lanbill.db import database, is_sqlite


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def register_sql_functions() -> None:
    """Make lb_lower() available on every SQLite connection."""
    if is_sqlite():
        database.obj.register_function(_lower, "lb_lower", 1, deterministic=True)
