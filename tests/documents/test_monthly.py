"""The monthly run (DESIGN §12): acts for the agreements whose subscriber
has a delivery method, one per agreement and month however often it runs,
equal to the month's charges; VAT invoices for legal entities of a VAT
payer; rendering in two processes; a run killed mid-way and run again
issues each document once, with no gap in the numbers."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from lanbill import events
from lanbill.config import ROOT
from lanbill.documents import monthly
from lanbill.documents.content import month_charges_total
from lanbill.documents.issue import pdf_file
from lanbill.models import Document, DocumentRun, LedgerEntry
from tests.conftest import DATA_KEY
from tests.documents.helpers import agreement_with, charge, pay, pdf_text, set_requisites


def _month(count: int, **kw):
    agreements = []
    for n in range(count):
        agreement = agreement_with(**kw)
        charge(agreement, f"{100 + n}.00", day=dt.date(2026, 10, 1))
        charge(agreement, "15.50", kind="volume", day=dt.date(2026, 10, 20))
        agreements.append(agreement)
    return agreements


class Sent:
    def __init__(self):
        self.ids = []

    def __call__(self, sender, document, **kw):
        self.ids.append(document.id)


def test_run_issues_acts_once_for_those_who_want_them_and_each_equals_the_months_charges(app):
    set_requisites()
    wanting = _month(3)
    silent = agreement_with(delivery="")
    charge(silent, "650.00", day=dt.date(2026, 10, 1))
    pay(wanting[0], "1000.00")  # a payment is no service
    sent = Sent()
    events.document_issued.connect(sent)
    try:
        first = monthly.run_month("2026-10", instance_path=app.instance_path)
        second = monthly.run_month("2026-10", instance_path=app.instance_path)
    finally:
        events.document_issued.disconnect(sent)
    assert (first.total, first.issued, second.total, second.issued) == (3, 3, 0, 0)
    acts = list(Document.select().order_by(Document.seq))
    assert [d.agreement_id for d in acts] == [a.id for a in wanting]
    assert [d.seq for d in acts] == [1, 2, 3] and sorted(sent.ids) == [d.id for d in acts]
    for act in acts:
        total = month_charges_total(act.agreement_id, dt.date(2026, 10, 1), dt.date(2026, 10, 31))
        assert act.amount == total == sum(Decimal(line["amount"]) for line in act.lines)
        text = pdf_text(pdf_file(act, app.instance_path))
        assert act.number in text and "31 октября 2026 г." in text
    assert [r.state for r in DocumentRun.select()] == ["done", "done"]


def test_vat_payer_gives_legal_entities_a_vat_invoice_too(app):
    set_requisites(vat_payer=True, vat_percent=20)
    legal = agreement_with(kind="legal")
    person = agreement_with()
    for agreement in (legal, person):
        charge(agreement, "600.00", day=dt.date(2026, 10, 1))
    monthly.run_month("2026-10", instance_path=app.instance_path)
    kinds = {(d.agreement_id, d.kind) for d in Document.select()}
    assert kinds == {(legal.id, "act"), (legal.id, "vat_invoice"), (person.id, "act")}
    invoice = Document.get(Document.kind == "vat_invoice")
    assert invoice.vat_amount == Decimal("100.00") and invoice.number.startswith("СФ-2026-")


def test_two_rendering_processes_issue_each_act_once(app):
    set_requisites()
    agreements = _month(monthly.CHUNK + 5)
    result = monthly.run_month("2026-10", instance_path=app.instance_path, workers=2,
                               database_url=app.config["DATABASE_URL"])
    assert result.errors == [] and result.issued == len(agreements)
    acts = list(Document.select())
    assert sorted(d.seq for d in acts) == list(range(1, len(agreements) + 1))
    assert all(d.pdf_stored_at is not None and pdf_file(d, app.instance_path).exists() for d in acts)


def _cli(app, *args):
    env = dict(os.environ, DATABASE_URL=app.config["DATABASE_URL"], LANBILL_INSTANCE=app.instance_path,
               LANBILL_DATA_KEY=DATA_KEY, LANBILL_SECRET_KEY="t", LANBILL_TIMEZONE="Europe/Moscow",
               LANBILL_HUEY_URL=f"sqlite:///{Path(app.instance_path) / 'huey.db'}")
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", *args], cwd=str(ROOT), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def test_a_run_killed_mid_way_and_run_again_issues_each_document_once(app):
    set_requisites()
    agreements = _month(monthly.CHUNK + 5)  # the first chunk is numbered, then rendered
    process = _cli(app, "documents", "issue", "--month", "2026-10", "--workers", "1")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if Document.select().where(Document.pdf_stored_at.is_null(False)).count() >= 3:
            break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)
    stored = Document.select().where(Document.pdf_stored_at.is_null(False)).count()
    numbered = Document.select().count()
    assert 3 <= stored < numbered < len(agreements), "the run was not interrupted mid-way"
    rerun = _cli(app, "documents", "issue", "--month", "2026-10", "--workers", "2")
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err.decode()[-2000:]
    # the re-run takes up every agreement not finished and numbers only the missing documents
    assert f"agreements: {len(agreements) - stored}, issued: {len(agreements) - numbered}," in out.decode()
    sent = Sent()
    events.document_issued.connect(sent)
    try:
        result = monthly.run_month("2026-10", instance_path=app.instance_path)  # and a third time, here
    finally:
        events.document_issued.disconnect(sent)
    assert (result.total, result.issued, sent.ids) == (0, 0, [])
    assert [(r.state, r.last_error) for r in DocumentRun.select().order_by(DocumentRun.id)] == [
        ("failed", "interrupted"), ("done", ""), ("done", "")]
    acts = list(Document.select())
    assert sorted(d.agreement_id for d in acts) == sorted(a.id for a in agreements)
    assert sorted(d.seq for d in acts) == list(range(1, len(agreements) + 1))
    assert all(d.pdf_stored_at is not None and pdf_file(d, app.instance_path).exists() for d in acts)
    assert LedgerEntry.select().count() == 2 * len(agreements)
