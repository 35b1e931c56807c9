"""Helpers for the cabinet tests: a subscriber with a cabinet password and
an account, logging the test client in, and submitting a form as the page
renders it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from lanbill.customers import cabinet
from tests.factories import ACTOR, make_account, make_agreement, make_subscriber

PASSWORD = "Cabinet-pass1"


def make_cabinet_subscriber(password=PASSWORD, **over):
    """A subscriber with an agreement, one account and a cabinet password."""
    subscriber = make_subscriber(**over)
    agreement = make_agreement(subscriber)
    account = make_account(agreement)
    cabinet.set_password(subscriber, password, actor=ACTOR)
    return subscriber, agreement, account


class _Forms(HTMLParser):
    """Every form of a page: action, method and the fields it would send."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action", ""), "method": (attrs.get("method") or "get").lower(),
                               "fields": {}, "names": set()})
        elif self.forms and tag in ("input", "select", "textarea", "button"):
            name = attrs.get("name")
            if name:
                self.forms[-1]["names"].add(name)
                if tag == "input" and attrs.get("type") not in ("checkbox", "radio", "submit", "password"):
                    self.forms[-1]["fields"][name] = attrs.get("value") or ""


def forms_of(html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def submit(client, page_url: str, values: dict, *, action: str | None = None, **kw):
    """GET `page_url`, find the form posting to `action` (default: to the
    page itself), check that every value names a field the page
    renders, fill them in and send it as the browser would."""
    page = client.get(page_url, **kw)
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    target = action or page_url.split("?")[0]
    candidates = [f for f in forms_of(html) if f["method"] == "post" and f["action"] == target]
    assert candidates, f"no POST form to {action!r} on {page_url}"
    form = candidates[0]
    unknown = set(values) - form["names"]
    assert not unknown, f"the page renders no field {unknown}"
    data = dict(form["fields"])
    data.update(values)
    return client.post(form["action"], data=data, **kw)


def log_in(client, login, password=PASSWORD, **kw):
    response = submit(client, "/", {"login": login, "password": password}, **kw)
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    return response


def text_of(response) -> str:
    return re.sub(r"[ \t\r\n]+", " ", response.get_data(as_text=True))
