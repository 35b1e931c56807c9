"""API tokens: created for a manager with a scope (read-only or full) and
an optional expiry, shown once, stored as a hash; listed and revoked by
their owner or by staff who edit settings."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from lanbill.clock import now_utc
from lanbill.db import transaction
from lanbill.errors import N_, NotFound, ValidationError
from lanbill.models import ApiToken, Manager, Role
from lanbill.models.staff import TOKEN_SCOPES
from lanbill.staff import audit, roles

# last_used_at is written at most this often per token, so that using a
# token costs no database write on every request.
LAST_USED_PRECISION = dt.timedelta(minutes=1)
NAME_MAX_LENGTH = 128


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(manager: Manager, *, name: str = "", actor=None, scope: str = "full",
                 expires_at: dt.datetime | None = None) -> str:
    """Create an API token; only its hash is stored, the token is shown once.

    `scope` "read" allows GET requests only; `expires_at` (naive UTC, in
    the future) ends it."""
    name = (name or "").strip()
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(N_("The token name is too long."), fields={"name": N_("At most 128 characters.")})
    if scope not in TOKEN_SCOPES:
        raise ValidationError(N_("Unknown token scope."), fields={"scope": N_("Read-only or full.")})
    if expires_at is not None and expires_at <= now_utc():
        raise ValidationError(N_("The expiry must be in the future."), fields={"expires_at": N_("In the past.")})
    token = "lb_" + secrets.token_urlsafe(32)
    with transaction():
        row = ApiToken.create(manager=manager, name=name, token_hash=token_hash(token), scope=scope,
                              expires_at=expires_at)
        audit.record(actor or manager, "token.create", "api_token", row.id,
                     after={"manager": manager.login, "name": name, "scope": scope,
                            "expires_at": expires_at.isoformat() if expires_at else None})
    return token


def find_token(token: str) -> ApiToken | None:
    """The live (not revoked) token row with its manager and role, or None.
    Expiry is the caller's to check (`is_expired`), so that an expired token
    can be told apart from a wrong one."""
    return (
        ApiToken.select(ApiToken, Manager, Role)
        .join(Manager)
        .join(Role)
        .where((ApiToken.token_hash == token_hash(token)) & (ApiToken.revoked_at.is_null()))
        .first()
    )


def is_expired(row: ApiToken, now: dt.datetime | None = None) -> bool:
    return row.expires_at is not None and row.expires_at <= (now or now_utc())


def manager_for_token(token: str) -> Manager | None:
    """The manager a live, unexpired token acts as, or None."""
    row = find_token(token)
    if row is None or is_expired(row) or not row.manager.is_active:
        return None
    return row.manager


def note_use(row: ApiToken, now: dt.datetime | None = None) -> None:
    """Keep last_used_at to the minute: written only when the stored value
    is a minute old or more, and only if no other process wrote it meanwhile."""
    now = now or now_utc()
    if row.last_used_at is not None and now - row.last_used_at < LAST_USED_PRECISION:
        return
    stale = ApiToken.last_used_at.is_null() | (ApiToken.last_used_at <= now - LAST_USED_PRECISION)
    with transaction():
        ApiToken.update(last_used_at=now).where((ApiToken.id == row.id) & stale).execute()
    row.last_used_at = now


def visible_tokens(manager: Manager):
    """The tokens a manager may list: their own, or with settings.edit also
    those of managers within their reach (roles.within_reach: no role
    above their own); newest first."""
    query = ApiToken.select(ApiToken, Manager).join(Manager).order_by(ApiToken.id.desc())
    if not manager.can("settings.edit"):
        return query.where(ApiToken.manager == manager.id)
    # Reach depends on the role only: one check per role, not per manager.
    reachable_roles = [role.id for role in Role.select() if roles.role_within_reach(manager, role)]
    return query.where((ApiToken.manager == manager.id) | Manager.role.in_(reachable_roles))


def revoke_token(token_id: int, *, actor, by: Manager | None = None) -> ApiToken:
    """Revoke a token at once (it keeps its row, marked revoked).  `by`, when
    given, is the manager asking: their own token, or with settings.edit one
    of a manager within their reach (roles.within_reach); any other token
    is "not found" to them, so its existence is not revealed.
    Revoking a revoked token changes nothing."""
    row = ApiToken.get_or_none(ApiToken.id == token_id)
    if row is None or (by is not None and row.manager_id != by.id and not (
            by.can("settings.edit") and roles.within_reach(by, row.manager))):
        raise NotFound(N_("Token not found."))
    if row.revoked_at is not None:
        return row
    with transaction():
        row.revoked_at = now_utc()
        row.save(only=[ApiToken.revoked_at])
        audit.record(actor, "token.revoke", "api_token", row.id, after={"name": row.name})
    return row
