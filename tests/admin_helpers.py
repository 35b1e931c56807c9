"""Helpers for the admin-screen tests: managers with a chosen role and
visible groups."""

from __future__ import annotations

from lanbill.models import Group, Manager, Role, RoleGroup
from lanbill.models.staff import PERMISSIONS
from lanbill.staff.managers import hash_password

PASSWORD = "Secret-pass1"


def make_manager(login: str, *, permissions=PERMISSIONS, groups=None, language="ru") -> Manager:
    """A manager whose role has `permissions`; `groups` (Group objects)
    limits the subscribers it sees, None means every group."""
    role = Role.create(name=f"role-{login}", permissions=list(permissions), all_groups=groups is None)
    for group in groups or []:
        RoleGroup.create(role=role, group=group)
    return Manager.create(login=login, role=role, password_hash=hash_password(PASSWORD), language=language)


def make_group(name: str) -> Group:
    return Group.create(name=name)


def ru(msgid: str, **params) -> str:
    """The Russian text of `msgid` as a page shows it (HTML-escaped); fails
    if there is no Russian translation."""
    from flask_babel import force_locale, gettext
    from markupsafe import escape

    with force_locale("ru"):
        text = gettext(msgid, **params)
    assert text != msgid % params if params else text != msgid, f"no Russian for {msgid!r}"
    return str(escape(text))
