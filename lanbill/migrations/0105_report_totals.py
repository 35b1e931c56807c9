"""Pre-aggregated report figures (lanbill.reports.totals): the tables, and
the triggers that mark a subscriber or an agreement whose breakdown cell
may have changed (groups, operator, main account's tariff).

A database created from the current models by 0001 has the tables
already; each step checks before it changes anything (IF NOT EXISTS, OR
REPLACE), so a fresh database gets its triggers here too."""

from lanbill.db import is_sqlite
from lanbill.models.report_totals import REPORT_TOTALS_MODELS

SQLITE_TRIGGERS = (
    'CREATE TRIGGER IF NOT EXISTS "report_dirty_sg_insert" AFTER INSERT ON "subscriber_group" BEGIN '
    'INSERT INTO "report_dirty" ("subscriber_id") VALUES (NEW."subscriber_id"); END',
    'CREATE TRIGGER IF NOT EXISTS "report_dirty_sg_delete" AFTER DELETE ON "subscriber_group" BEGIN '
    'INSERT INTO "report_dirty" ("subscriber_id") VALUES (OLD."subscriber_id"); END',
    'CREATE TRIGGER IF NOT EXISTS "report_dirty_sg_update" AFTER UPDATE ON "subscriber_group" BEGIN '
    'INSERT INTO "report_dirty" ("subscriber_id") VALUES (OLD."subscriber_id"); '
    'INSERT INTO "report_dirty" ("subscriber_id") VALUES (NEW."subscriber_id"); END',
    'CREATE TRIGGER IF NOT EXISTS "report_dirty_account_insert" AFTER INSERT ON "account" BEGIN '
    'INSERT INTO "report_dirty" ("agreement_id") VALUES (NEW."agreement_id"); END',
    'CREATE TRIGGER IF NOT EXISTS "report_dirty_account_delete" AFTER DELETE ON "account" BEGIN '
    'INSERT INTO "report_dirty" ("agreement_id") VALUES (OLD."agreement_id"); END',
    'CREATE TRIGGER IF NOT EXISTS "report_dirty_account_update" AFTER UPDATE OF "agreement_id", "tariff_id", '
    '"deleted" ON "account" WHEN OLD."agreement_id" IS NOT NEW."agreement_id" '
    'OR OLD."tariff_id" IS NOT NEW."tariff_id" OR OLD."deleted" IS NOT NEW."deleted" BEGIN '
    'INSERT INTO "report_dirty" ("agreement_id") VALUES (OLD."agreement_id"); '
    'INSERT INTO "report_dirty" ("agreement_id") VALUES (NEW."agreement_id"); END',
    'CREATE TRIGGER IF NOT EXISTS "report_dirty_agreement_update" AFTER UPDATE OF "operator_id", "subscriber_id" '
    'ON "agreement" WHEN OLD."operator_id" IS NOT NEW."operator_id" OR OLD."subscriber_id" IS NOT NEW."subscriber_id" '
    'BEGIN INSERT INTO "report_dirty" ("agreement_id") VALUES (NEW."id"); END',
)

PG_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION report_dirty_subscriber() RETURNS trigger AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN INSERT INTO report_dirty (subscriber_id) VALUES (OLD.subscriber_id); END IF;
        IF TG_OP <> 'DELETE' THEN INSERT INTO report_dirty (subscriber_id) VALUES (NEW.subscriber_id); END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE FUNCTION report_dirty_account() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND OLD.agreement_id = NEW.agreement_id AND OLD.tariff_id = NEW.tariff_id
           AND OLD.deleted = NEW.deleted THEN
            RETURN NULL;
        END IF;
        IF TG_OP <> 'INSERT' THEN INSERT INTO report_dirty (agreement_id) VALUES (OLD.agreement_id); END IF;
        IF TG_OP <> 'DELETE' THEN INSERT INTO report_dirty (agreement_id) VALUES (NEW.agreement_id); END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE FUNCTION report_dirty_agreement() RETURNS trigger AS $$
    BEGIN
        IF OLD.operator_id IS DISTINCT FROM NEW.operator_id OR OLD.subscriber_id IS DISTINCT FROM NEW.subscriber_id
        THEN
            INSERT INTO report_dirty (agreement_id) VALUES (NEW.id);
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    'DROP TRIGGER IF EXISTS report_dirty_sg ON subscriber_group',
    'CREATE TRIGGER report_dirty_sg AFTER INSERT OR UPDATE OR DELETE ON subscriber_group '
    'FOR EACH ROW EXECUTE FUNCTION report_dirty_subscriber()',
    'DROP TRIGGER IF EXISTS report_dirty_account ON account',
    'CREATE TRIGGER report_dirty_account AFTER INSERT OR DELETE OR UPDATE OF agreement_id, tariff_id, deleted '
    'ON account FOR EACH ROW EXECUTE FUNCTION report_dirty_account()',
    'DROP TRIGGER IF EXISTS report_dirty_agreement ON agreement',
    'CREATE TRIGGER report_dirty_agreement AFTER UPDATE OF operator_id, subscriber_id ON agreement '
    'FOR EACH ROW EXECUTE FUNCTION report_dirty_agreement()',
)


def upgrade(db):
    db.create_tables(list(REPORT_TOTALS_MODELS), safe=True)
    for statement in SQLITE_TRIGGERS if is_sqlite() else PG_TRIGGERS:
        db.execute_sql(statement)
