"""The database proxy, connection helpers and the project's own field types.

One proxy (`database`) is bound at start-up to SQLite or PostgreSQL from
DATABASE_URL; web requests, agents, tasks and tests all use it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import threading
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
    # Checkpoint the WAL every 10,000 pages (40 MB), not SQLite's 1,000: a
    # payment rewrites the same right-most index pages commit after commit,
    # and a rarer checkpoint copies each of them once instead of ten times
    # (about a sixth of a booking's CPU went to checkpoints).
    "wal_autocheckpoint": 10000,
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
    """A write transaction; nested calls become savepoints.

    On SQLite it starts IMMEDIATE (two writers never fail on a lock
    upgrade), and the outermost one first takes the database's writer lock
    (`_writer_lock`): writers of every thread and process queue in the
    kernel and start the moment the previous one commits, instead of
    SQLite's busy handler sleeping 1, 2, 5, 10… ms between retries — which
    cut throughput under concurrent payments to a fraction."""
    if is_sqlite():
        if database.in_transaction():
            return database.atomic("IMMEDIATE")
        return _locked_transaction()
    return database.atomic()


_writer_locks: dict[str, tuple[threading.Lock, object]] = {}
_writer_locks_guard = threading.Lock()


def _writer_lock(path: str):
    """(thread lock, lock file) of one SQLite file: the thread lock orders
    this process's threads, `flock` on `<db>-writer.lock` orders the
    processes (web workers, agents, worker).  The kernel drops a dead
    process's flock, so a crash never leaves the lock held."""
    with _writer_locks_guard:
        found = _writer_locks.get(path)
        if found is None or getattr(found[1], "pid", None) != os.getpid():
            handle = open(path + "-writer.lock", "a+b")  # noqa: SIM115 - held for the process's life
            handle.pid = os.getpid()
            found = _writer_locks[path] = (threading.Lock(), handle)
        return found


@contextmanager
def _locked_transaction():
    path = database.obj.database
    if not path or path == ":memory:" or str(path).startswith("file::memory"):
        with database.atomic("IMMEDIATE"):
            yield
        return
    lock, handle = _writer_lock(str(path))
    with lock:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            with database.atomic("IMMEDIATE"):
                yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


_insert_sql: dict[tuple, tuple[str, list]] = {}


def insert_row(model, **values):
    """`model.create(**values)` for hot paths (payments, ledger, audit):
    the same row with the model's defaults and field conversions, but the
    INSERT's text is built once per (model, database kind) instead of by
    Peewee on every call, which cost more CPU than SQLite's own work."""
    obj = model(**values)
    meta = model._meta
    primary = meta.primary_key
    key = (model, type(database.obj))
    cached = _insert_sql.get(key)
    if cached is None:
        fields = [f for f in meta.sorted_fields if f is not primary]
        columns = ", ".join(f'"{f.column_name}"' for f in fields)
        marks = ", ".join([database.param] * len(fields))
        sql = (f'INSERT INTO "{meta.table_name}" ({columns}) VALUES ({marks}) '
               f'RETURNING "{primary.column_name}"')
        cached = _insert_sql[key] = (sql, fields)
    sql, fields = cached
    data = obj.__data__
    params = [f.db_value(data.get(f.name)) for f in fields]
    setattr(obj, primary.name, database.execute_sql(sql, params).fetchone()[0])
    obj._dirty.clear()
    return obj


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


# --- prepared selects (hot read paths) ---------------------------------------


class Slot:
    """A named parameter of a `Prepared` select, filled at each call."""

    __slots__ = ("name", "field")

    def __init__(self, name: str, field=None):
        self.name, self.field = name, field


def slot(name: str, field=None) -> peewee.Value:
    """A parameter of a `Prepared` select: `Account.subscriber == slot("id")`.
    `field`, when given, converts the value as that field stores it (a
    date, a datetime, money); without it the value is passed as it is."""
    return peewee.Value(Slot(name, field), converter=False)


