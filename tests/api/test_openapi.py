"""The OpenAPI document describes exactly the routes of /api/v1: every
route (method + path) is documented and every documented path exists."""

from __future__ import annotations

import re

from lanbill.api.unknown import CATCH_ALL_ENDPOINTS

PREFIX = "/api/v1"
IGNORED_METHODS = {"HEAD", "OPTIONS"}
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def routes(app) -> set[tuple[str, str]]:
    out = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint in CATCH_ALL_ENDPOINTS:
            continue
        assert rule.rule.startswith(PREFIX), rule.rule
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule[len(PREFIX):])
        for method in rule.methods - IGNORED_METHODS:
            out.add((method.lower(), path))
    return out


def documented(document) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def test_every_route_is_documented_and_every_documented_path_exists(app, client):
    document = client.get("/api/v1/openapi.json").json
    real, described = routes(app), documented(document)
    assert real, "no API routes found"
    assert real - described == set(), "routes missing from lanbill/api/openapi.py"
    assert described - real == set(), "documented paths without a route"


def test_path_parameters_are_declared_and_refs_resolve(client):
    document = client.get("/api/v1/openapi.json").json
    schemas = document["components"]["schemas"]
    for path, item in document["paths"].items():
        names = set(re.findall(r"{([^}]+)}", path))
        for method in HTTP_METHODS & set(item):
            declared = {p["name"] for p in item.get("parameters", []) + item[method].get("parameters", [])
                        if p["in"] == "path"}
            assert names == declared, (method, path)
            assert item[method]["responses"], (method, path)
    text = str(document)
    for name in re.findall(r"#/components/schemas/([A-Za-z0-9_]+)", text):
        assert name in schemas, name


def test_document_is_openapi_3_with_bearer_auth(client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.0")
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["paths"]["/openapi.json"]["get"]["security"] == []


def test_payment_systems_are_documented_with_a_write_only_secret(client):
    document = client.get("/api/v1/openapi.json").json
    assert {"get", "post"} <= set(document["paths"]["/payment-systems"])
    assert {"get", "patch"} <= set(document["paths"]["/payment-systems/{system_id}"])
    schemas = document["components"]["schemas"]
    assert "password" not in schemas["PaymentSystem"]["properties"]
    assert schemas["PaymentSystemCreate"]["properties"]["password"]["writeOnly"] is True


def test_the_refusals_made_before_a_route_runs_are_documented(app, client, api):
    """Every operation may get 401 (no, a revoked or an expired token),
    every write 403 (a read-only token) and every write with a body 415
    (not declared JSON); the document says so, and the API does it."""
    document = client.get("/api/v1/openapi.json").json
    writes_with_body = []
    for path, item in document["paths"].items():
        for method in HTTP_METHODS & set(item):
            responses = item[method]["responses"]
            if path != "/openapi.json":
                assert "expired" in responses["401"]["description"], (method, path)
            if method != "get":
                assert "read-only" in responses["403"]["description"], (method, path)
            if "requestBody" in item[method]:
                assert "415" in responses, (method, path)
                writes_with_body.append((method, path))
    assert ("post", "/payments") in writes_with_body
    refused = api.post("/payments", data="amount=10", headers={"Content-Type": "text/plain"})
    assert refused.status_code == 415
