"""Managers (staff), roles with permissions and visible groups, API tokens,
and the audit log."""

from __future__ import annotations

import peewee

from lanbill.db import JSONField
from lanbill.models.base import BaseModel, index_where_set, utcnow
from lanbill.models.subscribers import Group

PERMISSIONS = (
    "subscribers.view",
    "subscribers.edit",
    "payments.create",
    "payments.cancel",
    "tariffs.edit",
    "settings.edit",
    "personal_data.view",
    "reports.view",
    "helpdesk.use",
)


class Role(BaseModel):
    """A set of permissions and the subscriber groups its managers may see.

    `all_groups` True: every subscriber is visible (the administrator)."""

    name = peewee.CharField(max_length=64, unique=True)
    permissions = JSONField(default=list)
    all_groups = peewee.BooleanField(default=False)
    version = peewee.IntegerField(default=1)

    def has(self, permission: str) -> bool:
        return permission in (self.permissions or [])


class RoleGroup(BaseModel):
    role = peewee.ForeignKeyField(Role, backref="group_links", on_delete="CASCADE")
    group = peewee.ForeignKeyField(Group, backref="role_links", on_delete="CASCADE")

    class Meta:
        indexes = ((("role", "group"), True),)


class Manager(BaseModel):
    """A staff member (DESIGN §8: no account ever logs in with an empty
    password).

    An empty password_hash means "no password": the manager cannot log in
    until an administrator gives a one-time password.  A one-time password
    is one someone else chose or read — from `flask init`, from the
    manager's creator, from an administrator's reset: it logs in, and the
    first thing asked is a new one (seed 004).  It is marked by
    `one_time_password_hash` holding the same hash as `password_hash`: the
    password stays one-time exactly as long as it is the one given.

    `session_version` is stored in every session of the manager and
    checked on each request: a logout or a password change raises it and
    so ends the manager's other sessions.

    `failed_logins` counts wrong passwords since the last good login (for
    the audit log); logins are slowed down per address and per login from
    an address (staff.login_limits), never for the login as a whole, so no
    one can lock another manager out.  `locked_until` is no longer set."""

    login = peewee.CharField(max_length=64, unique=True)
    password_hash = peewee.CharField(max_length=255, default="")
    name = peewee.CharField(max_length=128, default="")
    email = peewee.CharField(max_length=255, default="")
    role = peewee.ForeignKeyField(Role, backref="managers", on_delete="RESTRICT")
    language = peewee.CharField(max_length=8, default="ru")
    active = peewee.BooleanField(default=True)
    failed_logins = peewee.IntegerField(default=0)
    locked_until = peewee.DateTimeField(null=True)
    last_login_at = peewee.DateTimeField(null=True)
    one_time_password_hash = peewee.CharField(max_length=255, default="")
    session_version = peewee.IntegerField(default=1)
    preferences = JSONField(default=dict)  # visible columns per table, ...
    version = peewee.IntegerField(default=1)
    created_at = peewee.DateTimeField(default=utcnow)

    # Flask-Login protocol
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    def get_id(self) -> str:
        return str(self.id)

    @property
    def has_one_time_password(self) -> bool:
        return bool(self.password_hash) and self.one_time_password_hash == self.password_hash

    @property
    def needs_password(self) -> bool:
        """True while the manager must set a password of their own before
        anything else: the one they logged in with was a one-time one."""
        return self.has_one_time_password or not self.password_hash

    def can(self, permission: str) -> bool:
        return self.role.has(permission)


TOKEN_SCOPES = ("full", "read")  # read: GET requests only


class ApiToken(BaseModel):
    """A bearer token for /api/v1; only its SHA-256 is stored.

    `scope` "read" allows only reading (GET); "full" whatever the
    manager's role allows.  Past `expires_at` (when set) the token is
    refused.  `last_used_at` is kept to the minute."""

    manager = peewee.ForeignKeyField(Manager, backref="tokens", on_delete="CASCADE")
    name = peewee.CharField(max_length=128, default="")
    token_hash = peewee.CharField(max_length=64, unique=True)
    created_at = peewee.DateTimeField(default=utcnow)
    last_used_at = peewee.DateTimeField(null=True)
    revoked_at = peewee.DateTimeField(null=True)
    expires_at = peewee.DateTimeField(null=True)
    scope = peewee.CharField(max_length=8, default="full", constraints=[peewee.SQL("DEFAULT 'full'")])


class AuditLog(BaseModel):
    """Who did what to which object, when, with before/after values."""

    at = peewee.DateTimeField(default=utcnow, index=True)
    manager_id = peewee.IntegerField(null=True)  # partial index below: system actors have none
    actor = peewee.CharField(max_length=128, default="")
    action = peewee.CharField(max_length=64, index=True)
    object_type = peewee.CharField(max_length=64, index=True)
    object_id = peewee.CharField(max_length=64, default="")
    before = JSONField(null=True)
    after = JSONField(null=True)
    ip = peewee.CharField(max_length=45, default="")


AuditLog.add_index(index_where_set(AuditLog.manager_id))
