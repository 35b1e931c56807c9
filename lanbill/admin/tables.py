"""Admin tables: sortable columns, paging, CSV export and the visible
columns each manager chose (kept in Manager.preferences["columns"]).

A screen declares its `Column`s once; `Table.from_request` reads sort,
direction and page from the query string; `Table.page(query)` orders and
slices the query (one query for the page, no COUNT over the whole table:
the page asks for one row more to know whether a next page exists);
`Table.csv(query, filename)` streams every row of the same query.

Every CSV download of the admin screens goes through `csv_response`: its
cells are neutralised against spreadsheet formulas (`csv_cell`) and its
file name is sent the RFC 6266 way (`attachment_header`), whatever
characters an agreement number or a login holds.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import quote

from flask import Response, request, stream_with_context, url_for
from flask_babel import get_locale

PER_PAGE_CHOICES = (25, 50, 100, 200)
DEFAULT_PER_PAGE = 50
# The last page a table may ask for: far beyond any real list, yet small
# enough that page × per_page stays a plain integer for every database
# (a 20-digit page number would overflow PostgreSQL's bigint OFFSET).
MAX_PAGE = 1_000_000

# A cell starting with one of these is read as a formula by spreadsheet
# programs (CSV injection): such a cell is sent with a leading apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A plain number (an amount "-650,50", a count) is data, not a formula: it
# stays as it is so that the spreadsheet still adds it up.
PLAIN_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


def csv_cell(value, decimal_comma: bool = False) -> str:
    """One CSV cell as text, neutralised so that a spreadsheet shows it as
    written and never runs it as a formula (a subscriber named
    `=HYPERLINK(...)`, a comment starting with `+`).  A Decimal (money,
    traffic) is written with a decimal comma when `decimal_comma` (Russian
    spreadsheets read "650.50" as text or a date)."""
    if isinstance(value, Decimal) and decimal_comma:
        return str(value).replace(".", ",")
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def attachment_header(filename: str) -> str:
    """A Content-Disposition value for a download named `filename` (RFC
    6266): an ASCII fallback in `filename=` and the exact name, UTF-8 and
    percent-encoded, in `filename*=`.  Quotes, backslashes, control
    characters and path separators never reach the header as they are."""
    cleaned = re.sub(r'[\x00-\x1f\x7f"\\/]', "_", filename or "") or "download"
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", cleaned) or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(cleaned, safe='')}"


def csv_response(rows: Iterable[Iterable], filename: str) -> Response:
    """A CSV download: `rows` (the header first) written `;`-separated with
    a BOM and, in Russian, Decimal numbers with a decimal comma, so that
    spreadsheet programs in Russian locales open it as is;
    every cell neutralised, the file name sent safely.  `rows` may be a
    generator: the answer is streamed as it is produced."""

    decimal_comma = str(get_locale() or "ru").startswith("ru")

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";")
        buffer.write("\ufeff")
        for row in rows:
            writer.writerow([csv_cell(value, decimal_comma) for value in row])
            if buffer.tell() > 65536:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = Response(stream_with_context(generate()), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = attachment_header(filename)
    return response


@dataclass
class Column:
    """One column: `key` (URL and preference name), `label` (lazy msgid),
    `sort` (a Peewee expression to order by, None if not sortable),
    `value` (row → plain value for the cell and CSV), `visible` (shown by
    default), `csv` (exported)."""

    key: str
    label: object
    sort: object = None
    value: Callable | None = None
    visible: bool = True
    csv: bool = True
    css: str = ""

    def raw(self, row):
        """The cell's plain value (a Decimal stays a Decimal for the CSV)."""
        if self.value is not None:
            return self.value(row)
        return getattr(row, self.key, "")

    def text(self, row) -> str:
        result = self.raw(row)
        return "" if result is None else str(result)


@dataclass
class Page:
    items: list
    number: int
    per_page: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.items)


