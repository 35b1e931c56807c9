"""1CClientBankExchange bank statements («Клиент банка», format 1.03):
reading the file and turning its incoming payment orders into registry
rows — pure, no database (DOMAIN-RULES §7).

The file: `1CClientBankExchange`, `Key=Value` header lines (ВерсияФормата,
Кодировка=Windows|DOS, ДатаНачала, ДатаКонца, РасчСчет …), account
sections `СекцияРасчСчет … КонецРасчСчет` with НачальныйОстаток,
ВсегоПоступило, ВсегоСписано, КонечныйОстаток, then documents
`СекцияДокумент=<kind> … КонецДокумента` (Номер, Дата, Сумма,
ПлательщикСчет, ПлательщикИНН, Плательщик1, ПолучательСчет,
ПолучательИНН, ДатаПоступило, НазначениеПлатежа), and `КонецФайла`.

Rules chosen here:
- a document is incoming when its ПолучательСчет is one of the
  statement's РасчСчет (or, when the file names none, when its
  ПолучательИНН is the operator's); outgoing ones are not rows;
- the transaction id is `Дата/Номер/ПлательщикСчет` (a payment order
  number repeats between payers and years, the triple does not);
- the control total is the sum of ВсегоПоступило of the account sections,
  compared with the sum of the incoming documents;
- the agreement is looked for in НазначениеПлатежа (purpose_candidates),
  and the payer's ИНН is kept for matching when no number is found.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from lanbill.errors import N_
from lanbill.money import MoneyError
from lanbill.paysys.registry import ParsedFile, ParsedRow, RegistryFileError, parse_amount

MAGIC = "1CClientBankExchange"


@dataclass
class Document1C:
    kind: str
    line: int
    fields: dict = field(default_factory=dict)

    def get(self, key: str) -> str:
        return self.fields.get(key, "").strip()


@dataclass
class Statement:
    header: dict = field(default_factory=dict)
    accounts: list[dict] = field(default_factory=list)
    documents: list[Document1C] = field(default_factory=list)


def decode_statement(content: bytes) -> str:
    """Text of the file: UTF-8 when it is valid UTF-8, else windows-1251
    (`Кодировка=Windows`, the usual), or cp866 for `Кодировка=DOS`."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1251", errors="replace")
        if re.search(r"^Кодировка=DOS\s*$", text, re.M) is None and "Кодировка=" not in text:
            dos = content.decode("cp866", errors="replace")
            if "Кодировка=DOS" in dos:
                return dos
    return text


def parse_statement(content: bytes) -> Statement:
    """Read the statement; raises RegistryFileError when it is not one."""
    text = decode_statement(content)
    lines = text.splitlines()
    if not lines or lines[0].strip() != MAGIC:
        raise RegistryFileError(N_("This is not a 1CClientBankExchange file."))
    statement = Statement()
    current: dict | None = None
    document: Document1C | None = None
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if line == "КонецФайла":
            break
        if key == "СекцияДокумент":
            document = Document1C(kind=value.strip(), line=number)
            continue
        if line == "КонецДокумента":
            if document is not None:
                statement.documents.append(document)
            document = None
            continue
        if line == "СекцияРасчСчет":
            current = {}
            continue
        if line == "КонецРасчСчет":
            if current is not None:
                statement.accounts.append(current)
            current = None
            continue
        if not sep:
            continue
        if document is not None:
            document.fields[key] = value
        elif current is not None:
            current[key] = value.strip()
        else:
            statement.header.setdefault(key, value.strip())
    if document is not None:
        raise RegistryFileError(N_("A document of the statement has no end (КонецДокумента)."), str(document.line))
    return statement


def _date(text: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(text.strip(), "%d.%m.%Y").date()
    except ValueError:
        return None


def our_accounts(statement: Statement) -> set[str]:
    accounts = {a.get("РасчСчет", "") for a in statement.accounts}
    if statement.header.get("РасчСчет"):
        accounts.add(statement.header["РасчСчет"])
    return {a for a in accounts if a}


def statement_rows(content: bytes, operator_inn: str = "") -> ParsedFile:
    """The incoming payments of a statement as registry rows, with the
    control total (sum of ВсегоПоступило) when the file states it."""
    statement = parse_statement(content)
    accounts = our_accounts(statement)
    parsed = ParsedFile()
    for document in statement.documents:
        if accounts:
            incoming = document.get("ПолучательСчет") in accounts
        else:
            incoming = bool(operator_inn) and document.get("ПолучательИНН") == operator_inn
        if not incoming:
            continue
        parsed.rows.append(_row(document))
    totals = [a.get("ВсегоПоступило") for a in statement.accounts if a.get("ВсегоПоступило")]
    if totals:
        try:
            parsed.control_amount = sum((parse_amount(t) if t.strip("0.,") else Decimal("0.00") for t in totals),
                                        Decimal("0.00"))
        except MoneyError:
            raise RegistryFileError(N_("The control line of the file cannot be read."), totals[0]) from None
    if not parsed.rows:
        raise RegistryFileError(N_("The file has no payments."))
    return parsed


def _row(document: Document1C) -> ParsedRow:
    purpose = document.get("НазначениеПлатежа")
    number, date_text = document.get("Номер"), document.get("Дата")
    payer_account = document.get("ПлательщикСчет")
    row = ParsedRow(
        line=document.line,
        transaction_id=f"{date_text}/{number}/{payer_account}"[:128],
        document=number[:64],
        payer_inn=document.get("ПлательщикИНН")[:12],
        comment=(document.get("Плательщик1") or document.get("Плательщик"))[:200],
        purpose=purpose,
    )
    amount_text = document.get("Сумма")
    try:
        row.amount = parse_amount(amount_text)
    except MoneyError as exc:
        row.error, row.detail = exc.message, amount_text[:40]
        return row
    row.paid_on = _date(document.get("ДатаПоступило") or date_text)
    if row.paid_on is None:
        row.error, row.detail = N_("The date cannot be read."), date_text[:40]
    return row


_AFTER_WORD = re.compile(
    r"(?:догов\w*|дог\.?|контракт\w*|л\s*/\s*с|лицев\w*\s+сч\w*|лс|сч[её]т\w*|№|N)\s*(?:№|N|No\.?)?\s*"
    r"([0-9A-Za-zА-Яа-я][0-9A-Za-zА-Яа-я\-/]*[0-9][0-9A-Za-zА-Яа-я\-/]*)",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[0-9A-Za-zА-Яа-я][0-9A-Za-zА-Яа-я\-/]*")


def purpose_candidates(purpose: str) -> tuple[list[str], list[str]]:
    """Agreement numbers a payment purpose may name: (after a word such as
    «договор», «л/с», «№» — tried first; every other token with a digit).
    "Оплата по договору № 12345 от 01.02.2026" → (["12345"], ["01.02.2026"…])."""
    strong = [m.group(1).rstrip("-/.") for m in _AFTER_WORD.finditer(purpose or "")]
    other = [t.rstrip("-/.") for t in _TOKEN.findall(purpose or "") if any(c.isdigit() for c in t)]
    strong = list(dict.fromkeys(t for t in strong if t))
    other = [t for t in dict.fromkeys(other) if t and t not in strong]
    return strong, other
