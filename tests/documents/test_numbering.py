"""Numbering per operator, series and year without gaps, never reused,
under concurrent issue from threads and from two processes (DESIGN §12);
runs on SQLite and, with DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import multiprocessing
import threading

from lanbill.db import database
from lanbill.documents.issue import cancel_document, issue_document
from lanbill.models import Document, Operator
from tests.conftest import DATA_KEY
from tests.documents.helpers import agreement_with, set_requisites
from tests.documents.workers import issue_invoices
from tests.factories import ACTOR


def _seqs(series="СЧ"):
    return sorted(d.seq for d in Document.select().where(Document.series == series))


def test_concurrent_threads_take_every_number_once(app):
    set_requisites()
    agreement = agreement_with()
    errors, barrier = [], threading.Barrier(6)

    def work():
        try:
            database.connect(reuse_if_open=True)
            barrier.wait(30)
            for _ in range(5):
                issue_document(agreement.id, "invoice", actor=ACTOR, instance_path=app.instance_path,
                               amount="1.00", store=False)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert _seqs() == list(range(1, 31))


def test_two_processes_take_every_number_once(app):
    set_requisites()
    agreement = agreement_with()
    context = multiprocessing.get_context("spawn")
    start = context.Manager().Event()
    with context.Pool(2) as pool:
        results = [pool.apply_async(issue_invoices, (app.config["DATABASE_URL"], DATA_KEY, app.instance_path,
                                                     agreement.id, 15, start)) for _ in range(2)]
        start.set()
        taken = [r.get(180) for r in results]
    assert sorted(taken[0] + taken[1]) == list(range(1, 31))
    assert _seqs() == list(range(1, 31))


def test_numbers_are_per_operator_series_and_year_and_never_reused(app):
    operator = set_requisites()
    other_operator = Operator.create(name="Филиал", document_prefix="Ф-")
    agreement = agreement_with()
    branch_agreement = agreement_with()
    branch_agreement.operator = other_operator.id
    branch_agreement.save()
    first, _ = issue_document(agreement, "invoice", actor=ACTOR, instance_path=app.instance_path, amount="5",
                              store=False)
    cancel_document(first, "Ошибка", actor=ACTOR)
    second, _ = issue_document(agreement, "invoice", actor=ACTOR, instance_path=app.instance_path, amount="5",
                               store=False)
    branch, _ = issue_document(branch_agreement, "invoice", actor=ACTOR, instance_path=app.instance_path,
                               amount="5", store=False)
    reconciliation, _ = issue_document(agreement, "reconciliation", actor=ACTOR, instance_path=app.instance_path,
                                       period="2026-01-01..2026-01-31", store=False)
    year = first.date.year
    assert (first.seq, second.seq) == (1, 2) and first.operator_id == operator.id
    assert branch.number == f"Ф-СЧ-{year}-1"
    assert reconciliation.number == f"АС-{year}-1"
