"""The admin menu: (endpoint, label msgid, permission or None).  An entry
whose endpoint does not exist yet, or whose permission the manager lacks,
is not shown.  Screens add their entry here."""

from flask_babel import lazy_gettext as _l

MENU = [
    ("admin.home", _l("Dashboard"), None),
]


def menu_for(manager, view_functions) -> list[tuple[str, str]]:
    return [
        (endpoint, label)
        for endpoint, label, permission in MENU
        if endpoint in view_functions and (permission is None or manager.can(permission))
    ]
