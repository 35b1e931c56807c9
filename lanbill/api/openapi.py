"""The OpenAPI 3 document of /api/v1, written by hand, served without a
token at /api/v1/openapi.json and checked against app.url_map by
tests/api/test_openapi.py (every route documented, every path real).

Adding a resource: put its paths into PATHS and its schemas into SCHEMAS
in a section of this file, using the helpers below.  Paths are relative to /api/v1 and name their
parameters as the Flask route does: /accounts/<int:account_id> is
/accounts/{account_id}.
"""

from __future__ import annotations

import copy

from flask import jsonify

from lanbill.api import READ_METHODS, bp

# --- helpers ---------------------------------------------------------------


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def body(schema_name: str, description: str = "") -> dict:
    out = {"required": True, "content": {"application/json": {"schema": ref(schema_name)}}}
    if description:
        out["description"] = description
    return out


def ok(schema_name: str, description: str = "OK", status: str = "200") -> dict:
    return {status: {"description": description, "content": {"application/json": {"schema": ref(schema_name)}}}}


def errors(*codes: int) -> dict:
    texts = {
        400: "The body is not a JSON object, or a query parameter is not valid.",
        401: "Missing, invalid, revoked or expired bearer token.",
        403: "The token's role lacks the permission.",
        404: "No such object, or not visible to the token's role.",
        409: "Conflicts with the current state (taken, already done, changed meanwhile).",
        422: "A field is missing, unknown, of the wrong JSON type or not valid; `fields` names each.",
    }
    return {
        str(code): {"description": texts[code], "content": {"application/json": {"schema": ref("Error")}}}
        for code in (401, *codes)
    }


def path_id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}


def operation(summary: str, *, permission: str | None = None, responses: dict, request: dict | None = None,
              parameters: list | None = None, description: str = "") -> dict:
    text = description
    if permission:
        text = (text + "\n\n" if text else "") + f"Permission: `{permission}`."
    out = {"summary": summary, "responses": responses}
    if text:
        out["description"] = text
    if request:
        out["requestBody"] = request
    if parameters:
        out["parameters"] = parameters
    return out


PASSPORT = {"name": "passport", "in": "query", "schema": {"type": "boolean"},
            "description": "1: include passport data (needs personal_data.view; the read is audited)."}
PAGING = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
]


def page_of(item: str) -> dict:
    return {
        "type": "object",
        "required": ["items", "page", "per_page", "total"],
        "properties": {
            "items": {"type": "array", "items": ref(item)},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
        },
    }


MONEY = {"type": "string", "pattern": r"^-?\d+\.\d{2}$", "example": "650.00",
         "description": "A decimal string with two places."}
MONEY_IN = {"oneOf": [{"type": "string", "example": "650.50"}, {"type": "integer"}],
            "description": "A decimal string (\"650.50\" or \"650,50\") or an integer; never a float, "
                           "at most two decimals."}
NULL_MONEY = {**MONEY, "nullable": True}
DATE = {"type": "string", "format": "date"}
DATETIME = {"type": "string", "format": "date-time", "description": "UTC, ISO 8601."}
TEXT = {"type": "string"}
INT = {"type": "integer"}
ID = {"type": "integer", "minimum": 1}
BOOL = {"type": "boolean"}


def nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


def obj(properties: dict, required=(), description: str = "") -> dict:
    out = {"type": "object", "properties": properties}
    if required:
        out["required"] = list(required)
    if description:
        out["description"] = description
    return out


# --- schemas ---------------------------------------------------------------

_SUBSCRIBER_FIELDS = {
    "name": TEXT, "email": TEXT, "phone": TEXT, "fax": TEXT, "description": TEXT, "delivery_method": TEXT,
    "login": nullable(TEXT), "cabinet_ip_only": BOOL, "card_activation_blocked": BOOL,
    "passport_series": TEXT, "passport_number": TEXT, "passport_issued_on": TEXT, "passport_issued_by": TEXT,
    "passport_issued_place": TEXT, "passport_division_code": TEXT, "birth_date": TEXT, "inn": TEXT,
    "director": TEXT, "acting_basis": TEXT, "chief_accountant": TEXT, "contact_person": TEXT,
    "legal_category": TEXT, "kpp": TEXT, "ogrn": TEXT, "bank_name": TEXT, "bik": TEXT, "corr_account": TEXT,
    "settlement_account": TEXT,
    "main_address_id": nullable(ID), "postal_address_id": nullable(ID), "delivery_address_id": nullable(ID),
    "is_template": BOOL,
}
_TARIFF_FIELDS = {
    "name": TEXT, "description": TEXT, "currency": {"type": "string", "example": "RUB"},
    "scheme": {"type": "string", "enum": ["monthly", "daily", "dynamic"]},
    "rent": MONEY_IN, "rent_blocked": MONEY_IN,
    "rent_admin_blocked": {**MONEY_IN, "nullable": True, "description": "null: as rent_blocked (DESIGN §6)."},
    "rent_user_blocked": {**MONEY_IN, "nullable": True, "description": "null: as rent (DESIGN §6)."},
    "prepaid_mb": INT, "traffic_limit_mb": INT, "speed_in_kbit": INT, "speed_out_kbit": INT,
    "volume_source": {"type": "string", "enum": ["netflow", "radius"]},
    "price_per_minute": MONEY_IN, "prepaid_minutes": INT, "framed_pool": TEXT,
}
_ACCOUNT_FIELDS = {
    "login": {"type": "string", "description": "Latin letters, digits, _ and -; unique within the agent."},
    "password": {"type": "string", "description": "Write-only."},
    "ips": {"type": "array", "items": {"type": "string", "example": "10.0.0.5/32"}},
    "mac": TEXT, "phone_numbers": TEXT, "bandwidth_kbit": INT, "max_sessions": INT,
    "connect_date": nullable(DATE), "disconnect_date": nullable(DATE),
    "keep_remote_address": BOOL, "keep_remote_port": BOOL, "description": TEXT,
    "options": {"type": "object"}, "tariff_id": ID,
}

