"""One-time passwords and per-manager session versions (DESIGN §8: no
account ever logs in with an empty password).

A manager without a password could log in with an empty one; from now on
such a manager cannot log in at all until an administrator gives a
one-time password (the reset-password screen, or `flask init` for the
first `admin`).  Every existing session ends too: sessions now carry the
manager's session version, which older cookies do not have.  The old
per-login lock (`locked_until`) is lifted: slow-downs are per address.
"""

import peewee
from playhouse.migrate import SchemaMigrator, migrate

from lanbill.models.staff import Manager


def upgrade(db):
    migrator = SchemaMigrator.from_database(db.obj if isinstance(db, peewee.DatabaseProxy) else db)
    columns = {c.name for c in db.get_columns("manager")}
    operations = []
    if "one_time_password_hash" not in columns:
        operations.append(migrator.add_column("manager", "one_time_password_hash",
                                              peewee.CharField(max_length=255, default="")))
    if "session_version" not in columns:
        operations.append(migrator.add_column("manager", "session_version", peewee.IntegerField(default=1)))
    if operations:
        migrate(*operations)
    Manager.update(locked_until=None).where(Manager.locked_until.is_null(False)).execute()
