"""The monthly run (DESIGN §12): acts — and VAT invoices for legal
entities of an operator that pays VAT — for the month's charges of every
agreement whose subscriber has an invoice delivery method (seed 002
«Способ доставки счета»: by post, courier, e-mail, pick-up; empty means
the subscriber wants none).

- Idempotent: each document has its key (kind, agreement, period), so a
  second run issues nothing twice and a run killed mid-way, run again,
  issues each missing document once.
- Numbers are taken in this process, one short transaction per document
  (gapless, lanbill.documents.numbering); the PDFs — most of the time —
  are rendered by a pool of processes, one per core, each with its own
  database connection; this process then records each stored PDF and
  sends `document_issued` (the listeners live here, with the app).
- Progress is kept on a DocumentRun row (the staff screen) and reported
  to a callback (the CLI's progress bar).
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import multiprocessing
from collections.abc import Callable
from dataclasses import dataclass, field

from lanbill.actor import actor_of
from lanbill.clock import midnight_utc
from lanbill.customers.addresses import address_texts
from lanbill.db import bind_database, database
from lanbill.documents import content as contents
from lanbill.documents.issue import (
    ONE_PER_PERIOD,
    issue_document,
    load_agreements,
    period_key,
    store_pdf,
    write_pdf_file,
)
from lanbill.errors import N_, BillingError, NotFound
from lanbill.models import Agreement, Document, DocumentRun, LedgerEntry, Operator, Service, Subscriber, Tariff
from lanbill.models.base import utcnow

log = logging.getLogger(__name__)

CHUNK = 25  # documents per task handed to a rendering process

# Collector thresholds while documents are rendered: laying out a PDF makes
# a few hundred thousand short-lived objects, and at Python's default
# (700) the collector ran ~50 times per act — 7 % of its CPU; at these
# it runs a few times, and each act's garbage is still freed within it.
GC_THRESHOLDS = (10_000, 20, 20)


@dataclass
class RunResult:
    run_id: int
    total: int = 0
    issued: int = 0
    skipped: int = 0
    errors: list = field(default_factory=list)

    def summary(self) -> str:
        return f"agreements: {self.total}, issued: {self.issued}, skipped: {self.skipped}, errors: {len(self.errors)}"


def wanted(first: dt.date, last: dt.date) -> list[tuple[int, list[str]]]:
    """[(agreement id, kinds)] of the month: agreements with charges in it
    whose subscriber has a delivery method; a VAT invoice besides the act
    for a legal entity when the operator pays VAT."""
    since, until = midnight_utc(first), midnight_utc(last + dt.timedelta(days=1))
    charged = (LedgerEntry.select(LedgerEntry.agreement).distinct()
               .where(LedgerEntry.kind.in_(contents.CHARGE_KINDS)
                      & (LedgerEntry.period_start.between(first, last)
                         | (LedgerEntry.period_start.is_null() & (LedgerEntry.created_at >= since)
                            & (LedgerEntry.created_at < until)))))
    rows = (Agreement.select(Agreement.id, Subscriber.kind, Operator.is_vat_payer)
            .join(Subscriber).switch(Agreement).join(Operator)
            .where(Agreement.id.in_(charged) & (Subscriber.delivery_method != "")
                   & (Agreement.closed_at.is_null() | (Agreement.closed_at >= since)))
            .order_by(Agreement.id).tuples())
    out = []
    for agreement_id, kind, vat_payer in rows.iterator():
        kinds = ["act"] + (["vat_invoice"] if vat_payer and kind == "legal" else [])
        out.append((agreement_id, kinds))
    return out


def _done_keys(first: dt.date, last: dt.date) -> set[str]:
    """Keys of this month's live documents whose PDF is stored: finished work."""
    query = (Document.select(Document.idempotency_key)
             .where((Document.period_start == first) & (Document.period_end == last)
                    & Document.kind.in_(ONE_PER_PERIOD) & Document.idempotency_key.is_null(False)
                    & Document.pdf_stored_at.is_null(False)).tuples())
    return {key for (key,) in query.iterator()}


def start_run(month: str, *, actor=None) -> DocumentRun:
    first, _ = contents.month_period(month)
    return DocumentRun.create(month=first, actor=actor_of(actor).label)