SCHEMAS: dict[str, dict] = {
    "Error": obj({"error": TEXT, "fields": {"type": "object", "additionalProperties": TEXT}},
                 required=["error", "fields"],
                 description="The message is in the request's language (Accept-Language: ru or en; ru by default)."),
    "Subscriber": obj({
        "id": ID, "kind": {"type": "string", "enum": ["individual", "legal"]},
        "category": {"type": "string", "enum": ["subscriber", "operator", "dealer"]},
        **_SUBSCRIBER_FIELDS, "group_ids": {"type": "array", "items": ID}, "version": INT,
        "created_at": DATETIME, "updated_at": DATETIME,
    }, description="Only the fields of the subscriber's class are present; passport fields only for roles "
                   "with personal_data.view."),
    "SubscriberCreate": obj({
        "kind": {"type": "string", "enum": ["individual", "legal"], "default": "individual"},
        "category": {"type": "string", "enum": ["subscriber", "operator", "dealer"], "default": "subscriber"},
        **_SUBSCRIBER_FIELDS, "group_ids": {"type": "array", "items": ID},
    }, required=["name"]),
    "SubscriberUpdate": obj({**_SUBSCRIBER_FIELDS, "version": INT}),
    "CabinetPasswordSet": obj({"password": {**TEXT, "description": "At least 8 characters, letters mixed with "
                                                               "digits or symbols."},
                               "generate": {**BOOL, "description": "true: generate one; it is returned once."}},
                              description="Either `password` or `generate: true`."),
    "CabinetPassword": obj({"id": ID, "password_set": BOOL,
                            "password": {**TEXT, "description": "Only when generated; shown this once."}},
                           required=("id", "password_set")),
    "Agreement": obj({
        "id": ID, "number": TEXT, "date": DATE, "subscriber_id": ID, "operator_id": ID, "currency": TEXT,
        "balance": MONEY, "credit_limit": MONEY, "promised_amount": MONEY,
        "available": {**MONEY, "description": "balance + credit_limit + promised_amount"},
        "closed_at": nullable(DATETIME), "created_at": DATETIME,
    }),
    "AgreementCreate": obj({
        "subscriber_id": ID, "number": nullable(TEXT), "currency": nullable(TEXT),
        "credit_limit": nullable(MONEY_IN), "operator_id": nullable(ID), "date": nullable(DATE),
    }, required=["subscriber_id"]),
    "AgreementUpdate": obj({"credit_limit": MONEY_IN}, required=["credit_limit"]),
    "LedgerEntry": obj({
        "id": ID, "amount": MONEY,
        "kind": {"type": "string", "enum": ["payment", "payment_reversal", "rent", "rent_correction", "service",
                                            "volume", "time", "one_off", "correction",
                                            "opening_balance"]},
        "account_id": nullable(ID), "tariff_id": nullable(ID), "service_id": nullable(ID),
        "payment_id": nullable(ID), "period_start": nullable(DATE), "period_end": nullable(DATE),
        "original_amount": NULL_MONEY, "original_currency": nullable(TEXT), "rate": nullable(TEXT),
        "actor": TEXT, "created_at": DATETIME, "comment": TEXT,
    }),
    "Tariff": obj({
        "id": ID, **_TARIFF_FIELDS, "rent": MONEY, "rent_blocked": MONEY,
        "rent_admin_blocked": NULL_MONEY, "rent_user_blocked": NULL_MONEY,
        "effective_rent_admin_blocked": MONEY, "effective_rent_user_blocked": MONEY,
        "price_per_minute": MONEY, "archived": BOOL, "version": INT, "created_at": DATETIME,
    }),
    "TariffCreate": obj(_TARIFF_FIELDS, required=["name"]),
    "TariffUpdate": obj({**_TARIFF_FIELDS, "archived": BOOL, "version": INT}),
    "Agent": obj({
        "id": ID, "name": TEXT, "type": {"type": "string", "enum": ["radius", "netflow", "usbox"]},
        "listen_address": TEXT, "options": {"type": "object"}, "enabled": BOOL, "created_at": DATETIME,
    }),
    "AgentCreate": obj({
        "name": TEXT, "type": {"type": "string", "enum": ["radius", "netflow", "usbox"]},
        "options": {"type": "object"}, "listen_address": TEXT,
    }, required=["name", "type"]),
    "AgentUpdate": obj({"name": TEXT, "options": {"type": "object"}, "enabled": BOOL}),
    "Nas": obj({
        "id": ID, "name": TEXT, "ip": TEXT,
        "vendor": {"type": "string", "enum": ["mikrotik", "accel-ppp", "cisco", "generic"]},
        "coa_port": INT, "agent_id": nullable(ID), "require_message_authenticator": BOOL, "created_at": DATETIME,
    }, description="The RADIUS secret is never returned."),
    "NasInput": obj({
        "name": TEXT, "ip": TEXT, "secret": {"type": "string", "description": "Write-only."},
        "vendor": {"type": "string", "enum": ["mikrotik", "accel-ppp", "cisco", "generic"], "default": "generic"},
        "coa_port": {"type": "integer", "default": 3799}, "agent_id": nullable(ID),
        "require_message_authenticator": BOOL,
    }, description="name, ip and secret are required on creation."),
    "Block": obj({
        "kind": {"type": "string", "enum": ["balance", "admin", "traffic", "user"]},
        "since": nullable(DATETIME), "reason": TEXT, "actor": TEXT,
    }),
    "Account": obj({
        "id": ID, "agreement_id": ID, "subscriber_id": ID, "agent_id": ID, "tariff_id": ID, "login": TEXT,
        "ips": {"type": "array", "items": TEXT}, "mac": TEXT, "phone_numbers": TEXT, "bandwidth_kbit": INT,
        "max_sessions": INT, "connect_date": DATE, "disconnect_date": nullable(DATE),
        "keep_remote_address": BOOL, "keep_remote_port": BOOL, "description": TEXT, "options": {"type": "object"},
        "state": {"type": "string", "enum": ["active", "balance", "admin", "traffic", "user", "off"]},
        "state_label": TEXT, "state_changed_at": DATETIME, "is_off": BOOL,
        "blocks": {"type": "array", "items": ref("Block")},
        "deleted": BOOL, "deleted_at": nullable(DATETIME), "version": INT,
        "created_at": DATETIME, "updated_at": DATETIME,
    }, description="The password is never returned."),
    "AccountCreate": obj({"agreement_id": ID, "agent_id": ID, **_ACCOUNT_FIELDS},
                         required=["agreement_id", "agent_id", "tariff_id", "login"]),
    "AccountUpdate": obj({**_ACCOUNT_FIELDS, "version": INT}),
    "BlockCreate": obj({"kind": {"type": "string", "enum": ["admin", "user"]}, "reason": TEXT},
                       required=["kind"], description="An admin block needs a reason."),
    "Payment": obj({
        "id": ID, "agreement_id": ID, "amount": MONEY, "paid_at": DATETIME, "document_number": TEXT,
        "method": {"type": "string", "enum": ["cash", "bank", "card", "gateway"]}, "gateway": TEXT,
        "external_id": nullable(TEXT), "comment": TEXT, "manager_id": nullable(ID), "actor": TEXT,
        "entry_id": nullable(ID), "cancelled": BOOL, "cancelled_at": nullable(DATETIME), "cancelled_by": TEXT,
        "cancel_reason": TEXT, "reversal_entry_id": nullable(ID), "created_at": DATETIME,
    }),
    "PaymentCreate": obj({
        "agreement_id": ID, "amount": MONEY_IN, "document_number": TEXT,
        "external_id": {"type": "string", "nullable": True, "description": "Idempotency key within the API."},
        "paid_at": {"type": "string", "nullable": True,
                    "description": "A date or date-time; naive values are the operator's local time; "
                                   "the past is allowed, the future is not."},
        "comment": TEXT, "method": {"type": "string", "enum": ["cash", "bank", "card", "gateway"], "default": "cash"},
    }, required=["agreement_id", "amount", "document_number"]),
    "PaymentCancel": obj({"reason": TEXT}, required=["reason"]),
    "SubscriberPage": page_of("Subscriber"),
    "TariffPage": page_of("Tariff"),
    "AgentPage": page_of("Agent"),
    "NasPage": page_of("Nas"),
    "LedgerPage": page_of("LedgerEntry"),
    "AgreementPage": page_of("Agreement"),
    "AccountPage": page_of("Account"),
    "PaymentPage": page_of("Payment"),
}