class Prepared:
    """A SELECT on a hot read path (a cabinet page, a session check) whose
    SQL is built by Peewee once per database kind instead of on every call:
    building the text of a joined select over models with many columns
    cost more CPU than SQLite running it.

    `build()` returns the Peewee query with `slot(name)` wherever a value
    comes from the call; `prepared(**values)` runs it and returns the rows
    as that query would (models with their joined models, or tuples…).
    The query's shape (its columns, joins, IN lists) must not depend on
    the values: an IN over a variable list is written as an IN over a
    subquery with a slot."""

    def __init__(self, build):
        self._build = build
        self._cache: dict = {}

    def _compiled(self):
        key = type(database.obj)
        found = self._cache.get(key)
        if found is None:
            query = self._build()
            sql, params = query.sql()
            found = self._cache[key] = [query, sql, tuple(params), None]
        return found

    def __call__(self, **values) -> list:
        compiled = self._compiled()
        query, sql, params, layout = compiled
        args = []
        for param in params:
            if isinstance(param, Slot):
                value = values[param.name]
                param = value if param.field is None or value is None else param.field.db_value(value)
            args.append(param)
        wrapper = query._get_cursor_wrapper(database.execute_sql(sql, args))
        # Peewee works out, on the first row of every result, which column
        # goes to which model and field; for one SQL text the answer is
        # always the same, so it is kept from the first result that had rows.
        if layout is not None:
            wrapper.__dict__.update(layout)
            wrapper.initialized = True
            return list(wrapper)
        fresh = set(wrapper.__dict__)
        rows = list(wrapper)
        if wrapper.initialized:
            compiled[3] = {name: value for name, value in wrapper.__dict__.items()
                           if name not in fresh and name not in ("cursor", "row_cache")}
        return rows

    def first(self, **values):
        rows = self(**values)
        return rows[0] if rows else None


# --- many rows in one statement ------------------------------------------------------------------
#
# The batch paths (registry posting, bulk import, the ledger's bulk posting)
# write thousands of rows at once.  Peewee's insert_many builds one query
# object per call and psycopg2's executemany is a statement per row; these
# send one prepared statement (SQLite executemany) or pages of VALUES
# (psycopg2 execute_values).  Values must already be in their database form
# (a field's db_value, then `storage_value`); errors come as Peewee's
# exception classes (peewee.IntegrityError …), as from a Peewee query.


def storage_value(value):
    """A value as the driver stores it: dates and times as ISO text on
    SQLite (Peewee's own storage form there), anything else unchanged."""
    if isinstance(value, (dt.date, dt.datetime)) and is_sqlite():
        return value.isoformat(" ") if isinstance(value, dt.datetime) else value.isoformat()
    return value


def insert_rows(table: str, columns, rows: list[tuple], page_size: int = 1000) -> int:
    """INSERT `rows` (tuples in the order of `columns`) into `table`; the
    number of rows."""
    if not rows:
        return 0
    names = ", ".join(f'"{column}"' for column in columns)
    with peewee.__exception_wrapper__:
        if is_sqlite():
            marks = ", ".join([database.param] * len(columns))
            database.cursor().executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)
        else:
            from psycopg2.extras import execute_values

            execute_values(database.cursor(), f'INSERT INTO "{table}" ({names}) VALUES %s', rows,
                           page_size=page_size)
    return len(rows)


def update_by_id(table: str, column: str, pairs: list[tuple], *, add: bool = False, page_size: int = 1000) -> None:
    """Per row id, set `column` to a value — or, with `add`, add the value
    to it (a balance move): `pairs` are (id, value)."""
    if not pairs:
        return
    with peewee.__exception_wrapper__:
        if is_sqlite():
            value = f'"{column}" + ?' if add else "?"
            database.cursor().executemany(f'UPDATE "{table}" SET "{column}" = {value} WHERE "id" = ?',
                                          [(value, row_id) for row_id, value in pairs])
        else:
            from psycopg2.extras import execute_values

            value = f't."{column}" + v.value' if add else "v.value"
            execute_values(database.cursor(),
                           f'UPDATE "{table}" AS t SET "{column}" = {value} FROM (VALUES %s) AS v(id, value) '
                           f'WHERE t."id" = v.id', list(pairs), page_size=page_size)