def run_month(month: str, *, actor=None, instance_path, workers: int = 1, database_url: str | None = None,
              progress: Callable[[int, int], None] | None = None, run: DocumentRun | None = None,
              limit: int | None = None) -> RunResult:
    """Issue the month's documents (module docstring).  `workers` > 1 renders
    in that many processes (they connect to `database_url`); `progress(done,
    total)` is called as agreements are finished; `limit` stops after that
    many agreements (tests)."""
    first, last = contents.month_period(month)
    who = actor_of(actor)
    run = run or DocumentRun.create(month=first, actor=who.label)
    done_keys = _done_keys(first, last)
    todo = [(aid, kinds) for aid, kinds in wanted(first, last)
            if not all(period_key(k, aid, first, last) in done_keys for k in kinds)]
    if limit is not None:
        todo = todo[:limit]
    result = RunResult(run.id, total=len(todo))
    DocumentRun.update(total=len(todo), state="running").where(DocumentRun.id == run.id).execute()
    # An earlier run of the month still "running" was killed (this run takes
    # its work up): the staff screen shows it as interrupted.
    DocumentRun.update(state="failed", last_error="interrupted", finished_at=utcnow()).where(
        (DocumentRun.month == first) & (DocumentRun.state == "running") & (DocumentRun.id != run.id)).execute()
    pool = None
    if workers > 1 and len(todo) > CHUNK:
        context = multiprocessing.get_context("spawn")
        pool = context.Pool(workers, initializer=_worker_init, initargs=(database_url,))
    pending: list = []
    finished = 0
    thresholds = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start:start + CHUNK]
            documents = []
            agreements, prefetched, existing = _prefetch(chunk, first, last)
            for agreement_id, kinds in chunk:
                for kind in kinds:
                    try:
                        key = period_key(kind, agreement_id, first, last)
                        if key in existing:  # issued before; its PDF may be missing
                            document, created = existing[key], False
                        elif agreement_id not in agreements:
                            raise NotFound(N_("Agreement not found."))
                        else:
                            document, created = issue_document(
                                agreements[agreement_id], kind, actor=who, instance_path=instance_path,
                                period=(first, last), run_id=run.id, store=False,
                                prefetched=prefetched[agreement_id])
                    except BillingError as exc:  # nothing to bill (charges net to zero), a refused kind
                        result.skipped += 1
                        log.info("agreement %s: %s not issued: %s", agreement_id, kind, exc.message)
                        continue
                    except Exception as exc:  # one agreement's fault must not stop the month
                        log.exception("agreement %s: %s failed", agreement_id, kind)
                        result.errors.append((agreement_id, f"{type(exc).__name__}: {exc}"))
                        continue
                    result.issued += int(created)
                    if document.pdf_stored_at is None:
                        documents.append(document)
            if pool is not None:
                pending.append((pool.apply_async(_render_files, ([d.id for d in documents], str(instance_path))),
                                documents, len(chunk)))
                # keep at most two chunks per worker in flight: memory stays flat
                while len(pending) > 2 * workers:
                    finished += _collect(pending.pop(0), instance_path, result)
                    _progress(run, finished, result, progress)
            else:
                _record(documents, instance_path, result)
                finished += len(chunk)
                _progress(run, finished, result, progress)
        while pending:
            finished += _collect(pending.pop(0), instance_path, result)
            _progress(run, finished, result, progress)
    except BaseException as exc:
        DocumentRun.update(state="failed", finished_at=utcnow(), last_error=f"{type(exc).__name__}")\
            .where(DocumentRun.id == run.id).execute()
        raise
    finally:
        gc.set_threshold(*thresholds)
        if pool is not None:
            pool.terminate()
            pool.join()
    DocumentRun.update(state="done", finished_at=utcnow(), done=finished, issued=result.issued,
                       errors=len(result.errors),
                       last_error=result.errors[-1][1][:500] if result.errors else "")\
        .where(DocumentRun.id == run.id).execute()
    return result


def _prefetch(chunk, first: dt.date, last: dt.date):
    """What issuing a chunk's documents reads, in a few queries for the whole
    chunk: the agreements with their parties, the buyers' addresses, the
    period's charges with the names of tariffs and services, and the live
    documents the chunk has already (by idempotency key)."""
    ids = [agreement_id for agreement_id, _ in chunk]
    agreements = load_agreements(ids)
    addresses = address_texts([a.subscriber.main_address_id for a in agreements.values()])
    charges = contents.charge_rows(ids, first, last)
    tariffs = contents.names_of(Tariff, {row[1] for rows in charges.values() for row in rows})
    services = contents.names_of(Service, {row[2] for rows in charges.values() for row in rows})
    prefetched = {aid: contents.Prefetched(address=addresses.get(a.subscriber.main_address_id, ""),
                                           charges=charges.get(aid, []), tariffs=tariffs, services=services)
                  for aid, a in agreements.items()}
    keys = [period_key(kind, aid, first, last) for aid, kinds in chunk for kind in kinds]
    existing = {d.idempotency_key: d for d in Document.select().where(Document.idempotency_key.in_(keys))}
    return agreements, prefetched, existing


def _progress(run, finished: int, result: RunResult, progress) -> None:
    DocumentRun.update(done=finished, issued=result.issued, errors=len(result.errors))\
        .where(DocumentRun.id == run.id).execute()
    if progress is not None:
        progress(finished, result.total)


def _collect(item, instance_path, result: RunResult) -> int:
    async_result, documents, agreements = item
    try:
        async_result.get()
    except Exception as exc:  # the rendering process failed: this process renders them instead
        log.warning("rendering in a worker failed (%s); rendering here", type(exc).__name__)
    _record(documents, instance_path, result)
    return agreements


def _record(documents, instance_path, result: RunResult) -> None:
    """Store (if not yet) and record each PDF; `document_issued` goes out here."""
    for document in documents:
        try:
            store_pdf(document, instance_path)
        except Exception as exc:
            log.exception("document %s: PDF not stored", document.id)
            result.errors.append((document.agreement_id, f"{type(exc).__name__}: {exc}"))


# --- the rendering processes ---------------------------------------------------------------


def _worker_init(database_url: str | None) -> None:
    """A rendering process: its own connection to the same database; what
    it imported (this module, so WeasyPrint) is moved out of the
    collector's sight (`gc.freeze`) and the collector runs less often
    (GC_THRESHOLDS)."""
    if database_url:
        bind_database(database_url)
    database.connect(reuse_if_open=True)
    gc.collect()  # WeasyPrint is imported by now (lanbill.documents.issue imports it)
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _render_files(document_ids: list[int], instance_path: str) -> int:
    """Render and write the PDFs of these documents (not yet recorded);
    the parent records them.  A file already there is left alone."""
    written = 0
    for document in Document.select().where(Document.id.in_(document_ids)):
        written += int(write_pdf_file(document, instance_path))
    return written