# --- paths -------------------------------------------------------------------
# The test fails for a route without a path and for a path without a route.

PATHS: dict[str, dict] = {
    "/openapi.json": {
        "get": {"summary": "This document", "security": [],
                "responses": {"200": {"description": "The OpenAPI document"}}},
    },
    "/subscribers": {
        "get": operation(
            "List subscribers", permission="subscribers.view",
            parameters=[{"name": "q", "in": "query", "schema": TEXT,
                         "description": "Contains, in name, e-mail, phone or cabinet login."}, *PAGING],
            responses={**ok("SubscriberPage"), **errors(400, 403)}),
        "post": operation("Create a subscriber", permission="subscribers.edit", request=body("SubscriberCreate"),
                          parameters=[PASSPORT],
                          responses={**ok("Subscriber", "Created", "201"), **errors(400, 403, 409, 422)}),
    },
    "/subscribers/{subscriber_id}": {
        "parameters": [path_id("subscriber_id")],
        "get": operation("A subscriber", permission="subscribers.view", parameters=[PASSPORT],
                         responses={**ok("Subscriber"), **errors(403, 404)}),
        "patch": operation("Update a subscriber (kind and category are fixed)", permission="subscribers.edit",
                           request=body("SubscriberUpdate"), parameters=[PASSPORT],
                           responses={**ok("Subscriber"), **errors(400, 403, 404, 409, 422)}),
    },
    "/subscribers/{subscriber_id}/cabinet-password": {
        "parameters": [path_id("subscriber_id")],
        "put": operation("Set or reset (generate) the cabinet password", permission="subscribers.edit",
                         request=body("CabinetPasswordSet"),
                         responses={**ok("CabinetPassword"), **errors(400, 403, 404, 422)}),
    },
    "/agreements": {
        "get": operation(
            "List agreements", permission="subscribers.view",
            parameters=[{"name": "subscriber_id", "in": "query", "schema": ID},
                        {"name": "number", "in": "query", "schema": TEXT, "description": "Exact number."}, *PAGING],
            responses={**ok("AgreementPage"), **errors(400, 403)}),
        "post": operation("Create an agreement", permission="subscribers.edit", request=body("AgreementCreate"),
                          description="The number comes from the configured pattern unless given.",
                          responses={**ok("Agreement", "Created", "201"), **errors(400, 403, 409, 422)}),
    },
    "/agreements/{agreement_id}": {
        "parameters": [path_id("agreement_id")],
        "get": operation("An agreement with its balance", permission="subscribers.view",
                         responses={**ok("Agreement"), **errors(403, 404)}),
        "patch": operation("Change the credit limit", permission="subscribers.edit", request=body("AgreementUpdate"),
                           responses={**ok("Agreement"), **errors(400, 403, 404, 422)}),
    },
    "/agreements/{agreement_id}/ledger": {
        "parameters": [path_id("agreement_id")],
        "get": operation(
            "The agreement's ledger", permission="subscribers.view",
            parameters=[{"name": "from", "in": "query", "schema": DATE, "description": "Booked on or after."},
                        {"name": "to", "in": "query", "schema": DATE, "description": "Booked on or before."},
                        *PAGING],
            responses={**ok("LedgerPage"), **errors(400, 403, 404)}),
    },
    "/tariffs": {
        "get": operation("List tariffs",
                         parameters=[{"name": "archived", "in": "query", "schema": BOOL,
                                      "description": "Include archived tariffs."}, *PAGING],
                         responses={**ok("TariffPage"), **errors(400)}),
        "post": operation("Create a tariff", permission="tariffs.edit", request=body("TariffCreate"),
                          responses={**ok("Tariff", "Created", "201"), **errors(400, 403, 422)}),
    },
    "/tariffs/{tariff_id}": {
        "parameters": [path_id("tariff_id")],
        "get": operation("A tariff", responses={**ok("Tariff"), **errors(404)}),
        "patch": operation("Update, archive or restore a tariff", permission="tariffs.edit",
                           request=body("TariffUpdate"),
                           responses={**ok("Tariff"), **errors(400, 403, 404, 409, 422)}),
    },
    "/agents": {
        "get": operation("List agents", parameters=PAGING, responses={**ok("AgentPage"), **errors(400)}),
        "post": operation("Create an agent", permission="settings.edit", request=body("AgentCreate"),
                          responses={**ok("Agent", "Created", "201"), **errors(400, 403, 409, 422)}),
    },
    "/agents/{agent_id}": {
        "parameters": [path_id("agent_id")],
        "get": operation("An agent", responses={**ok("Agent"), **errors(404)}),
        "patch": operation("Update an agent", permission="settings.edit", request=body("AgentUpdate"),
                           responses={**ok("Agent"), **errors(400, 403, 404, 409, 422)}),
    },
    "/nas": {
        "get": operation("List NAS", permission="settings.edit", parameters=PAGING,
                         responses={**ok("NasPage"), **errors(400, 403)}),
        "post": operation("Create a NAS", permission="settings.edit", request=body("NasInput"),
                          responses={**ok("Nas", "Created", "201"), **errors(400, 403, 409, 422)}),
    },
    "/nas/{nas_id}": {
        "parameters": [path_id("nas_id")],
        "get": operation("A NAS", permission="settings.edit", responses={**ok("Nas"), **errors(403, 404)}),
        "patch": operation("Update a NAS", permission="settings.edit", request=body("NasInput"),
                           responses={**ok("Nas"), **errors(400, 403, 404, 409, 422)}),
    },
    "/accounts": {
        "get": operation(
            "List accounts", permission="subscribers.view",
            parameters=[{"name": "agreement_id", "in": "query", "schema": ID},
                        {"name": "subscriber_id", "in": "query", "schema": ID},
                        {"name": "agent_id", "in": "query", "schema": ID},
                        {"name": "login", "in": "query", "schema": TEXT, "description": "Exact login."},
                        {"name": "deleted", "in": "query", "schema": BOOL, "description": "Include deleted accounts."},
                        *PAGING],
            responses={**ok("AccountPage"), **errors(400, 403)}),
        "post": operation("Create an account", permission="subscribers.edit", request=body("AccountCreate"),
                          responses={**ok("Account", "Created", "201"), **errors(400, 403, 409, 422)}),
    },
    "/accounts/{account_id}": {
        "parameters": [path_id("account_id")],
        "get": operation("An account with its state and blocks", permission="subscribers.view",
                         responses={**ok("Account"), **errors(403, 404)}),
        "patch": operation("Update an account", permission="subscribers.edit", request=body("AccountUpdate"),
                           description="A new tariff_id switches the tariff now.",
                           responses={**ok("Account"), **errors(400, 403, 404, 409, 422)}),
        "delete": operation("Delete an account (marked deleted, history kept)", permission="subscribers.edit",
                            responses={**ok("Account"), **errors(403, 404)}),
    },
    "/accounts/{account_id}/blocks": {
        "parameters": [path_id("account_id")],
        "post": operation("Set an admin or user block", permission="subscribers.edit", request=body("BlockCreate"),
                          responses={**ok("Account", "Set", "201"), **ok("Account", "Already set"),
                                     **errors(400, 403, 404, 409, 422)}),
    },
    "/accounts/{account_id}/blocks/{kind}": {
        "parameters": [path_id("account_id"),
                       {"name": "kind", "in": "path", "required": True,
                        "schema": {"type": "string", "enum": ["balance", "admin", "traffic", "user"]}}],
        "delete": operation("Lift a block (a balance block only lifts by funds: 409)",
                            permission="subscribers.edit",
                            responses={**ok("Account"), **errors(400, 403, 404, 409, 422)}),
    },
    "/payments": {
        "get": operation(
            "List payments, newest first", permission="subscribers.view",
            parameters=[{"name": "agreement_id", "in": "query", "schema": ID},
                        {"name": "external_id", "in": "query", "schema": TEXT,
                         "description": "The external_id of a payment booked through the API."}, *PAGING],
            responses={**ok("PaymentPage"), **errors(400, 403)}),
        "post": operation(
            "Book a payment", permission="payments.create", request=body("PaymentCreate"),
            description="The same external_id again answers 200 with the payment booked before and books nothing.",
            responses={**ok("Payment", "Booked", "201"), **ok("Payment", "Booked before (same external_id)"),
                       **errors(400, 403, 409, 422)}),
    },
    "/payments/{payment_id}": {
        "parameters": [path_id("payment_id")],
        "get": operation("A payment", permission="subscribers.view", responses={**ok("Payment"), **errors(403, 404)}),
    },
    "/payments/{payment_id}/cancel": {
        "parameters": [path_id("payment_id")],
        "post": operation("Cancel a payment by a reversing entry", permission="payments.cancel",
                          request=body("PaymentCancel"),
                          responses={**ok("Payment"), **errors(400, 403, 404, 409, 422)}),
    },
}


