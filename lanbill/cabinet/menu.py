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
    ("cabinet.support", _l("Support")),
    ("cabinet.knowledge_list", _l("Knowledge base")),
    ("cabinet.tariffs", _l("Change tariff")),
    ("cabinet.cards_activate", _l("Payment card")),
    ("cabinet.pay_online", _l("Pay online")),
    ("cabinet.notifications", _l("Notifications")),
    ("cabinet.documents", _l("Documents")),
]

# endpoint → a function saying whether its entry is shown now (e.g. "Pay
# online" only while an enabled ЮKassa system exists); pages add theirs.
SHOWN_WHEN: dict = {}


def menu(view_functions) -> list[tuple[str, str]]:
    return [(endpoint, label) for endpoint, label in MENU
            if endpoint in view_functions and SHOWN_WHEN.get(endpoint, lambda: True)()]


def links(app, locale: str, script_root: str, build) -> list[tuple[str, str, str]]:
    """(endpoint, URL, label in `locale`) of the entries shown now.  The
    URLs and translated labels are made once per application, language and
    script root (`build(endpoint)` makes a URL) — every cabinet page draws
    the menu; whether an entry is shown is asked on each page."""
    cache = app.extensions.setdefault("cabinet_menu", {})
    key = (locale, script_root, len(MENU))
    entries = cache.get(key)
    if entries is None:
        entries = cache[key] = [(endpoint, build(endpoint), str(label)) for endpoint, label in MENU
                                if endpoint in app.view_functions]
    return [entry for entry in entries if SHOWN_WHEN.get(entry[0], lambda: True)()]
