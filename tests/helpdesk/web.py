"""Submitting a rendered helpdesk form with files through the test client:
the form is found on the page as the browser gets it, every value must
name a field the page renders, files go as multipart like a browser
sends them."""

from __future__ import annotations

import io

from tests.cabinet.helpers import forms_of


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
