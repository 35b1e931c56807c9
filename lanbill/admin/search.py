"""The labels of the search screens: quick-search criteria and the fields and
operators of the advanced search, in the UI language.  The search itself
is lanbill.customers.search."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from lanbill.customers.search import RULE_FIELD_NAMES, RULE_OP_NAMES

SUBSCRIBER_CRITERIA = [
    ("any", _l("Everywhere")),
    ("name", _l("Name")),
    ("agreement", _l("Agreement")),
    ("login", _l("Login")),
    ("phone", _l("Phone")),
    ("email", _l("E-mail")),
    ("ip", _l("IP address")),
]
ACCOUNT_CRITERIA = [
    ("any", _l("Everywhere")),
    ("name", _l("Name")),
    ("agreement", _l("Agreement")),
    ("login", _l("Login")),
    ("ip", _l("IP address")),
    ("phone", _l("Phone")),
]
PAYMENT_CRITERIA = [c for c in SUBSCRIBER_CRITERIA if c[0] in ("name", "agreement", "login", "phone", "email")]


RULE_FIELDS = [
    ("name", _l("Name")),
    ("email", _l("E-mail")),
    ("phone", _l("Phone")),
    ("login", _l("Login")),
    ("agreement", _l("Agreement")),
    ("ip", _l("IP address")),
    ("description", _l("Description")),
    ("group", _l("Group")),
    ("kind", _l("Class")),
    ("category", _l("Category")),
    ("state", _l("Account state")),
    ("balance", _l("Balance")),
    ("created", _l("Created on")),
]
RULE_OPS = [
    ("contains", _l("contains")),
    ("not_contains", _l("does not contain")),
    ("eq", _l("equals")),
    ("ne", _l("not equal")),
    ("lt", _l("less than")),
    ("gt", _l("greater than")),
]
assert tuple(f for f, _ in RULE_FIELDS) == RULE_FIELD_NAMES and tuple(o for o, _ in RULE_OPS) == RULE_OP_NAMES
