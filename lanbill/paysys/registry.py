"""Bank and agent payment registries: the layout of a payment system's
files and reading a file by it — pure, no database (DOMAIN-RULES §3.4).

The layout lives in the payment system's `options["registry"]`; what is
missing there takes the default, which reads the LANBilling manual
registry (line 1 the settlement account or empty, then per line: agreement
number; unique payment number; date YYYY-MM-DD; amount; invoice number;
extra info such as the payer's ИНН; comment; payment-order number).  The
separator and encoding of that file are not documented [INF]: `;` and
"auto" (UTF-8 if the file is valid UTF-8, else windows-1251) are chosen.

Layout keys:
- format: "delimited" (the default) or "1c" (a 1CClientBankExchange
  statement, lanbill.paysys.bank_statement_1c);
- encoding: "auto", "utf-8", "windows-1251", "cp866";
- delimiter: one character, or "tab";
- header_lines / footer_lines: lines skipped at the top / bottom;
- columns: {field: 1-based position} for agreement, transaction_id,
  date, amount, comment, document (payment-order number), payer_inn;
  agreement and amount are required;
- date_format: a strftime pattern, or "auto" (YYYY-MM-DD, DD.MM.YYYY,
  YYYYMMDDHHMMSS, DD.MM.YYYY HH:MM:SS, DD/MM/YYYY — as ABillS normalises);
- control: "none", or "last_line": the last line is the control line
  (Sberbank's `=count;total;…`), starting with control_prefix ("="), its
  count at control_count_field and its total at control_amount_field
  (1-based, counted after the prefix is removed).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from lanbill.errors import N_
from lanbill.money import MoneyError, parse_money

DEFAULT_LAYOUT: dict = {
    "format": "delimited",
    "encoding": "auto",
    "delimiter": ";",
    "header_lines": 1,
    "footer_lines": 0,
    "columns": {"agreement": 1, "transaction_id": 2, "date": 3, "amount": 4, "payer_inn": 6, "comment": 7,
                "document": 8},
    "date_format": "%Y-%m-%d",
    "control": "none",
    "control_prefix": "=",
    "control_count_field": 1,
    "control_amount_field": 2,
}
COLUMN_NAMES = ("agreement", "transaction_id", "date", "amount", "comment", "document", "payer_inn")
ENCODINGS = ("auto", "utf-8", "windows-1251", "cp866")
AUTO_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%Y%m%d%H%M%S", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M",
                     "%Y-%m-%d %H:%M:%S", "%d/%m/%Y", "%Y%m%d")
MAX_ROWS = 200_000


class RegistryFileError(ValueError):
    """The file as a whole cannot be read (wrong encoding, no rows, a
    layout that names no amount column): `message` is an English msgid."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(message)
        self.message = message
        self.detail = detail


@dataclass
class ParsedRow:
    """One payment as the file states it; `error` (a msgid) when the line
    cannot be booked as it is, with `detail` (the offending text)."""

    line: int
    account: str = ""
    transaction_id: str = ""
    paid_on: dt.date | None = None
    amount: Decimal | None = None
    comment: str = ""
    document: str = ""
    payer_inn: str = ""
    purpose: str = ""  # 1C: НазначениеПлатежа, searched for the agreement
    error: str = ""
    detail: str = ""


@dataclass
class ParsedFile:
    rows: list[ParsedRow] = field(default_factory=list)
    control_count: int | None = None
    control_amount: Decimal | None = None


def layout_of(options: dict | None) -> dict:
    """The system's registry layout: its `options["registry"]` over the
    default, columns merged key by key only when the system names none."""
    layout = dict(DEFAULT_LAYOUT)
    own = dict((options or {}).get("registry") or {})
    if own.get("columns"):
        layout["columns"] = {}
    layout.update(own)
    columns = layout.get("columns") if isinstance(layout.get("columns"), dict) else {}
    layout["columns"] = {k: int(v) if isinstance(v, str) and v.isdigit() else v for k, v in columns.items() if v}
    for key in ("header_lines", "footer_lines"):
        if isinstance(layout.get(key), str) and layout[key].isdigit():
            layout[key] = int(layout[key])
    return layout


def check_layout(layout: dict) -> dict:
    """{key: msgid} of what is wrong in a layout (for the system's settings screen and the import)."""
    errors = {}
    if layout.get("format") not in ("delimited", "1c"):
        errors["format"] = N_("Unknown file format.")
    if layout.get("encoding") not in ENCODINGS:
        errors["encoding"] = N_("Unknown encoding.")
    if layout.get("format") == "delimited":
        delimiter = layout.get("delimiter")
        if not (delimiter == "tab" or (isinstance(delimiter, str) and len(delimiter) == 1)):
            errors["delimiter"] = N_("The separator is one character or «tab».")
        columns = layout.get("columns") or {}
        if any(name not in COLUMN_NAMES or not isinstance(pos, int) or pos < 1 for name, pos in columns.items()):
            errors["columns"] = N_("Columns are numbered from 1.")
        elif "agreement" not in columns or "amount" not in columns:
            errors["columns"] = N_("The layout must name the columns of the agreement and the amount.")
        for key in ("header_lines", "footer_lines"):
            if not isinstance(layout.get(key), int) or not 0 <= layout[key] <= 100:
                errors[key] = N_("From 0 to 100 lines.")
        if layout.get("control") not in ("none", "last_line"):
            errors["control"] = N_("Unknown control line setting.")
    return errors


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def decode(content: bytes, encoding: str = "auto") -> str:
    """The file's text: "auto" takes UTF-8 (with or without a BOM) when the
    bytes are valid UTF-8, else windows-1251 — the usual encoding of Russian
    bank files; a Cyrillic windows-1251 text is practically never valid UTF-8."""
    if encoding in ("auto", "utf-8"):
        try:
            return content.decode("utf-8-sig")
        except UnicodeDecodeError:
            if encoding == "utf-8":
                raise RegistryFileError(N_("The file is not in UTF-8.")) from None
    try:
        return content.decode("cp1251" if encoding in ("auto", "windows-1251") else encoding)
    except UnicodeDecodeError:
        raise RegistryFileError(N_("The file is not in the encoding its layout names."), encoding) from None


