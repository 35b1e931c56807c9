"""Pre-aggregated report figures (lanbill.reports.totals keeps them; the
rule of what they hold is written there)."""

from __future__ import annotations

import peewee

from lanbill.models.base import BaseModel, utcnow


class ReportCell(BaseModel):
    """One combination of what reports split or filter by: the operator,
    the tariff of the main account and the set of the subscriber's groups
    (",1,5," — every group, the system one included)."""

    operator_id = peewee.IntegerField()
    tariff_id = peewee.IntegerField(default=0)  # 0: no account
    groups = peewee.CharField(max_length=2000, default=",")

    class Meta:
        indexes = ((("operator_id", "tariff_id", "groups"), True),)


class ReportAgreementCell(BaseModel):
    """The cell an agreement's aggregated figures are booked under."""

    agreement_id = peewee.IntegerField(primary_key=True)
    cell_id = peewee.IntegerField()


class ReportLedgerMonth(BaseModel):
    """Ledger sums (minor units) of one local month and one cell; `payers`
    is the number of its agreements charged for service in the month."""

    month = peewee.DateField()
    cell_id = peewee.IntegerField()
    rent = peewee.BigIntegerField(default=0)
    services = peewee.BigIntegerField(default=0)
    traffic = peewee.BigIntegerField(default=0)
    corrections = peewee.BigIntegerField(default=0)
    payments = peewee.BigIntegerField(default=0)
    payers = peewee.IntegerField(default=0)

    class Meta:
        indexes = ((("month", "cell_id"), True),)


class ReportPaymentDay(BaseModel):
    """Payments of one local day (by pay date), one cell, one payment
    system (id 0: none; gateway; method) and one manager (0: none)."""

    day = peewee.DateField()
    cell_id = peewee.IntegerField()
    payment_system_id = peewee.IntegerField(default=0)
    gateway = peewee.CharField(max_length=32, default="")
    method = peewee.CharField(max_length=16, default="")
    manager_id = peewee.IntegerField(default=0)
    count = peewee.IntegerField(default=0)
    amount = peewee.BigIntegerField(default=0)
    cancelled_count = peewee.IntegerField(default=0)
    cancelled_amount = peewee.BigIntegerField(default=0)

    class Meta:
        indexes = ((("day", "cell_id", "payment_system_id", "gateway", "method", "manager_id"), True),)


class ReportTotalsState(BaseModel):
    """The one row saying what the aggregates hold: ledger entries and
    payments up to these ids, in this time zone's months and days."""

    ledger_id = peewee.BigIntegerField(default=0)
    payment_id = peewee.BigIntegerField(default=0)
    timezone = peewee.CharField(max_length=64, default="")
    refreshed_at = peewee.DateTimeField(default=utcnow)


class ReportDirty(BaseModel):
    """Written by database triggers: a subscriber whose groups changed or
    an agreement whose operator or main account may have changed, so its
    cell may no longer be the one its figures are booked under."""

    id = peewee.BigAutoField()
    subscriber_id = peewee.IntegerField(null=True)
    agreement_id = peewee.IntegerField(null=True)


REPORT_TOTALS_MODELS = (ReportCell, ReportAgreementCell, ReportLedgerMonth, ReportPaymentDay, ReportTotalsState,
                        ReportDirty)
