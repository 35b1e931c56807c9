"""The cabinet menu: (endpoint, label msgid).  An entry whose page is not
registered in this application is not shown.  Pages add their entry here."""

from flask_babel import lazy_gettext as _l

MENU = [
    ("cabinet.login", _l("Home")),
    ("cabinet.payments", _l("Payments")),
    ("cabinet.charges", _l("Charges")),
    ("cabinet.block_history", _l("Blocks")),
    ("cabinet.traffic_summary", _l("Statistics")),
    ("cabinet.cabinet_password", _l("Change password")),
    ("cabinet.documents", _l("Documents")),
]


def menu(view_functions) -> list[tuple[str, str]]:
    return [(endpoint, label) for endpoint, label in MENU if endpoint in view_functions]
