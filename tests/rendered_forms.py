"""Fill a form as a browser would: the values a rendered page's <form>
submits (text and hidden inputs, checked boxes, the selected option,
textarea text), so a test posts what the page actually renders and only
changes the fields a person would type into."""

from __future__ import annotations

from html.parser import HTMLParser


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form = None
        self._select = None
        self._select_first = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = {"action": attrs.get("action") or "", "fields": {}, "checkboxes": set()}
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = attrs.get("name")
        fields = self._form["fields"]
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                self._form["checkboxes"].add(name)
                if "checked" in attrs:
                    fields[name] = attrs.get("value", "y")
            elif kind not in ("submit", "button", "file", "image", "reset"):
                fields[name] = attrs.get("value", "")
        elif tag == "select" and name:
            self._select, self._select_first = name, None
        elif tag == "option" and self._select:
            value = attrs.get("value", "")
            if self._select_first is None:
                self._select_first = value
                fields.setdefault(self._select, value)
            if "selected" in attrs:
                fields[self._select] = value
        elif tag == "textarea" and name:
            self._textarea = name
            fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self._form is not None:
            self._form["fields"][self._textarea] += data


def form_values(html: str, having: str) -> dict[str, str]:
    """The fields the <form> of `html` that has a field named `having`
    submits unchanged (a leading newline of a textarea is dropped, as
    browsers do)."""
    parser = _Forms()
    parser.feed(html)
    form = next(form for form in parser.forms if having in form["fields"] or having in form["checkboxes"])
    fields = dict(form["fields"])
    for name, value in fields.items():
        if value.startswith("\r\n"):
            fields[name] = value[2:]
        elif value.startswith("\n"):
            fields[name] = value[1:]
    return fields
