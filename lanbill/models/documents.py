"""Documents (invoices, acts, VAT invoices, УПД, reconciliation statements),
their named template variants and the runs of the monthly job (DESIGN §12)."""

from __future__ import annotations

import peewee

from lanbill.db import JSONField, MoneyField
from lanbill.models.agreements import Agreement
from lanbill.models.base import BaseModel, utcnow

DOCUMENT_KINDS = ("invoice", "prepayment_invoice", "act", "vat_invoice", "upd", "reconciliation")
DOCUMENT_STATES = ("issued", "cancelled")


class DocumentTemplate(BaseModel):
    """A named template variant staff choose from (seed 002 «Счет на
    предоплату … по указанному шаблону»): `file` is an HTML template in
    templates/documents/ (or instance/templates/documents/, which wins)."""

    kind = peewee.CharField(max_length=32)  # one of DOCUMENT_KINDS
    name = peewee.CharField(max_length=128)
    body = peewee.TextField(default="")  # a note for staff; the layout is `file`
    file = peewee.CharField(max_length=128, default="")
    is_active = peewee.BooleanField(default=True)


class Document(BaseModel):
    """An issued document.  Immutable once issued: number, date, lines,
    totals and the snapshot (`data`: seller, buyer, bank, signatures) never
    change, and the PDF at `path` (under the instance folder) is written
    once.  A correction marks it cancelled (kept) and issues a new one that
    points back through `replaces_id`.

    Numbering: (operator, series, year, seq) is unique and seq runs 1, 2, 3…
    without gaps per series and year (lanbill.documents.numbering).
    `idempotency_key` holds "<kind>:<agreement>:<YYYY-MM>" for the documents
    of which an agreement has one per month (act, VAT invoice, УПД) while
    the document is live; cancelling frees it."""

    agreement = peewee.ForeignKeyField(Agreement, backref="documents", on_delete="RESTRICT")
    kind = peewee.CharField(max_length=32)
    number = peewee.CharField(max_length=64, index=True)
    date = peewee.DateField()
    amount = MoneyField(default=0)
    period_start = peewee.DateField(null=True)
    period_end = peewee.DateField(null=True)
    path = peewee.CharField(max_length=512, default="")
    created_at = peewee.DateTimeField(default=utcnow)
    operator_id = peewee.IntegerField(null=True)
    series = peewee.CharField(max_length=16, default="")
    year = peewee.IntegerField(null=True)
    seq = peewee.IntegerField(null=True)
    vat_percent = peewee.IntegerField(null=True)  # None: "Без НДС"
    vat_amount = MoneyField(default=0)
    lines = JSONField(null=True)
    data = JSONField(null=True)
    template = peewee.CharField(max_length=128, default="")
    state = peewee.CharField(max_length=16, default="issued", index=True)
    issued_by = peewee.CharField(max_length=128, default="")
    pdf_sha256 = peewee.CharField(max_length=64, default="")
    pdf_stored_at = peewee.DateTimeField(null=True)
    cancelled_at = peewee.DateTimeField(null=True)
    cancelled_by = peewee.CharField(max_length=128, default="")
    cancel_reason = peewee.TextField(default="")
    replaces_id = peewee.IntegerField(null=True)
    replaced_by_id = peewee.IntegerField(null=True)
    idempotency_key = peewee.CharField(max_length=100, null=True, unique=True)
    run_id = peewee.IntegerField(null=True, index=True)

    class Meta:
        indexes = (
            (("operator_id", "series", "year", "seq"), True),
            (("agreement", "date"), False),
            (("period_start", "kind"), False),
        )


class DocumentRun(BaseModel):
    """One run of the monthly job for `month` (first day of it): progress
    for the staff screen and the CLI, resumable (a re-run skips what the
    documents' idempotency keys show done)."""

    month = peewee.DateField(index=True)
    state = peewee.CharField(max_length=16, default="running")  # running | done | failed
    total = peewee.IntegerField(default=0)
    done = peewee.IntegerField(default=0)
    issued = peewee.IntegerField(default=0)
    errors = peewee.IntegerField(default=0)
    last_error = peewee.TextField(default="")
    actor = peewee.CharField(max_length=128, default="")
    started_at = peewee.DateTimeField(default=utcnow)
    finished_at = peewee.DateTimeField(null=True)