# --- traffic statistics and categories --------------------------------------------

SCHEMAS.update({
    "TrafficRow": obj({
        "period": nullable(TEXT), "category": nullable(TEXT), "category_id": nullable(INT),
        "remote": nullable(TEXT), "port": nullable(INT), "bytes_in": INT, "bytes_out": INT, "bytes_total": INT,
        "cost": MONEY,
    }, description="One row of traffic statistics; period is a local day (2026-01-05) or hour "
                   "(2026-01-05 14:00), null when grouped by category or address."),
    "TrafficReport": obj({"items": {"type": "array", "items": ref("TrafficRow")}, "total": ref("TrafficRow")},
                         required=("items", "total")),
    "TrafficCategory": obj({
        "id": ID, "tariff_id": ID, "name": TEXT, "networks": {"type": "array", "items": TEXT},
        "price_in_mb": MONEY, "price_out_mb": MONEY, "prepaid": BOOL,
    }),
    "TrafficCategoryList": obj({"items": {"type": "array", "items": ref("TrafficCategory")}}, required=("items",)),
    "TrafficCategoryCreate": obj({
        "name": TEXT, "networks": {"type": "array", "items": TEXT, "description": "CIDRs; empty: everything else"},
        "price_in_mb": MONEY_IN, "price_out_mb": MONEY_IN, "prepaid": BOOL,
    }, required=("name",)),
})
PATHS.update({
    "/accounts/{account_id}/traffic": {
        "parameters": [path_id("account_id")],
        "get": operation(
            "Traffic statistics of an account", permission="subscribers.view",
            parameters=[
                {"name": "from", "in": "query", "schema": DATE},
                {"name": "to", "in": "query", "schema": DATE},
                {"name": "group", "in": "query",
                 "schema": {"type": "string", "enum": ["day", "hour", "category", "address", "port"],
                            "default": "day"}},
                {"name": "remote", "in": "query", "schema": TEXT,
                 "description": "With group=port: the ports of one remote address."},
            ],
            responses={**ok("TrafficReport"), **errors(400, 403, 404, 422)}),
    },
    "/tariffs/{tariff_id}/categories": {
        "parameters": [path_id("tariff_id")],
        "get": operation("Traffic categories of a tariff", responses={**ok("TrafficCategoryList"), **errors(404)}),
        "post": operation("Add a traffic category", permission="tariffs.edit", request=body("TrafficCategoryCreate"),
                          responses={**ok("TrafficCategory", "Created", "201"), **errors(400, 403, 404, 422)}),
    },
})


