"""Documents to PDF: an HTML template per kind (templates/documents/, each
overridable by a file of the same name in instance/templates/documents/)
rendered by Jinja2 and laid out by WeasyPrint (DESIGN §12).

The template sees the document's stored snapshot only (`doc`, `lines`,
`data`), never live rows, so re-rendering an issued document prints what
was issued."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration

from lanbill import templating
from lanbill.config import ROOT
from lanbill.documents.qr import qr_data_uri
from lanbill.money import format_money

TEMPLATES = ROOT / "templates" / "documents"


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


def render_html(document, instance_path) -> str:
    data = document.data or {}
    return templating.render(
        folders(instance_path), template_name(document), FILTERS,
        doc=document, data=data, lines=document.lines or [], seller=data.get("seller", {}),
        buyer=data.get("buyer", {}), logo=logo_url(instance_path, data.get("seller", {}).get("logo_path", "")),
    )


def render_pdf(document, instance_path) -> bytes:
    """The PDF of a document from its stored snapshot."""
    html = render_html(document, instance_path)
    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf(font_config=_font_config())


_fonts: dict[int, FontConfiguration] = {}


def _font_config() -> FontConfiguration:
    """One font configuration per process (loading fonts is a good part of
    a small document's time)."""
    pid = os.getpid()
    if pid not in _fonts:
        _fonts.clear()
        _fonts[pid] = FontConfiguration()
    return _fonts[pid]

