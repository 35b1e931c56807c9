"""Issuing, cancelling and correcting documents, and their stored PDFs
(DESIGN §12).

- A document is issued in one transaction: its number is taken from the
  series counter (lanbill.documents.numbering) and the row with the full
  snapshot is inserted together, so numbers have no gaps.
- The PDF is rendered from the snapshot after that transaction (rendering
  takes the most time and must not hold the numbering lock) and written
  once to instance/documents/<operator>/<year>/<series>-<seq>.pdf.  A
  document whose PDF is not stored yet (the process died in between) gets
  it from `store_pdf`, which the monthly run and every download call.
- `lanbill.events.document_issued` is sent in the transaction that records
  the stored PDF, exactly once per document.
- An issued document never changes; a correction cancels it (kept, with
  who, when and why) and issues a new one with a new number.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from decimal import Decimal
from pathlib import Path

from lanbill import clock, events
from lanbill.actor import actor_of
from lanbill.db import database, insert_row, transaction
from lanbill.documents import content as contents
from lanbill.documents.numbering import SERIES, format_number, take_number
from lanbill.documents.render import render_pdf
from lanbill.errors import N_, Conflict, NotFound, ValidationError
from lanbill.models import Agreement, Currency, Document, DocumentTemplate, Operator, Subscriber
from lanbill.models.base import utcnow
from lanbill.staff import audit

# Kinds an agreement has at most one live document of per period.
ONE_PER_PERIOD = ("act", "vat_invoice", "upd")


def _agreements_with_parties():
    return (Agreement.select(Agreement, Operator, Subscriber, Currency).join(Operator)
            .switch(Agreement).join(Subscriber).switch(Agreement).join(Currency))


def load_agreement(agreement_id: int) -> Agreement:
    agreement = _agreements_with_parties().where(Agreement.id == agreement_id).first()
    if agreement is None:
        raise NotFound(N_("Agreement not found."))
    return agreement


def load_agreements(agreement_ids) -> dict[int, Agreement]:
    """{id: agreement with its operator, subscriber and currency} in one
    query (the monthly run's chunks)."""
    ids = list(agreement_ids)
    return {a.id: a for a in _agreements_with_parties().where(Agreement.id.in_(ids))} if ids else {}


def _key_taken(key: str) -> bool:
    """Whether a live document holds this idempotency key (its SQL built once)."""
    sql = _KEY_SQL.get(database.param)
    if sql is None:
        sql = _KEY_SQL[database.param] = f'SELECT 1 FROM "document" WHERE "idempotency_key" = {database.param}'
    return database.execute_sql(sql, [key]).fetchone() is not None


_KEY_SQL: dict[str, str] = {}


def period_key(kind: str, agreement_id: int, first: dt.date, last: dt.date) -> str:
    """The idempotency key of a one-per-period document (Document docstring)."""
    return f"{kind}:{agreement_id}:{first}..{last}"


def issue_document(agreement, kind: str, *, actor=None, instance_path, period=None, amount=None,
                   template: str | None = None, on: dt.date | None = None, run_id: int | None = None,
                   replaces: Document | None = None, store: bool = True,
                   template_file: str | None = None,
                   prefetched: contents.Prefetched | None = None) -> tuple[Document, bool]:
    """Issue a document of `kind` for `agreement` (DESIGN §12; what it says:
    lanbill.documents.content.build).  `period` is (first, last) or text
    ("YYYY-MM", "YYYY-MM-DD..YYYY-MM-DD"); `amount` a Decimal or text.

    Returns (document, created).  For an act, VAT invoice or УПД the
    agreement has at most one live document per period: asking again
    returns the existing one (created False) — so the monthly run may be
    re-run — until it is cancelled.

    With `prefetched` (the monthly run: it has read a chunk's agreements
    with `load_agreements`, their charges, and which keys are taken) the
    agreement is used as given and those reads are not repeated here; the
    key is still checked again in the numbering transaction."""
    who = actor_of(actor)
    if prefetched is None or isinstance(agreement, int):
        agreement = load_agreement(agreement if isinstance(agreement, int) else agreement.id)
    if isinstance(period, str):
        period = contents.parse_period(period)
    elif period is not None:
        period = contents.check_period(*period)
    if amount is not None and not isinstance(amount, Decimal):
        amount = contents.parse_amount(amount)
    template = template_file if template_file is not None else _chosen_template(kind, template)
    on = on or clock.today()
    key = None
    if kind in ONE_PER_PERIOD and period is not None:
        key = period_key(kind, agreement.id, *period)
        existing = Document.get_or_none(Document.idempotency_key == key) if prefetched is None else None
        if existing is not None:
            return existing, False
    built = contents.build(kind, agreement, on=on, period=period, amount=amount, prefetched=prefetched)
    operator = agreement.operator
    series = SERIES[kind]
    with transaction():
        if key is not None and _key_taken(key):
            return Document.get(Document.idempotency_key == key), False
        seq = take_number(operator.id, series, built.date.year)
        number = format_number(operator.document_prefix, series, built.date.year, seq)
        document = insert_row(
            Document,
            agreement=agreement.id, kind=kind, number=number, date=built.date, amount=built.amount,
            period_start=built.period_start, period_end=built.period_end,
            path=f"documents/{operator.id}/{built.date.year}/{kind}-{seq}.pdf", operator_id=operator.id,
            series=series, year=built.date.year, seq=seq, vat_percent=built.vat_percent,
            vat_amount=built.vat_amount, lines=built.lines, data=built.data, template=template,
            state="issued", issued_by=who.label, idempotency_key=key, run_id=run_id,
            replaces_id=replaces.id if replaces is not None else None,
        )
        if replaces is not None:
            Document.update(replaced_by_id=document.id).where(Document.id == replaces.id).execute()
        audit.record(who, "document.issue", "document", document.id,
                     after={"kind": kind, "number": number, "agreement_id": agreement.id,
                            "amount": str(built.amount)})
    if store:
        store_pdf(document, instance_path)
    return document, True


def _chosen_template(kind: str, template: str | None) -> str:
    """A template variant by its id or file name; it must be of this kind
    (an invoice variant serves a prepayment invoice too)."""
    if not template:
        return ""
    query = DocumentTemplate.select().where(DocumentTemplate.is_active == True)  # noqa: E712
    row = None
    if str(template).isdigit():
        row = query.where(DocumentTemplate.id == int(template)).first()
    if row is None:
        row = query.where(DocumentTemplate.file == str(template)).first()
    kinds = {kind, "invoice"} if kind == "prepayment_invoice" else {kind}
    if row is None or row.kind not in kinds or not row.file:
        raise ValidationError(N_("Unknown template."), fields={"template": N_("Unknown template.")})
    return row.file


def pdf_file(document: Document, instance_path) -> Path:
    return Path(instance_path) / document.path


def write_pdf_file(document: Document, instance_path) -> bool:
    """Render the PDF and write it unless the file exists (never overwritten:
    written under a temporary name, then linked into place, which fails if
    another process got there first — its file stays).  True if written."""
    path = pdf_file(document, instance_path)
    if path.exists():
        return False
    data = render_pdf(document, instance_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    try:
        os.link(temporary, path)
        return True
    except FileExistsError:
        return False
    finally:
        temporary.unlink(missing_ok=True)


def store_pdf(document: Document, instance_path) -> Path:
    """Write the document's PDF once and record it; then send
    `document_issued` (in that same transaction: the listener's outbox row
    commits with it).  A PDF already written (a crash before it was
    recorded) is kept as it is: an issued file is never overwritten."""
    path = pdf_file(document, instance_path)
    if document.pdf_stored_at is not None and path.exists():
        return path
    write_pdf_file(document, instance_path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with transaction():
        marked = (Document.update(pdf_sha256=digest, pdf_stored_at=utcnow())
                  .where((Document.id == document.id) & Document.pdf_stored_at.is_null()).execute())
        document.pdf_sha256, document.pdf_stored_at = digest, document.pdf_stored_at or utcnow()
        if marked:
            document.pdf_file = path
            events.document_issued.send(document=document)
    return path


def pdf_bytes(document: Document, instance_path) -> bytes:
    """The stored PDF (stored first if the issuing process died before)."""
    return store_pdf(document, instance_path).read_bytes()


def cancel_document(document: Document, reason: str, *, actor=None) -> Document:
    """Cancel an issued document (a correction's first half): it is kept
    with its number, marked cancelled with who, when and why; its period
    is free for a new one.  A cancelled document is not cancelled again."""
    who = actor_of(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(N_("Say why the document is cancelled."), fields={"reason": N_("Required.")})
    if len(reason) > 500:
        raise ValidationError(N_("The reason is too long."), fields={"reason": N_("Too long.")})
    with transaction():
        changed = (Document.update(state="cancelled", cancelled_at=utcnow(), cancelled_by=who.label,
                                   cancel_reason=reason, idempotency_key=None)
                   .where((Document.id == document.id) & (Document.state == "issued")).execute())
        if not changed:
            raise Conflict(N_("The document is cancelled already."))
        audit.record(who, "document.cancel", "document", document.id,
                     before={"state": "issued"}, after={"state": "cancelled", "reason": reason})
    return Document.get_by_id(document.id)


def correct_document(document: Document, reason: str, *, actor=None, instance_path, amount=None) -> Document:
    """A correction: cancel `document` and issue a new one of the same kind
    for the same period (read again from the ledger and the requisites as
    they are now) or, for an invoice for an amount, `amount` if given."""
    with transaction():
        cancel_document(document, reason, actor=actor)
        period = (document.period_start, document.period_end) if document.period_start else None
        if period is None and amount is None:
            amount = document.amount
        new, _ = issue_document(document.agreement_id, document.kind, actor=actor, instance_path=instance_path,
                                period=period, amount=amount, replaces=document, store=False,
                                template_file=document.template)
    store_pdf(new, instance_path)
    return new


def get_document(document_id: int) -> Document:
    document = Document.get_or_none(Document.id == document_id)
    if document is None:
        raise NotFound(N_("Document not found."))
    return document