# --- tariff changes --------------------------------------------------------------------

SCHEMAS.update({
    "TariffChange": obj({
        "id": ID, "account_id": ID, "tariff_id": ID, "previous_tariff_id": nullable(ID), "at": DATETIME,
        "applied_at": nullable(DATETIME), "cancelled_at": nullable(DATETIME), "actor": TEXT,
        "state": {"type": "string", "enum": ["planned", "applied", "cancelled"]},
    }),
    "TariffChangeList": obj({"items": {"type": "array", "items": ref("TariffChange")}}, required=("items",)),
    "TariffChangeCreate": obj({
        "tariff_id": ID,
        "at": nullable({"type": "string", "description": "A date (00:00 local of it) or a date-time; "
                                                         "omitted or past: now."}),
    }, required=("tariff_id",)),
})
PATHS.update({
    "/accounts/{account_id}/tariff-changes": {
        "parameters": [path_id("account_id")],
        "get": operation("Tariff changes of an account, planned and done, newest first",
                         permission="subscribers.view", responses={**ok("TariffChangeList"), **errors(403, 404)}),
        "post": operation("Change the tariff now or plan a change", permission="subscribers.edit",
                          request=body("TariffChangeCreate"),
                          description="The day of a change belongs to the new tariff (DESIGN §6); service "
                                      "is never interrupted.",
                          responses={**ok("TariffChange", "Created", "201"), **errors(400, 403, 404, 409, 422)}),
    },
    "/accounts/{account_id}/tariff-changes/{change_id}": {
        "parameters": [path_id("account_id"), path_id("change_id")],
        "delete": operation("Cancel a planned tariff change", permission="subscribers.edit",
                            responses={**ok("TariffChange"), **errors(403, 404, 409)}),
    },
})


