"""Submitting a rendered helpdesk form with files through the test client:
the form is found on the page as the browser gets it (inputs, the
selected option of each select, textareas), every value must name a
field the page renders, files go as multipart like a browser sends them."""

from __future__ import annotations

import io
from html.parser import HTMLParser


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._select = None
        self._first_option = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action", ""), "method": (attrs.get("method") or "get").lower(),
                               "fields": {}, "names": set()})
            return
        if not self.forms:
            return
        form = self.forms[-1]
        name = attrs.get("name")
        if tag == "textarea" and name:
            self._textarea = name
            form["fields"][name] = ""
        if tag in ("input", "textarea", "button") and name:
            form["names"].add(name)
            if tag == "input" and attrs.get("type") not in ("checkbox", "radio", "submit", "password", "file"):
                form["fields"][name] = attrs.get("value") or ""
        elif tag == "select" and name:
            form["names"].add(name)
            self._select, self._first_option = name, None
        elif tag == "option" and self._select:
            value = attrs.get("value", "")
            if self._first_option is None:
                self._first_option = value
                form["fields"][self._select] = value
            if "selected" in attrs:
                form["fields"][self._select] = value

    def handle_data(self, data):
        if self._textarea and self.forms:
            fields = self.forms[-1]["fields"]
            # WTForms writes a newline after <textarea>, which browsers drop
            fields[self._textarea] = (fields[self._textarea] + data).lstrip("\r\n") if not fields[
                self._textarea] else fields[self._textarea] + data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        if tag == "textarea":
            self._textarea = None


def forms_of(html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def submit_files(client, page_url: str, values: dict, *, action: str, files=(), file_field: str = "files"):
    """GET `page_url`, fill the POST form to `action` with `values` and
    `files` ([(name, bytes)]) and send it."""
    page = client.get(page_url)
    assert page.status_code == 200, page.status_code
    candidates = [f for f in forms_of(page.get_data(as_text=True)) if f["method"] == "post" and f["action"] == action]
    assert candidates, f"no POST form to {action!r} on {page_url}"
    form = candidates[0]
    unknown = (set(values) | ({file_field} if files else set())) - form["names"]
    assert not unknown, f"the page renders no field {unknown}"
    data = dict(form["fields"])
    data.update(values)
    if files:
        data[file_field] = [(io.BytesIO(content), name) for name, content in files]
    return client.post(action, data=data, content_type="multipart/form-data")
