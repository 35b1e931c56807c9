"""Uploaded payment registries and bank statements (DESIGN §11,
DOMAIN-RULES §3.4, §7): the upload and each of its rows."""

from __future__ import annotations

import peewee

from lanbill.db import MoneyField
from lanbill.models.agreements import Agreement, Payment
from lanbill.models.base import BaseModel, utcnow
from lanbill.models.paysys import PaymentSystem

# reading: the dry run is being made (progress in rows_done / rows_total);
# dry_run: every row is checked, nothing booked; posting: being booked;
# posted: the matched rows are booked; annulled: every payment reversed;
# failed: the file could not be read at all (`error` says why);
# discarded: a dry run staff chose not to post (or a check from the CLI).
REGISTRY_STATUSES = ("reading", "dry_run", "posting", "posted", "annulled", "failed", "discarded")
# matched: will be (or is) booked onto `agreement`; duplicate: already
# booked (an earlier registry, or an earlier line of this file);
# unmatched: no agreement, or a row that could not be read (`reason`).
ROW_STATUSES = ("matched", "duplicate", "unmatched")


class RegistryImport(BaseModel):
    """One uploaded file of one payment system (kind `registry`)."""

    system = peewee.ForeignKeyField(PaymentSystem, backref="registries", on_delete="RESTRICT")
    file_name = peewee.CharField(max_length=255)
    sha256 = peewee.CharField(max_length=64, index=True)
    content = peewee.BlobField()
    status = peewee.CharField(max_length=16, default="reading", index=True)
    error = peewee.TextField(default="")  # a msgid, shown translated
    error_detail = peewee.TextField(default="")
    # the upload whose file this one repeats (same system, same sha256)
    same_file_as = peewee.IntegerField(null=True)
    rows_total = peewee.IntegerField(default=0)
    rows_done = peewee.IntegerField(default=0)
    matched_count = peewee.IntegerField(default=0)
    matched_amount = MoneyField(default=0)
    duplicate_count = peewee.IntegerField(default=0)
    unmatched_count = peewee.IntegerField(default=0)
    file_amount = MoneyField(default=0)  # sum of every row whose amount was read
    booked_count = peewee.IntegerField(default=0)
    booked_amount = MoneyField(default=0)
    # the file's own control figures, when its layout has them
    control_count = peewee.IntegerField(null=True)
    control_amount = MoneyField(null=True)
    created_by = peewee.CharField(max_length=128, default="")
    manager_id = peewee.IntegerField(null=True)
    created_at = peewee.DateTimeField(default=utcnow, index=True)
    posted_at = peewee.DateTimeField(null=True)
    posted_by = peewee.CharField(max_length=128, default="")
    annulled_at = peewee.DateTimeField(null=True)
    annulled_by = peewee.CharField(max_length=128, default="")
    annul_reason = peewee.TextField(default="")


class RegistryRow(BaseModel):
    """One line (or one 1C document) of an upload, as checked and booked."""

    registry = peewee.ForeignKeyField(RegistryImport, backref="rows", on_delete="CASCADE")
    line = peewee.IntegerField()
    status = peewee.CharField(max_length=16, index=True)
    reason = peewee.TextField(default="")  # a msgid, shown translated
    reason_detail = peewee.TextField(default="")  # the offending text or line
    account_text = peewee.CharField(max_length=255, default="")  # the agreement as the file names it
    payer_inn = peewee.CharField(max_length=12, default="")
    transaction_id = peewee.CharField(max_length=128, default="")
    external_id = peewee.CharField(max_length=128, default="")  # the id the payment is booked under
    paid_on = peewee.DateField(null=True)
    amount = MoneyField(null=True)
    document_number = peewee.CharField(max_length=64, default="")
    comment = peewee.TextField(default="")
    agreement = peewee.ForeignKeyField(Agreement, null=True, backref="+", on_delete="RESTRICT")
    payment = peewee.ForeignKeyField(Payment, null=True, backref="+", on_delete="RESTRICT")
    matched_by = peewee.CharField(max_length=128, default="")  # who matched it by hand

    class Meta:
        indexes = ((("registry", "line"), False),)
