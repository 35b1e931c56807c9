"""The admin menu, grouped as staff think of their day: subscribers,
finance, network, reference books, administration.  Each entry is
(endpoint, label msgid, permission or None); an entry whose permission the
manager lacks, or whose screen is not registered in this application, is
not shown, nor a group left empty.  Screens add their entry to its group."""

from flask_babel import lazy_gettext as _l

DASHBOARD = ("admin.home", _l("Dashboard"), None)

MENU_GROUPS = [
    ("subscribers", _l("Subscribers"), [
        ("admin.subscribers_list", _l("Subscribers"), "subscribers.view"),
        ("admin.accounts_list", _l("Accounts"), "subscribers.view"),
        ("admin.radius_sessions", _l("Online sessions"), "subscribers.view"),
        ("admin.helpdesk", _l("Helpdesk"), "helpdesk.use"),
        ("admin.knowledge", _l("Knowledge base"), "helpdesk.use"),
    ]),
    ("finance", _l("Finance"), [
        ("admin.payments", _l("Take a payment"), "payments.create"),
        ("admin.payment_journal", _l("Payment journal"), "payments.create"),
        ("admin.reports_index", _l("Reports"), "reports.view"),
        ("admin.document_runs", _l("Documents"), "reports.view"),
        ("admin.registries", _l("Registries"), "payments.create"),
        ("admin.receipts", _l("Receipts"), "payments.create"),
        ("admin.card_series_list", _l("Payment cards"), "payments.create"),
        ("admin.services_import", _l("Import one-off services"), "payments.create"),
    ]),
    ("network", _l("Network"), [
        ("admin.agents", _l("Agents"), "settings.edit"),
        ("admin.nas_list", _l("NAS"), "settings.edit"),
        ("admin.netflow_status", _l("NetFlow"), "settings.edit"),
    ]),
    ("books", _l("Reference books"), [
        ("admin.tariffs", _l("Tariffs"), "tariffs.edit"),
        ("admin.services_list", _l("Services"), "tariffs.edit"),
        ("admin.operators", _l("Operators"), "settings.edit"),
        ("admin.groups", _l("Groups"), "settings.edit"),
        ("admin.currencies", _l("Currencies"), "settings.edit"),
        ("admin.addresses", _l("Addresses"), "settings.edit"),
        ("admin.payment_systems", _l("Payment systems"), "settings.edit"),
        ("admin.fiscal_settings_list", _l("Fiscal settings"), "settings.edit"),
        ("admin.notifications", _l("Notifications"), "settings.edit"),
    ]),
    ("administration", _l("Administration"), [
        ("admin.managers", _l("Staff"), "settings.edit"),
        ("admin.audit_log", _l("Audit log"), "settings.edit"),
        ("admin.api_tokens", _l("API tokens"), None),
        ("admin.imports_upload", _l("Import from another billing"), "settings.edit"),
    ]),
]
# Every entry, flat (what a test walks).
MENU = [DASHBOARD] + [entry for _key, _label, entries in MENU_GROUPS for entry in entries]


def _allowed(manager, view_functions, entry) -> bool:
    endpoint, _label, permission = entry
    return endpoint in view_functions and (permission is None or manager.can(permission))


def menu_for(manager, view_functions) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """[(group key, group label, [(endpoint, label)])] the manager may use,
    empty groups left out."""
    out = []
    for key, label, entries in MENU_GROUPS:
        shown = [(endpoint, name) for endpoint, name, permission in entries
                 if _allowed(manager, view_functions, (endpoint, name, permission))]
        if shown:
            out.append((key, label, shown))
    return out
