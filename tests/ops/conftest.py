"""Fixtures for the operations tests: a second, empty instance to restore
into (a new SQLite file, or a new database on the test PostgreSQL server)."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import DATA_KEY, PG_URL, USE_PG, _pg_admin_url


@pytest.fixture
def empty_instance(tmp_path):
    """The config of an empty instance (its own folder and database)."""
    folder = tmp_path / "restored"
    folder.mkdir()
    config = {"INSTANCE_PATH": str(folder), "SECRET_KEY": "other-secret", "DATA_KEY": DATA_KEY}
    if not USE_PG:
        config["DATABASE_URL"] = f"sqlite:///{folder / 'lanbill.db'}"
        yield config
        return
    import psycopg2

    name = f"lanbill_restore_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(_pg_admin_url(PG_URL, "postgres"))
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    config["DATABASE_URL"] = _pg_admin_url(PG_URL, name)
    yield config
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()