@dataclass
class Table:
    name: str
    columns: list[Column]
    sort_key: str
    descending: bool = False
    page_number: int = 1
    per_page: int = DEFAULT_PER_PAGE
    chosen: list[str] | None = None
    tie_breaker: object = None
    endpoint: str = ""
    view_args: dict = field(default_factory=dict)

    @classmethod
    def from_request(cls, name: str, columns: list[Column], *, default_sort: str, manager=None,
                     descending: bool = False, tie_breaker=None, args=None) -> Table:
        """Sort (`sort=key`, `-key` for descending), `page`, `per_page`
        from the query string; unknown values fall back to the defaults."""
        args = request.args if args is None else args
        keys = {c.key for c in columns if c.sort is not None}
        sort = args.get("sort", "")
        desc = descending
        if sort:
            desc = sort.startswith("-")
            sort = sort.lstrip("-")
        if sort not in keys:
            sort, desc = default_sort, descending
        page = parse_page(args.get("page"))
        try:
            per_page = int(args.get("per_page", DEFAULT_PER_PAGE))
        except ValueError:
            per_page = DEFAULT_PER_PAGE
        if per_page not in PER_PAGE_CHOICES:
            per_page = DEFAULT_PER_PAGE
        chosen = None
        if manager is not None:
            prefs = (manager.preferences or {}).get("columns", {})
            stored = prefs.get(name)
            if isinstance(stored, list):
                chosen = [k for k in stored if any(c.key == k for c in columns)] or None
        return cls(name=name, columns=columns, sort_key=sort, descending=desc, page_number=page,
                   per_page=per_page, chosen=chosen, tie_breaker=tie_breaker,
                   endpoint=request.endpoint or "", view_args=dict(request.view_args or {}))

    # --- columns -------------------------------------------------------------

    @property
    def visible_columns(self) -> list[Column]:
        if self.chosen is None:
            return [c for c in self.columns if c.visible]
        return [c for c in self.columns if c.key in self.chosen]

    def is_visible(self, key: str) -> bool:
        return any(c.key == key for c in self.visible_columns)

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    # --- URLs ----------------------------------------------------------------

    def url(self, **changes) -> str:
        """The current URL with some query arguments changed (None drops one)."""
        args = request.args.to_dict(flat=True)
        for key, value in changes.items():
            if value is None:
                args.pop(key, None)
            else:
                args[key] = value
        return url_for(self.endpoint, **self.view_args, **args)

    def sort_url(self, column: Column) -> str:
        desc = not self.descending if column.key == self.sort_key else False
        return self.url(sort=("-" if desc else "") + column.key, page=None)

    def page_url(self, number: int) -> str:
        return self.url(page=number if number > 1 else None)

    def csv_url(self) -> str:
        return self.url(format="csv", page=None)

    def sort_state(self, column: Column) -> str:
        """"asc", "desc" or "" — for the header's aria-sort and arrow."""
        if column.key != self.sort_key:
            return ""
        return "desc" if self.descending else "asc"

    # --- queries ---------------------------------------------------------------

    def order(self, query):
        column = self.column(self.sort_key)
        expressions = column.sort if isinstance(column.sort, (list, tuple)) else [column.sort]
        ordering = [e.desc() if self.descending else e.asc() for e in expressions]
        if self.tie_breaker is not None:
            ordering.append(self.tie_breaker.desc() if self.descending else self.tie_breaker.asc())
        return query.order_by(*ordering)

    def page(self, query) -> Page:
        rows = list(self.order(query).limit(self.per_page + 1).offset((self.page_number - 1) * self.per_page))
        has_next = len(rows) > self.per_page
        return Page(items=rows[: self.per_page], number=self.page_number, per_page=self.per_page,
                    has_next=has_next)

    def csv(self, query, filename: str, columns: Iterable[Column] | None = None,
            prepare: Callable[[list], None] | None = None, chunk: int = 500) -> Response:
        """Every row of the (already scoped) query as CSV, streamed in
        chunks, with the visible exportable columns.  `prepare(rows)` is
        called once per chunk to prefetch related data (no query per row).
        `;`-separated with a BOM so that spreadsheet programs in Russian
        locales open it as is."""
        cols = [c for c in (columns or self.visible_columns) if c.csv]
        ordered = self.order(query)

        def rows():
            yield [str(c.label) for c in cols]
            offset = 0
            while True:
                batch = list(ordered.limit(chunk).offset(offset))
                if not batch:
                    break
                if prepare is not None:
                    prepare(batch)
                for row in batch:
                    yield [c.raw(row) for c in cols]
                offset += chunk

        return csv_response(rows(), filename)


def parse_page(value) -> int:
    """A page number from the query string: 1 when missing or not a number,
    at most MAX_PAGE (a huge number shows an empty page, never an error)."""
    try:
        page = int(str(value if value is not None else 1).strip())
    except ValueError:
        return 1
    return min(max(1, page), MAX_PAGE)


def wants_csv() -> bool:
    return request.args.get("format") == "csv"