# --- the promised payment ----------------------------------------------------------------

SCHEMAS.update({
    "PromisedPayment": obj({"id": ID, "agreement_id": ID, "amount": MONEY, "created_at": DATETIME,
                            "due_at": DATETIME, "state": {"type": "string", "enum": ["open", "repaid", "expired"]}}),
    "PromisedPaymentCreate": obj({"amount": MONEY_IN}, required=("amount",)),
})
PATHS.update({
    "/agreements/{agreement_id}/promised-payment": {
        "parameters": [path_id("agreement_id")],
        "post": operation("Give a promised payment (a temporary credit)", permission="payments.create",
                          request=body("PromisedPaymentCreate"),
                          responses={**ok("PromisedPayment", "Created", "201"), **errors(400, 403, 404, 409, 422)}),
    },
})


# --- services: the catalogue, attached services, the one-off import ---------------------

SCHEMAS.update({
    "ServiceCreate": obj({"name": TEXT, "kind": {"type": "string", "enum": ["periodic", "one_off"]},
                          "scheme": {"type": "string", "enum": ["monthly", "daily", "dynamic"]},
                          "price": MONEY_IN, "currency": TEXT}, required=("name",)),
    "Service": obj({"id": ID, "name": TEXT, "kind": TEXT, "scheme": TEXT, "price": MONEY}),
    "ServiceImport": obj({
        "csv": TEXT, "dry_run": {"type": "boolean", "default": True},
        "mapping": {"type": "object", "additionalProperties": TEXT,
                    "description": "Our field → the file's column: login, account_id or agreement (its "
                                   "number, with one live account), service (or service_id for every row), "
                                   "date, quantity, amount, comment."},
        "service_id": nullable(ID), "delimiter": nullable(TEXT),
    }, required=("csv", "mapping")),
    "ServiceImportReport": obj({
        "dry_run": {"type": "boolean"}, "rows": INT, "good": INT,
        "errors": {"type": "array", "items": obj({"line": INT, "message": TEXT})},
        "created": {"type": "array", "items": ref("AccountService")},
    }),
    "AccountService": obj({"id": ID, "account_id": ID, "service_id": ID, "start_date": DATE,
                           "end_date": nullable(DATE), "quantity": INT, "comment": TEXT}),
    "AccountServiceCreate": obj({"service_id": ID, "start_date": nullable(DATE), "end_date": nullable(DATE),
                                 "quantity": INT, "comment": nullable(TEXT), "amount": nullable(MONEY_IN)},
                                required=("service_id",)),
})
PATHS.update({
    "/services": {
        "post": operation("Add a service to the catalogue", permission="tariffs.edit", request=body("ServiceCreate"),
                          responses={**ok("Service", "Created", "201"), **errors(400, 403, 422)}),
    },
    "/services/import": {
        "post": operation("Import rendered one-off services from CSV", permission="payments.create",
                          request=body("ServiceImport"),
                          description="A dry run (the default) saves nothing and reports every bad row; a real "
                                      "import with a bad row saves nothing and answers 422 with the report.",
                          responses={**ok("ServiceImportReport"), **errors(400, 403, 422)}),
    },
    "/accounts/{account_id}/services": {
        "parameters": [path_id("account_id")],
        "post": operation("Attach a periodic or one-off service", permission="subscribers.edit",
                          request=body("AccountServiceCreate"),
                          responses={**ok("AccountService", "Created", "201"), **errors(400, 403, 404, 409, 422)}),
    },
})

