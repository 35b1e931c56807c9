"""The database proxy, connection helpers and the project's own field types.

One proxy (`database`) is bound at start-up to SQLite or PostgreSQL from
DATABASE_URL; web requests, agents, tasks and tests all use it.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from decimal import Decimal

import peewee
from playhouse.db_url import connect as url_connect

database = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 30000,
    "synchronous": "normal",
    "cache_size": -64000,
}


def make_database(url: str) -> peewee.Database:
    """Build (not open) a Peewee database for DATABASE_URL.

    SQLite gets WAL, foreign keys and a busy timeout here and nowhere else.
    """
    if url.startswith("sqlite"):
        return url_connect(url, pragmas=SQLITE_PRAGMAS, timeout=30)
    if url.startswith("postgres"):
        url = url.replace("postgres://", "postgresql://", 1)
        return url_connect(url)
    raise ValueError(f"unsupported DATABASE_URL: {url}")


def bind_database(url: str) -> peewee.Database:
    """Bind the proxy to the database at `url` and return the real database."""
    db = make_database(url)
    database.initialize(db)
    return db


def is_sqlite() -> bool:
    return isinstance(database.obj, peewee.SqliteDatabase)


def transaction():
    """A write transaction.  On SQLite it starts IMMEDIATE, so that two
    writers queue on the busy timeout instead of failing on a lock upgrade;
    nested calls become savepoints."""
    if is_sqlite():
        return database.atomic("IMMEDIATE")
    return database.atomic()


@contextmanager
def connection():
    """Open a connection for the current thread if none is open, close after."""
    opened = database.connect(reuse_if_open=True)
    try:
        yield database
    finally:
        if opened and not database.in_transaction():
            database.close()


# --- money -----------------------------------------------------------------

MINOR_UNITS = 100  # every supported currency has two decimals (DESIGN §4)
CENT = Decimal("0.01")


def to_minor(value) -> int:
    """Decimal → integer kopecks.  Refuses floats and inexact amounts rather
    than rounding them silently (DESIGN §4: never a float near money)."""
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    if isinstance(value, int):
        return value * MINOR_UNITS
    value = Decimal(value)
    minor = value * MINOR_UNITS
    if minor != minor.to_integral_value():
        raise ValueError(f"amount {value} has more than two decimals")
    return int(minor)


def from_minor(minor: int) -> Decimal:
    return (Decimal(int(minor)) / MINOR_UNITS).quantize(CENT)


class MoneyField(peewee.BigIntegerField):
    """Money stored as integer minor units and used as Decimal in Python."""

    def db_value(self, value):
        if value is None:
            return None
        if isinstance(value, peewee.Node):
            return value
        return to_minor(value)

    def python_value(self, value):
        if value is None:
            return None
        return from_minor(value)


class RateField(peewee.BigIntegerField):
    """A non-money decimal (exchange rate) stored as integer millionths."""

    SCALE = Decimal(1_000_000)

    def db_value(self, value):
        if value is None or isinstance(value, peewee.Node):
            return value
        if isinstance(value, float):
            raise TypeError("rates must not be floats")
        return int((Decimal(value) * self.SCALE).to_integral_value())

    def python_value(self, value):
        if value is None:
            return None
        return (Decimal(int(value)) / self.SCALE).normalize()


class JSONField(peewee.TextField):
    """JSON kept as text, identical on SQLite and PostgreSQL."""

    def db_value(self, value):
        if value is None:
            return None
        return json.dumps(value, ensure_ascii=False, sort_keys=True)

    def python_value(self, value):
        if value is None or value == "":
            return None
        return json.loads(value)


# --- encryption at rest ------------------------------------------------------

_fernet = None


def configure_encryption(key: bytes | str) -> None:
    """Set the data key used by EncryptedField (instance/data_key)."""
    from cryptography.fernet import Fernet

    global _fernet
    _fernet = Fernet(key if isinstance(key, bytes) else key.encode())


def encrypt_text(value: str) -> str:
    if _fernet is None:
        raise RuntimeError("encryption key is not configured")
    return _fernet.encrypt(value.encode()).decode()


def decrypt_text(value: str) -> str:
    if _fernet is None:
        raise RuntimeError("encryption key is not configured")
    return _fernet.decrypt(value.encode()).decode()


class EncryptedField(peewee.TextField):
    """Text encrypted at rest with Fernet (passport data, service passwords:
    DESIGN §9 — CHAP and MS-CHAPv2 need the password back, so no hash)."""

    def db_value(self, value):
        if value is None or value == "":
            return value
        return encrypt_text(value)

    def python_value(self, value):
        if value is None or value == "":
            return value
        return decrypt_text(value)