def parse_date(text: str, date_format: str) -> dt.date | None:
    """A date by the layout's format ("auto": the usual bank formats)."""
    text = text.strip()
    formats = AUTO_DATE_FORMATS if date_format == "auto" else (date_format,)
    for pattern in formats:
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def parse_amount(text: str) -> Decimal:
    """An amount as banks write it: `1 234,50`, `1234.50`; raises MoneyError."""
    return parse_money(text.strip(), allow_negative=False, allow_zero=False)


def read_registry(content: bytes, layout: dict) -> ParsedFile:
    """Read a delimited registry by its layout.  A line that cannot be
    read becomes a row with `error`, never an exception: the dry run shows
    every line.  Empty lines are skipped."""
    problems = check_layout(layout)
    if problems:
        raise RegistryFileError(next(iter(problems.values())))
    text = decode(content, layout["encoding"])
    delimiter = "\t" if layout["delimiter"] == "tab" else layout["delimiter"]
    lines = text.splitlines()
    numbered = list(enumerate(lines, start=1))
    numbered = numbered[layout["header_lines"]:]
    if layout["footer_lines"]:
        numbered = numbered[:-layout["footer_lines"]] if layout["footer_lines"] < len(numbered) else []
    numbered = [(n, line) for n, line in numbered if line.strip()]
    parsed = ParsedFile()
    if layout.get("control") == "last_line":
        if not numbered or not numbered[-1][1].lstrip().startswith(layout.get("control_prefix") or ""):
            raise RegistryFileError(N_("The file has no control line at its end."))
        _, control = numbered.pop()
        _read_control(control, delimiter, layout, parsed)
    if len(numbered) > MAX_ROWS:
        raise RegistryFileError(N_("The file has too many lines."), str(len(numbered)))
    columns = layout["columns"]
    for number, line in numbered:
        cells = line.split(delimiter)
        parsed.rows.append(_read_row(number, cells, columns, layout["date_format"]))
    if not parsed.rows:
        raise RegistryFileError(N_("The file has no payments."))
    return parsed


def _read_control(line: str, delimiter: str, layout: dict, parsed: ParsedFile) -> None:
    cells = line.strip()[len(layout.get("control_prefix") or ""):].split(delimiter)
    try:
        count_at, amount_at = int(layout["control_count_field"]), int(layout["control_amount_field"])
        if count_at:
            parsed.control_count = int(cells[count_at - 1].strip())
        parsed.control_amount = parse_money(cells[amount_at - 1].strip(), allow_negative=False)
    except (IndexError, ValueError, MoneyError):
        raise RegistryFileError(N_("The control line of the file cannot be read."), line.strip()[:80]) from None


def _cell(cells: list[str], position: int | None) -> str:
    if not position or position > len(cells):
        return ""
    return cells[position - 1].strip().strip('"').strip()


def _read_row(number: int, cells: list[str], columns: dict, date_format: str) -> ParsedRow:
    row = ParsedRow(
        line=number,
        account=_cell(cells, columns.get("agreement")),
        transaction_id=_cell(cells, columns.get("transaction_id"))[:128],
        comment=_cell(cells, columns.get("comment"))[:500],
        document=_cell(cells, columns.get("document"))[:64],
        payer_inn=_cell(cells, columns.get("payer_inn"))[:12],
    )
    needed = max(columns.get("agreement", 0), columns.get("amount", 0))
    if len(cells) < needed:
        row.error, row.detail = N_("The line has too few fields."), str(len(cells))
        return row
    amount_text = _cell(cells, columns.get("amount"))
    try:
        row.amount = parse_amount(amount_text)
    except MoneyError as exc:
        row.error, row.detail = exc.message, amount_text[:40]
        return row
    if columns.get("date"):
        date_text = _cell(cells, columns["date"])
        row.paid_on = parse_date(date_text, date_format)
        if row.paid_on is None:
            row.error, row.detail = N_("The date cannot be read."), date_text[:40]
            return row
    if not row.account:
        row.error = N_("The line names no agreement.")
    return row


def row_id(file_sha256: str, row: ParsedRow) -> str:
    """The transaction id of a row: the file's own, else one made from the
    file's checksum and the line — so the same file uploaded again has the
    same ids and its rows are recognised as duplicates."""
    return row.transaction_id or f"{file_sha256[:16]}:{row.line}"
