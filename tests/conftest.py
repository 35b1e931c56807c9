"""Shared fixtures (flaskr's pattern): app, client, runner, api, login_as.

Each test gets a fresh database: on SQLite a copy of a migrated template
file; with DATABASE_URL=postgresql://… one database per test process,
put back to the template's rows before each test (`_reset_pg`).
"""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
from cryptography.fernet import Fernet

PG_URL = os.environ.get("DATABASE_URL", "")
USE_PG = PG_URL.startswith("postgres")
DATA_KEY = Fernet.generate_key().decode()


def pytest_addoption(parser):
    parser.addoption("--run-perf", action="store_true", help="run the benchmarks in tests/perf")
    parser.addoption("--screenshots", action="store_true", help="e2e: save screenshots")


def pytest_ignore_collect(collection_path, config):
    if "perf" in collection_path.parts and not config.getoption("--run-perf"):
        return True
    return None


def _pg_admin_url(url: str, dbname: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{dbname}"


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    """Prepare the database every test starts from; returns its URL/path."""
    from lanbill.db import bind_database, configure_encryption, database
    from lanbill.first_run import initialize

    configure_encryption(DATA_KEY)
    if USE_PG:
        import psycopg2

        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        name = f"lanbill_test_{worker}_{uuid.uuid4().hex[:6]}"
        conn = psycopg2.connect(_pg_admin_url(PG_URL, "postgres"))
        conn.autocommit = True
        conn.cursor().execute(f'CREATE DATABASE "{name}"')
        url = _pg_admin_url(PG_URL, name)
        bind_database(url)
        database.connect()
        initialize()
        _PG_TEMPLATES[url] = _pg_snapshot()
        database.close()
        yield url
        conn.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()
    else:
        path = tmp_path_factory.mktemp("template") / "lanbill.db"
        bind_database(f"sqlite:///{path}")
        database.connect()
        initialize()
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        database.close()
        yield str(path)


_PG_TEMPLATES: dict[str, tuple[set, dict, dict]] = {}
_SEQUENCES_SQL = "SELECT quote_ident(sequencename) FROM pg_sequences WHERE schemaname = current_schema()"


def _pg_snapshot() -> tuple[set, dict, dict]:
    """The tables, the rows of every table the initialisation filled and
    every sequence's position: what `_reset_pg` puts back."""
    from lanbill.db import database

    rows = {}
    tables = set(database.get_tables())
    for table in tables:
        if table == "schema_migration":
            continue
        cursor = database.execute_sql(f'SELECT * FROM "{table}"')
        found = cursor.fetchall()
        if found:
            rows[table] = ([column[0] for column in cursor.description], found)
    sequences = {}
    for (name,) in database.execute_sql(_SEQUENCES_SQL).fetchall():
        sequences[name] = database.execute_sql(f"SELECT last_value, is_called FROM {name}").fetchone()
    return tables, rows, sequences


def _reset_pg(url: str) -> None:
    """Put the test process's database back to the template: every table
    emptied (DELETE with the foreign-key triggers off: cheap on the nearly
    empty tables a test leaves, where TRUNCATE recreated every file), the
    template's rows written again and the sequences set back — the same
    start as SQLite's copy of the template file, without initialising
    again (which hashed a new admin password with argon2 every test).  A
    test that changed the tables (a restore of an older backup) leaves a
    schema the rows do not fit: then the database is emptied and
    initialised (migrated) again, and that becomes the template."""
    from lanbill.db import bind_database, database
    from lanbill.first_run import initialize

    template_tables, rows, sequences = _PG_TEMPLATES[url]
    bind_database(url)
    database.connect(reuse_if_open=True)
    now = set(database.get_tables())
    if now != template_tables:
        tables = [t for t in now if t != "schema_migration"]
        database.execute_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
        initialize()
        _PG_TEMPLATES[url] = _pg_snapshot()
    else:
        _put_back(now, rows, sequences)
    database.close()


def _put_back(tables: set, rows: dict, sequences: dict) -> None:
    """Empty `tables`, write the template's rows and set the sequences back."""
    from lanbill.db import database

    with database.atomic():
        database.execute_sql("SET LOCAL session_replication_role = replica")
        database.execute_sql("".join(f'DELETE FROM "{table}";' for table in tables if table != "schema_migration"))
        cursor = database.cursor()
        for table, (columns, values) in rows.items():
            names = ", ".join(f'"{column}"' for column in columns)
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', values)
        # the sequences there are now (a restore test may have recreated
        # some): the template's position, or the start for one it lacked
        present = [name for (name,) in database.execute_sql(_SEQUENCES_SQL).fetchall()]
        if present:
            database.execute_sql("SELECT " + ", ".join(f"setval('{name}', %s, %s)" for name in present),
                                 [v for name in present for v in sequences.get(name, (1, False))])


@pytest.fixture
def app_config(tmp_path, database_template):
    """The config dict each test's app is built from (tests may edit it)."""
    if USE_PG:
        _reset_pg(database_template)
        url = database_template
    else:
        target = tmp_path / "lanbill.db"
        shutil.copy(database_template, target)
        url = f"sqlite:///{target}"
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": url,
        "HUEY_URL": f"sqlite:///{tmp_path / 'huey.db'}",
        "SECRET_KEY": "test-secret",
        "DATA_KEY": DATA_KEY,
        "WTF_CSRF_ENABLED": False,
        "TIMEZONE": "Europe/Moscow",
    }


@pytest.fixture
def app(app_config):
    from lanbill import create_app
    from lanbill.db import database

    application = create_app(app_config)
    with application.app_context():
        database.connect(reuse_if_open=True)
        yield application
        if not database.is_closed():
            database.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def admin(app):
    """The admin manager with a password set."""
    from lanbill.models import Manager
    from lanbill.staff.managers import hash_password

    manager = Manager.get(Manager.login == "admin")
    manager.password_hash = hash_password("Secret-pass1")
    manager.save()
    return manager


@pytest.fixture
def login_as(client):
    """login_as(manager_login, password) → logs the test client in."""

    def do(login="admin", password="Secret-pass1"):
        response = client.post("/login", data={"login": login, "password": password})
        assert response.status_code in (302, 303), response.data[:500]
        return response

    return do


class ApiClient:
    """A test client that sends the bearer token and JSON."""

    def __init__(self, client, token):
        self.client = client
        self.token = token

    def _headers(self, headers=None, language="en"):
        out = {"Authorization": f"Bearer {self.token}", "Accept-Language": language}
        out.update(headers or {})
        return out

    def _send(self, method, url, **kw):
        headers = self._headers(kw.pop("headers", None), kw.pop("language", "en"))
        return getattr(self.client, method)("/api/v1" + url, headers=headers, **kw)

    def get(self, url, **kw):
        return self._send("get", url, **kw)

    def post(self, url, json=None, **kw):
        return self._send("post", url, json=json, **kw)

    def patch(self, url, json=None, **kw):
        return self._send("patch", url, json=json, **kw)

    def delete(self, url, **kw):
        return self._send("delete", url, **kw)


@pytest.fixture
def api(app, client, admin):
    from lanbill.staff.tokens import create_token

    return ApiClient(client, create_token(admin, name="tests"))


@pytest.fixture
def radius_factory(app):
    """radius_factory(options=..., nas_over=...) → a RADIUS agent running on
    loopback ports chosen by the OS (tests/radius_harness.py); stopped after."""
    from tests.radius_harness import start

    started = []

    def factory(**kw):
        harness, stop = start(app, **kw)
        started.append((harness, stop))
        return harness

    yield factory
    for harness, stop in started:
        stop.set()
        harness.service.join(10)
