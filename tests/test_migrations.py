"""Numbered migrations from an empty database (SQLite file and, with
DATABASE_URL, a fresh PostgreSQL database): every model gets its table with
every column, a second upgrade does nothing, `flask db upgrade` says so."""

from __future__ import annotations

import uuid

import peewee
import pytest

from tests.conftest import DATA_KEY, PG_URL, USE_PG, _pg_admin_url


def _all_models():
    import lanbill  # noqa: F401  (imports every model module through the app)
    from lanbill import create_app  # noqa: F401
    from lanbill.models.base import BaseModel

    found, todo = set(), [BaseModel]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return sorted(found, key=lambda m: m._meta.table_name)


@pytest.fixture
def empty_database_url(tmp_path):
    """The URL of an empty database of the suite's kind."""
    if not USE_PG:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    import psycopg2

    name = f"lanbill_empty_{uuid.uuid4().hex[:8]}"
    conn = psycopg2.connect(_pg_admin_url(PG_URL, "postgres"))
    conn.autocommit = True
    conn.cursor().execute(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_admin_url(PG_URL, name)
    finally:
        from lanbill.db import database

        if not database.is_closed():
            database.close()
        conn.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.fixture
def empty_app(tmp_path, empty_database_url):
    from lanbill import create_app
    from lanbill.db import database

    application = create_app({
        "TESTING": True, "INSTANCE_PATH": str(tmp_path), "DATABASE_URL": empty_database_url,
        "HUEY_URL": f"sqlite:///{tmp_path / 'huey.db'}", "SECRET_KEY": "t", "DATA_KEY": DATA_KEY,
    })
    with application.app_context():
        database.connect(reuse_if_open=True)
        yield application
        if not database.is_closed():
            database.close()


def test_migrations_from_an_empty_database_create_every_model_table(empty_app):
    from lanbill.db import database
    from lanbill.migrations import applied, available, upgrade_database

    assert database.get_tables() == []
    ran = upgrade_database()
    assert ran == available() and ran[0] == "0001_initial"
    tables = set(database.get_tables())
    missing = []
    for model in _all_models():
        table = model._meta.table_name
        if table not in tables:
            missing.append(table)
            continue
        columns = {c.name for c in database.get_columns(table)}
        missing += [f"{table}.{f.column_name}" for f in model._meta.sorted_fields if f.column_name not in columns]
    assert missing == [], "models without a migration: " + ", ".join(missing)
    assert applied() == set(available())
    assert upgrade_database() == []


def test_initial_migration_keeps_logins_unique_among_live_accounts_only(empty_app):
    from lanbill.db import database
    from lanbill.migrations import upgrade_database

    upgrade_database()
    indexes = {i.name: i for i in database.get_indexes("account")}
    assert indexes["account_agent_login_live"].unique


def test_db_upgrade_command_applies_then_reports_nothing_to_do(empty_app):
    runner = empty_app.test_cli_runner()
    first = runner.invoke(args=["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("applied: 0001_initial")
    second = runner.invoke(args=["db", "upgrade"])
    assert second.exit_code == 0
    assert second.output.strip() == "applied: nothing, schema is current"


def test_init_on_an_empty_database_migrates_and_seeds_once(empty_app):
    from lanbill.models import Manager

    runner = empty_app.test_cli_runner()
    first = runner.invoke(args=["init"])
    assert first.exit_code == 0, first.output
    assert "0001_initial" in first.output and "manager admin" in first.output
    second = runner.invoke(args=["init"])
    assert second.output.strip() == "initialised: nothing to do"
    assert Manager.select().count() == 1


def test_a_failing_migration_is_not_recorded(empty_app):
    """Each migration runs in its own transaction: a failure leaves it pending."""
    import lanbill.migrations as migrations
    from lanbill.db import database

    migrations.upgrade_database()
    database.execute_sql("DELETE FROM schema_migration WHERE name = '0001_initial'")
    with pytest.raises(peewee.DatabaseError):
        migrations.upgrade_database()  # the tables exist already: CREATE fails
    if USE_PG:
        database.rollback()
    assert "0001_initial" not in migrations.applied()


def test_a_table_rebuild_on_an_older_sqlite_database_keeps_its_rows_and_references(empty_app):
    """Upgrading a database made before the «код подразделения» column:
    SQLite rebuilds `subscriber` to add a NOT NULL column, while agreements
    point at its rows.  The upgrade succeeds and every row and reference is
    still there (enforcement is off only while migrations run)."""
    if USE_PG:
        pytest.skip("a table rebuild is SQLite's way of altering a column")
    import lanbill.migrations as migrations
    from lanbill.db import database
    from lanbill.models import Agreement, Subscriber
    from tests.factories import make_agreement, make_subscriber

    assert empty_app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    subscriber = make_subscriber(name="Иванов Иван")
    agreement = make_agreement(subscriber)
    database.execute_sql('ALTER TABLE "subscriber" DROP COLUMN "passport_division_code"')
    database.execute_sql("DELETE FROM schema_migration WHERE name = '0065_passport_division_code'")

    assert migrations.upgrade_database() == ["0065_passport_division_code"]
    assert Subscriber.get_by_id(subscriber.id).name == "Иванов Иван"
    assert Agreement.get_by_id(agreement.id).subscriber_id == subscriber.id
    assert database.execute_sql("PRAGMA foreign_key_check").fetchall() == []
    assert database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
