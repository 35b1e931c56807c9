"""The admin menu: (endpoint, label msgid, permission or None).  An entry
whose permission the manager lacks, or whose screen is not registered in
this application, is not shown.  Screens add their entry here."""

from flask_babel import lazy_gettext as _l

MENU = [
    ("admin.home", _l("Dashboard"), None),
    # daily work
    ("admin.subscribers_list", _l("Subscribers"), "subscribers.view"),
    ("admin.accounts_list", _l("Accounts"), "subscribers.view"),
    ("admin.payments", _l("Payments"), "payments.create"),
    ("admin.payment_journal", _l("Payment journal"), "payments.create"),
    # settings screens
    ("admin.tariffs", _l("Tariffs"), "tariffs.edit"),
    ("admin.services_list", _l("Services"), "tariffs.edit"),
    ("admin.services_import", _l("Import one-off services"), "payments.create"),
    ("admin.agents", _l("Agents"), "settings.edit"),
    ("admin.nas_list", _l("NAS"), "settings.edit"),
    ("admin.operators", _l("Operators"), "settings.edit"),
    ("admin.groups", _l("Groups"), "settings.edit"),
    ("admin.currencies", _l("Currencies"), "settings.edit"),
    ("admin.addresses", _l("Addresses"), "settings.edit"),
    ("admin.managers", _l("Staff"), "settings.edit"),
    ("admin.audit_log", _l("Audit log"), "settings.edit"),
    ("admin.radius_sessions", _l("Online sessions"), "subscribers.view"),
    ("admin.netflow_status", _l("NetFlow"), "settings.edit"),
    ("admin.api_tokens", _l("API tokens"), None),
    ("admin.helpdesk", _l("Helpdesk"), "helpdesk.use"),
    ("admin.knowledge", _l("Knowledge base"), "helpdesk.use"),
    ("admin.imports_upload", _l("Import from another billing"), "settings.edit"),
    ("admin.registries", _l("Registries"), "payments.create"),
    ("admin.receipts", _l("Receipts"), "payments.create"),
    ("admin.fiscal_settings_list", _l("Fiscal settings"), "settings.edit"),
    ("admin.card_series_list", _l("Payment cards"), "payments.create"),
    ("admin.payment_systems", _l("Payment systems"), "settings.edit"),
    ("admin.reports_index", _l("Reports"), "reports.view"),
    ("admin.notifications", _l("Notifications"), "settings.edit"),
    ("admin.document_runs", _l("Documents"), "reports.view"),
]


def menu_for(manager, view_functions) -> list[tuple[str, str]]:
    return [
        (endpoint, label)
        for endpoint, label, permission in MENU
        if endpoint in view_functions and (permission is None or manager.can(permission))
    ]
