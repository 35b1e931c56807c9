"""Migration 0090 on a database made before documents were numbered: the
placeholder document table and the operator get their new columns and
indexes, the runs table appears; on a fresh database it changes nothing."""

from __future__ import annotations

from playhouse.migrate import SchemaMigrator, migrate

from tests.test_migrations import empty_app, empty_database_url  # noqa: F401 - fixtures

NEW_OPERATOR_COLUMNS = ("is_vat_payer", "no_vat_basis", "director_position", "chief_accountant_position",
                        "logo_path", "document_prefix")


def test_0090_upgrades_the_placeholder_tables(empty_app):  # noqa: F811
    from lanbill.db import database, is_sqlite
    from lanbill.migrations import applied, upgrade_database

    upgrade_database()
    # back to the schema before documents: the placeholder table, no runs, a plain operator
    database.execute_sql('DROP TABLE "document"')
    database.execute_sql('DROP TABLE "document_run"')
    key = "INTEGER NOT NULL PRIMARY KEY" if is_sqlite() else "SERIAL PRIMARY KEY"
    database.execute_sql(
        f'CREATE TABLE "document" ("id" {key}, "agreement_id" INTEGER NOT NULL REFERENCES "agreement" ("id"), '
        '"kind" VARCHAR(32) NOT NULL, "number" VARCHAR(64) NOT NULL, "date" DATE NOT NULL, '
        '"amount" BIGINT NOT NULL, "period_start" DATE, "period_end" DATE, "path" VARCHAR(512) NOT NULL, '
        '"created_at" TIMESTAMP NOT NULL)')
    migrator = SchemaMigrator.from_database(database)
    migrate(*[migrator.drop_column("operator", name) for name in NEW_OPERATOR_COLUMNS])
    database.execute_sql("DELETE FROM schema_migration WHERE name = '0090_documents'")
    assert "0090_documents" not in applied()
    assert upgrade_database() == ["0090_documents"]
    columns = {c.name for c in database.get_columns("document")}
    assert {"operator_id", "series", "year", "seq", "lines", "data", "state", "idempotency_key",
            "pdf_stored_at", "replaces_id"} <= columns
    assert set(NEW_OPERATOR_COLUMNS) <= {c.name for c in database.get_columns("operator")}
    indexes = {i.name: i for i in database.get_indexes("document")}
    assert indexes["document_operator_id_series_year_seq"].unique
    assert indexes["document_idempotency_key"].unique
    assert "document_run" in database.get_tables()
    assert upgrade_database() == []


def test_0090_is_a_no_op_on_a_fresh_database(empty_app):  # noqa: F811
    from lanbill.db import database
    from lanbill.migrations import upgrade_database

    ran = upgrade_database()
    assert "0090_documents" in ran
    assert {"seq", "idempotency_key"} <= {c.name for c in database.get_columns("document")}
