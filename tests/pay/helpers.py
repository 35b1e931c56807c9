"""Helpers for the payment-system tests: a configured system, an agreement
to pay, and reading the protocols' XML answers."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import pytest

from lanbill.paysys import systems
from tests.factories import ACTOR, make_account, make_agreement

LOGIN, PASSWORD = "terminal", "Term-secret-42"


def make_system(kind="osmp", **over):
    data = {"code": f"{kind.replace('_', '-')}-test", "name": f"{kind} test", "kind": kind,
            "allowed_networks": "127.0.0.0/8", "login": LOGIN, "password": PASSWORD}
    data.update(over)
    return systems.create_system(data, actor=ACTOR)


def basic(login=LOGIN, password=PASSWORD) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()}


def xml_fields(response) -> dict:
    root = ET.fromstring(response.data)
    assert root.tag == "response"
    return {child.tag: child.text for child in root}


def paid_agreement(balance_account=True):
    """An agreement with one account (so payments lift its blocks)."""
    agreement = make_agreement()
    if balance_account:
        make_account(agreement)
    return agreement


@pytest.fixture(autouse=True)
def fresh_system_cache():
    """Each test's database starts without payment systems: forget the
    ones a previous test's web worker cached (import it into a test module
    to use it there)."""
    systems.forget_cached()
    yield
    systems.forget_cached()
