"""API tokens get an expiry and a scope (read-only or full); a payment's
external id becomes unique per gateway and client (the API token's owner),
so two clients may use the same id and neither sees the other's payment.

A database created from the current models by 0001 has all of this already;
each step here checks before it changes anything.
"""

from lanbill.db import is_sqlite

OLD_INDEX = "payment_gateway_external_id"
NEW_INDEX = "payment_gateway_external_client_external_id"


def _columns(db, table: str) -> set[str]:
    return {column.name for column in db.get_columns(table)}


def upgrade(db):
    token_columns = _columns(db, "api_token")
    if "expires_at" not in token_columns:
        timestamp = "DATETIME" if is_sqlite() else "TIMESTAMP"
        db.execute_sql(f'ALTER TABLE "api_token" ADD COLUMN "expires_at" {timestamp}')
    if "scope" not in token_columns:
        db.execute_sql("ALTER TABLE \"api_token\" ADD COLUMN \"scope\" VARCHAR(8) NOT NULL DEFAULT 'full'")
    if "external_client" not in _columns(db, "payment"):
        db.execute_sql("ALTER TABLE \"payment\" ADD COLUMN \"external_client\" VARCHAR(64) NOT NULL DEFAULT ''")
        # Payments booked through the API so far belong to the manager whose
        # token booked them.
        db.execute_sql(
            "UPDATE \"payment\" SET \"external_client\" = 'manager:' || CAST(\"manager_id\" AS VARCHAR(20)) "
            "WHERE \"gateway\" = 'api' AND \"external_id\" IS NOT NULL AND \"manager_id\" IS NOT NULL"
        )
    indexes = {index.name for index in db.get_indexes("payment")}
    if OLD_INDEX in indexes:
        db.execute_sql(f'DROP INDEX "{OLD_INDEX}"')
    if NEW_INDEX not in indexes:
        db.execute_sql(
            f'CREATE UNIQUE INDEX "{NEW_INDEX}" ON "payment" ("gateway", "external_client", "external_id")'
        )