# --- payment systems ----------------------------------------------------------------------

_PAYMENT_SYSTEM_FIELDS = {
    "code": {"type": "string", "pattern": "^[a-z0-9_-]{2,24}$", "description": "Its URL: /pay/{code}."},
    "name": TEXT,
    "kind": {"type": "string", "enum": ["osmp", "sberbank_online", "yookassa", "registry", "cards"]},
    "operator_id": nullable(ID),
    "allowed_networks": {"type": "array", "items": TEXT, "description": "CIDR networks requests may come from."},
    "login": {**TEXT, "description": "HTTP basic login providers send (empty: none asked)."},
    "account_identifier": {"type": "string", "enum": ["agreement", "agreement_check_digit"]},
    "min_amount": nullable(MONEY_IN), "max_amount": nullable(MONEY_IN),
    "options": {"type": "object", "description": "Per kind; yookassa: shop_id, api_url, methods "
                                                 "(bank_card, sbp), autopay, autopay_days_before."},
    "needs_receipt": BOOL, "enabled": BOOL,
}
_SECRET = {"password": {**TEXT, "writeOnly": True,
                        "description": "HTTP basic password or ЮKassa's secret key; never returned. "
                                       "Empty or absent on update: kept."}}
SCHEMAS.update({
    "PaymentSystem": obj({"id": ID, **_PAYMENT_SYSTEM_FIELDS, "min_amount": NULL_MONEY, "max_amount": NULL_MONEY,
                          "password_set": BOOL, "url": TEXT, "version": INT, "created_at": DATETIME}),
    "PaymentSystemPage": page_of("PaymentSystem"),
    "PaymentSystemCreate": obj({**_PAYMENT_SYSTEM_FIELDS, **_SECRET}, required=("code", "name", "kind")),
    "PaymentSystemUpdate": obj({**_PAYMENT_SYSTEM_FIELDS, **_SECRET, "version": INT}),
})
PATHS.update({
    "/payment-systems": {
        "get": operation("List payment systems", permission="settings.edit", parameters=PAGING,
                         responses={**ok("PaymentSystemPage"), **errors(400, 403)}),
        "post": operation("Configure a payment system", permission="settings.edit",
                          request=body("PaymentSystemCreate"),
                          responses={**ok("PaymentSystem", "Created", "201"), **errors(400, 403, 422)}),
    },
    "/payment-systems/{system_id}": {
        "parameters": [path_id("system_id")],
        "get": operation("A payment system", permission="settings.edit",
                         responses={**ok("PaymentSystem"), **errors(403, 404)}),
        "patch": operation("Update a payment system", permission="settings.edit",
                           request=body("PaymentSystemUpdate"),
                           responses={**ok("PaymentSystem"), **errors(400, 403, 404, 409, 422)}),
    },
})

# --- documents: invoices, acts, VAT invoices, УПД, reconciliation statements -----------

