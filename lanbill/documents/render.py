"""Documents to PDF: an HTML template per kind (templates/documents/, each
overridable by a file of the same name in instance/templates/documents/)
rendered by Jinja2 and laid out by WeasyPrint (DESIGN §12).

The template sees the document's stored snapshot only (`doc`, `lines`,
`data`), never live rows, so re-rendering an issued document prints what
was issued.

Rendering is the monthly run's cost (thousands of acts), so each process
keeps what does not change between documents (the rule of `html_to_pdf`):

- the stylesheet documents.css (the instance's copy if it has one) is
  parsed once and handed to WeasyPrint as a ready stylesheet, not inlined
  and re-parsed in every document;
- the fonts are configured once (`FontConfiguration`);
- the user-agent stylesheet is WeasyPrint's own without the rules that
  give every element footnote, note and list-marker pseudo-elements (a
  document has no footnotes; markers stay for list items): those cost a
  fifth of a small document's time;
- images (the logo) come from the instance or template folders through a
  fetcher that keeps them in memory; nothing is fetched from the network.
"""

from __future__ import annotations

import base64
import datetime as dt
import mimetypes
import os
import re
import threading
import urllib.parse
from decimal import Decimal
from pathlib import Path
from urllib.request import url2pathname

from weasyprint import CSS, HTML
from weasyprint.css.counters import CounterStyle
from weasyprint.html import UA
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from lanbill import templating
from lanbill.config import ROOT
from lanbill.documents.qr import qr_data_uri
from lanbill.money import format_money

TEMPLATES = ROOT / "templates" / "documents"
STYLESHEET = "documents.css"


def folders(instance_path) -> tuple[str, ...]:
    """Where templates are looked up: the instance's own
    templates/documents/ first, then the product's."""
    return (str(Path(instance_path) / "templates" / "documents"), str(TEMPLATES))


def _money(value) -> str:
    if value in (None, ""):
        return ""
    return format_money(Decimal(str(value)), symbol="")


MONTHS = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
          "ноября", "декабря")


def _ru_date(value, long=False) -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if long:
        return f"{value.day} {MONTHS[value.month - 1]} {value.year} г."
    return value.strftime("%d.%m.%Y")


FILTERS = {"money": _money, "ru_date": _ru_date, "qr": qr_data_uri}


def template_name(document) -> str:
    """The template file of a document: the chosen variant, else the kind's own."""
    return document.template or f"{document.kind}.html"


def logo_url(instance_path, logo_path: str) -> str:
    """A file URL of the operator's logo, only from inside the instance folder."""
    if not logo_path:
        return ""
    folder = Path(instance_path).resolve()
    path = (folder / logo_path).resolve()
    if folder not in path.parents or not path.is_file():
        return ""
    return path.as_uri()


def render_html(document, instance_path, *, inline_css: bool = True) -> str:
    """The document's HTML.  With `inline_css` False the stylesheet is left
    out of it (`render_pdf` hands WeasyPrint the parsed one instead); the
    HTML stands alone otherwise."""
    data = document.data or {}
    return templating.render(
        folders(instance_path), template_name(document), FILTERS,
        doc=document, data=data, lines=document.lines or [], seller=data.get("seller", {}),
        buyer=data.get("buyer", {}), logo=logo_url(instance_path, data.get("seller", {}).get("logo_path", "")),
        inline_css=inline_css,
    )


def render_pdf(document, instance_path) -> bytes:
    """The PDF of a document from its stored snapshot."""
    return html_to_pdf(render_html(document, instance_path, inline_css=False), instance_path, stylesheet=True)


def html_to_pdf(html: str, instance_path, *, stylesheet: bool = False) -> bytes:
    """Lay out `html` as a PDF with the process's cached engine (module
    docstring); `stylesheet` adds the parsed documents.css to it (as a user
    stylesheet: a template's own <style> rules come after it in the cascade)."""
    engine = _engine(instance_path)
    sheets = [engine.stylesheet(instance_path)] if stylesheet else []
    return _DocumentHTML(string=html, base_url=str(TEMPLATES), url_fetcher=engine.fetcher)\
        .write_pdf(stylesheets=sheets, font_config=engine.fonts)


