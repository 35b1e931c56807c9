"""Every admin page with a form renders each input once: a field rendered
twice (say, by the form's hidden-fields helper and again by the page) is
posted twice, and the first, empty, value is the one saved.  Only
checkbox groups and multi-selects may repeat a name."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

from lanbill.models import Agent, Nas, Role
from lanbill.models.operators import CurrencyRate
from tests.factories import make_account, make_agreement, make_subscriber


class FormInputs(HTMLParser):
    """The names of the inputs of each <form> of a page."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._current = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._current = {"action": attrs.get("action", ""), "names": Counter(), "types": {}}
            self.forms.append(self._current)
        elif tag in ("input", "select", "textarea") and self._current is not None and attrs.get("name"):
            kind = attrs.get("type", tag) if tag == "input" else ("multiple" if "multiple" in attrs else tag)
            self._current["names"][attrs["name"]] += 1
            self._current["types"].setdefault(attrs["name"], set()).add(kind)

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


# Inputs that may share a name: several values of one field.
REPEATABLE = {"checkbox", "radio", "multiple"}


def _duplicates(html: str) -> list[str]:
    parser = FormInputs()
    parser.feed(html)
    found = []
    for form in parser.forms:
        for name, count in form["names"].items():
            if count > 1 and not form["types"][name] <= REPEATABLE:
                found.append(f"{form['action']}: {name} ×{count}")
    return found


def _form_pages(app) -> list[str]:
    subscriber = make_subscriber(name="Формов")
    agreement = make_agreement(subscriber, number="F-1")
    account = make_account(agreement, login="formlogin")
    ids = {"subscriber_id": subscriber.id, "agreement_id": agreement.id, "account_id": account.id,
           "agent_id": Agent.select().first().id, "nas_id": (Nas.select().first() or Nas(id=1)).id,
           "role_id": Role.select().first().id, "manager_id": 1, "operator_id": 1, "currency_id": 1,
           "group_id": 1, "tariff_id": account.tariff_id, "service_id": 1, "category_id": 1,
           "rate_id": (CurrencyRate.select().first() or CurrencyRate(id=1)).id, "agent_type": "radius",
           "level": "region", "entry_id": 1, "building_id": 1}
    pages = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or "GET" not in rule.methods:
            continue
        url = rule.rule
        for argument in rule.arguments:
            url = re.sub(r"<(?:[a-z]+:)?" + argument + ">", str(ids.get(argument, 1)), url)
        pages.append(url)
    # Pages that show another form in some state.
    pages += [f"/admin/subscribers/{subscriber.id}?passport=1", "/admin/subscribers/new?kind=legal",
              f"/admin/accounts/new?subscriber={subscriber.id}", f"/admin/payments?agreement={agreement.id}"]
    return sorted(set(pages))


def test_no_admin_form_renders_an_input_twice(app, client, admin, login_as):
    login_as()
    problems = []
    checked = 0
    for url in _form_pages(app):
        response = client.get(url)
        if response.status_code != 200 or response.mimetype != "text/html" \
                or "<form" not in response.get_data(as_text=True):  # a PDF or a file has no form
            continue
        checked += 1
        problems += [f"{url} {d}" for d in _duplicates(response.get_data(as_text=True))]
    assert checked > 20
    assert not problems, "\n".join(problems)


def test_the_checker_sees_a_hidden_field_rendered_twice():
    page = ('<form action="/x"><input type="hidden" name="main_building" value="">'
            '<input type="hidden" name="main_building" value="5"><input type="checkbox" name="g" value="1">'
            '<input type="checkbox" name="g" value="2"></form>')
    assert _duplicates(page) == ["/x: main_building ×2"]
