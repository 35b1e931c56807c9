"""The helpdesk's working schema: ticket classes; a ticket's status (new,
in work, waiting for the subscriber, closed), class, who opened it and
when each side last wrote and read; a message's author name and side; an
attachment's content type; an article's search text, dates and version.

A database created from the current models by 0001 has all of this
already; each step checks before it changes anything.  The first schema's
`ticket.state` (open|answered|closed) becomes `status`."""

from lanbill.db import is_sqlite
from lanbill.models.base import utcnow
from lanbill.models.helpdesk import TicketClass

# (column, type, NOT NULL default or None for a NULL column).  Plain
# ALTER TABLE … ADD COLUMN on both databases: SQLite's table rebuild
# (what playhouse.migrate does for a NOT NULL column) would drop the old
# table and cascade-delete the rows of the tables that reference it.
COLUMNS = {
    "ticket": (
        ("ticket_class_id", "INTEGER", None),
        ("status", "VARCHAR(16)", "'new'"),
        ("opened_by", "VARCHAR(128)", "''"),
        ("closed_at", "{timestamp}", None),
        ("last_subscriber_at", "{timestamp}", None),
        ("last_staff_at", "{timestamp}", None),
        ("subscriber_seen_at", "{timestamp}", None),
        ("staff_seen_at", "{timestamp}", None),
        ("version", "INTEGER", "1"),
    ),
    "message": (
        ("author_name", "VARCHAR(255)", "''"),
        ("by_staff", "{boolean}", "{false}"),
    ),
    "attachment": (
        ("content_type", "VARCHAR(128)", "'application/octet-stream'"),
        # existing rows get the time of the upgrade (below)
        ("created_at", "{timestamp}", None),
    ),
    "knowledge_article": (
        ("search_text", "TEXT", "''"),
        ("updated_at", "{timestamp}", None),
        ("published_at", "{timestamp}", None),
        ("version", "INTEGER", "1"),
    ),
}
INDEXES = (
    ("ticket", "ticket_status", ("status",)),
    ("ticket", "ticket_updated_at", ("updated_at",)),
    ("ticket", "ticket_ticket_class_id", ("ticket_class_id",)),
)
# The first schema's states, in the new statuses.
OLD_STATES = {"open": "new", "answered": "waiting", "closed": "closed"}


def _columns(db, table: str) -> set[str]:
    return {column.name for column in db.get_columns(table)}


def upgrade(db):
    db.create_tables([TicketClass], safe=True)
    words = ({"timestamp": "DATETIME", "boolean": "INTEGER", "false": "0"} if is_sqlite()
             else {"timestamp": "TIMESTAMP", "boolean": "BOOLEAN", "false": "FALSE"})
    now = utcnow()
    for table, columns in COLUMNS.items():
        existing = _columns(db, table)
        for name, kind, default in columns:
            if name in existing:
                continue
            sql = f'ALTER TABLE "{table}" ADD COLUMN "{name}" {kind.format(**words)}'
            if default is not None:
                sql += f" NOT NULL DEFAULT {default.format(**words)}"
            db.execute_sql(sql)
            if name in ("created_at", "updated_at"):
                db.execute_sql(f'UPDATE "{table}" SET "{name}" = {db.param}', (now,))
            if name == "search_text":
                # what knowledge.search looks in: title and body, case-folded
                rows = db.execute_sql('SELECT "id", "title", "body" FROM "knowledge_article"').fetchall()
                for row_id, title, body in rows:
                    db.execute_sql(f'UPDATE "knowledge_article" SET "search_text" = {db.param} WHERE "id" = {db.param}',
                                   (f"{title}\n{body}".casefold(), row_id))
    if "state" in _columns(db, "ticket"):
        for old, new in OLD_STATES.items():
            db.execute_sql(f'UPDATE "ticket" SET "status" = {db.param} WHERE "state" = {db.param}', (new, old))
        if "ticket_state" in {index.name for index in db.get_indexes("ticket")}:
            db.execute_sql('DROP INDEX "ticket_state"')
        # A plain DROP COLUMN on both databases (SQLite ≥ 3.35), for the
        # same reason as above.
        db.execute_sql('ALTER TABLE "ticket" DROP COLUMN "state"')
    for table, name, columns in INDEXES:
        if name not in {index.name for index in db.get_indexes(table)}:
            column_list = ", ".join(f'"{c}"' for c in columns)
            db.execute_sql(f'CREATE INDEX "{name}" ON "{table}" ({column_list})')