# --- what a process keeps between documents --------------------------------------------------


def _light_user_agent_css() -> str | None:
    """WeasyPrint's user-agent stylesheet less the universal pseudo-element
    rules (module docstring); None if its text is not what was expected
    (another WeasyPrint version): then its own is used."""
    text = UA.replace("\n::marker {", "\nli::marker, summary::marker {", 1)
    text, removed = re.subn(r"(?m)^::(footnote|note)-[a-z-]+ \{[^\n]*\}\n", "", text)
    if text == UA or removed != 5:
        return None
    return text


_UA_TEXT = _light_user_agent_css()
_UA_SHEETS: list = []


class _DocumentHTML(HTML):
    """WeasyPrint's HTML with the lighter user-agent stylesheet."""

    def _ua_stylesheets(self, forms=False):
        if _UA_TEXT is None or forms:
            return super()._ua_stylesheets(forms)
        if not _UA_SHEETS:
            _UA_SHEETS.append(CSS(string=_UA_TEXT, counter_style=CounterStyle()))
        return list(_UA_SHEETS)


class _LocalFetcher(URLFetcher):
    """data: URIs, and files under the instance and template folders kept in
    memory (by path and modification time); everything else is refused."""

    def __init__(self, roots):
        super().__init__(allowed_protocols=("data", "file"))
        self._roots = [Path(root).resolve() for root in roots]
        self._files: dict[Path, tuple[int, bytes]] = {}

    def fetch(self, url, headers=None):
        if url.startswith("data:"):
            header, _, payload = url[5:].partition(",")
            media_type, is_base64 = header, header.endswith(";base64")
            if is_base64:
                media_type = header[:-7]
            body = base64.b64decode(payload) if is_base64 else urllib.parse.unquote_to_bytes(payload)
            return URLFetcherResponse(url, body, {"Content-Type": media_type or "text/plain"})
        if not url.startswith("file:"):
            raise ValueError("documents fetch no network resources")
        path = Path(url2pathname(urllib.parse.urlsplit(url).path)).resolve()
        if not any(root == path or root in path.parents for root in self._roots):
            raise ValueError("outside the document folders")
        stamp = path.stat().st_mtime_ns
        cached = self._files.get(path)
        if cached is None or cached[0] != stamp:
            if len(self._files) > 64:
                self._files.clear()
            cached = self._files[path] = (stamp, path.read_bytes())
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, cached[1], {"Content-Type": media_type})


class _Engine:
    """One process's fonts, fetcher and parsed stylesheets."""

    def __init__(self, instance_path):
        self.fonts = FontConfiguration()
        self.fetcher = _LocalFetcher([instance_path, TEMPLATES])
        self._sheets: dict[str, CSS] = {}

    def stylesheet(self, instance_path) -> CSS:
        """documents.css (the instance's if it has one), parsed once per text."""
        env = templating.environment(folders(instance_path), FILTERS)
        source = env.loader.get_source(env, STYLESHEET)[0]
        sheet = self._sheets.get(source)
        if sheet is None:
            if len(self._sheets) > 8:
                self._sheets.clear()
            sheet = self._sheets[source] = CSS(string=source, base_url=str(TEMPLATES), font_config=self.fonts,
                                               url_fetcher=self.fetcher)
        return sheet


_engines: dict[tuple[int, str], _Engine] = {}
_engines_lock = threading.Lock()


def _engine(instance_path) -> _Engine:
    """The engine of this process (a forked child makes its own) and instance."""
    key = (os.getpid(), str(instance_path))
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            if any(pid != key[0] for pid, _ in _engines):
                _engines.clear()
            engine = _engines[key] = _Engine(instance_path)
        return engine