_DOCUMENT_KINDS = ["invoice", "prepayment_invoice", "act", "vat_invoice", "upd", "reconciliation"]
SCHEMAS.update({
    "DocumentLine": obj({"name": TEXT, "unit": TEXT, "quantity": TEXT, "price": MONEY, "amount": MONEY,
                         "vat_amount": MONEY}),
    "Document": obj({
        "id": ID, "agreement_id": ID, "kind": {"type": "string", "enum": _DOCUMENT_KINDS}, "number": TEXT,
        "date": DATE, "period_start": nullable(DATE), "period_end": nullable(DATE), "amount": MONEY,
        "vat_percent": nullable(INT), "vat_amount": MONEY, "lines": {"type": "array", "items": ref("DocumentLine")},
        "state": {"type": "string", "enum": ["issued", "cancelled"]}, "cancelled_at": nullable(DATETIME),
        "cancel_reason": TEXT, "replaces_id": nullable(ID), "replaced_by_id": nullable(ID), "created_at": DATETIME,
        "pdf_url": TEXT,
    }),
    "DocumentCreate": obj({
        "kind": {"type": "string", "enum": _DOCUMENT_KINDS},
        "period": {**nullable(TEXT), "description": "YYYY-MM, or YYYY-MM-DD..YYYY-MM-DD (acts, VAT invoices, "
                                                    "УПД, reconciliation statements, invoices for a period)"},
        "amount": {**MONEY_IN, "nullable": True, "description": "invoices and prepayment invoices for an amount"},
        "template": {**nullable(TEXT), "description": "a template variant's id or file name"},
    }, required=("kind",)),
    "DocumentCancel": obj({"reason": TEXT, "correct": BOOL}, required=("reason",)),
    "DocumentPage": page_of("Document"),
})
PATHS.update({
    "/agreements/{agreement_id}/documents": {
        "parameters": [path_id("agreement_id")],
        "get": operation("Documents of an agreement", permission="subscribers.view", parameters=PAGING,
                         responses={**ok("DocumentPage"), **errors(400, 403, 404)}),
        "post": operation("Issue a document", permission="payments.create", request=body("DocumentCreate"),
                          description="An act, VAT invoice or УПД is issued once per period: asking again "
                                      "answers 200 with the existing one.",
                          responses={**ok("Document", "Created", "201"), **ok("Document", "Issued already"),
                                     **errors(400, 403, 404, 409, 422)}),
    },
    "/documents/{document_id}": {
        "parameters": [path_id("document_id")],
        "get": operation("A document", permission="subscribers.view", responses={**ok("Document"), **errors(403, 404)}),
    },
    "/documents/{document_id}.pdf": {
        "parameters": [path_id("document_id")],
        "get": operation("A document's PDF", permission="subscribers.view",
                         responses={"200": {"description": "The PDF", "content": {"application/pdf": {}}},
                                    **errors(403, 404)}),
    },
    "/documents/{document_id}/cancel": {
        "parameters": [path_id("document_id")],
        "post": operation("Cancel a document, or correct it (cancel and issue anew)", permission="payments.cancel",
                          request=body("DocumentCancel"),
                          responses={**ok("Document"), **ok("Document", "The corrected document", "201"),
                                     **errors(400, 403, 404, 409, 422)}),
    },
})


_READ_ONLY = "The token is read-only (scope `read`): it may only read data."
_NOT_JSON = "The body is not declared JSON (Content-Type: application/json)."


def _with_common_refusals(paths: dict) -> dict:
    """Add the refusals every operation of a kind can get, decided before
    the route runs: a write with a read-only token (403), a body that is
    not declared JSON (415).  A write is what a read-only token may not
    do (lanbill.api.READ_METHODS)."""
    error = {"content": {"application/json": {"schema": ref("Error")}}}
    for item in paths.values():
        for method, operation_ in item.items():
            if method == "parameters" or method.upper() in READ_METHODS:
                continue
            responses = operation_["responses"]
            forbidden = responses.get("403")
            responses["403"] = {"description": f"{forbidden['description']} Or: {_READ_ONLY}" if forbidden
                                else _READ_ONLY, **error}
            if "requestBody" in operation_:
                responses["415"] = {"description": _NOT_JSON, **error}
    return paths


def document() -> dict:
    """The whole document; a deep copy, so a caller may change it freely."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "LANBill API",
            "version": "1",
            "description": "ISP billing: subscribers, agreements, accounts, payments, tariffs. "
                           "Money is a decimal string with two places (\"650.00\"); dates and times are "
                           "ISO 8601, times in UTC. Errors: {\"error\": \"...\", \"fields\": {...}} in the "
                           "request's language (Accept-Language: ru, en; ru by default).",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": _with_common_refusals(copy.deepcopy(PATHS)),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "flask --app app token create --manager LOGIN"}},
            "schemas": copy.deepcopy(SCHEMAS),
        },
    }


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())
