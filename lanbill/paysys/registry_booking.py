"""Registry imports: upload, dry run, posting, hand matching and annulling
(DESIGN §11, DOMAIN-RULES §3.4 — the LANBilling model: rows without an
agreement stay in the registry to be fixed by hand; a posted registry is
annulled only as a whole).

Rules:
- An upload is stored with its file and sha256; the same file of the same
  system uploaded again is recognised (`same_file_as`) and its rows come
  out as duplicates of what the first one booked or has waiting.
- The dry run checks every row: matched (the agreement and amount it will
  book), duplicate (its transaction id is already booked by this system,
  waits in another dry run, or repeats an earlier line of the file), or
  unmatched with the reason.  Nothing is booked.
- Posting books every matched row in ONE transaction through the payment
  door (its batch form post_payments, method "bank", the system's name
  and transaction id), after checking the file's control total against its rows: a
  mismatch refuses the whole file.  A row whose id turns out booked in the
  meantime becomes a duplicate.
- An unmatched row waits; staff choose its agreement: before posting it
  becomes matched, after posting it is booked at once.
- Annulling reverses every payment of the registry (cancel_payment) in one
  transaction.  Its transaction ids stay used: a row uploaded again after
  an annulment is booked under `<id>~<registry>` so that it can be booked
  once more, and only once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from decimal import Decimal

from peewee import fn

from lanbill.actor import actor_of
from lanbill.billing.payments import PaymentItem, cancel_payment, post_payment, post_payments
from lanbill.clock import now_utc, today
from lanbill.db import database, from_minor, transaction, update_by_id
from lanbill.errors import N_, BillingError, Conflict, NotFound, ValidationError
from lanbill.models import Agreement, Operator, Payment, Subscriber
from lanbill.models.paysys import PaymentSystem
from lanbill.models.registries import RegistryImport, RegistryRow
from lanbill.paysys import bank_statement_1c
from lanbill.paysys.registry import (
    ParsedFile,
    ParsedRow,
    RegistryFileError,
    layout_of,
    read_registry,
    row_id,
    sha256_of,
)
from lanbill.staff import audit

log = logging.getLogger(__name__)

CHUNK = 500
OPEN_STATUSES = ("reading", "dry_run", "posting")


def _registry(registry_id) -> RegistryImport:
    found = RegistryImport.get_or_none(RegistryImport.id == registry_id)
    if found is None:
        raise NotFound(N_("Registry not found."))
    return found


def start_import(system: PaymentSystem, file_name: str, content: bytes, *, actor) -> RegistryImport:
    """Store an uploaded file for `system` (kind "registry") with its
    sha256; the dry run (read_import) follows, in the worker for a long
    file.  The same file uploaded before is recorded in `same_file_as`."""
    if system is None or system.kind != "registry":
        raise ValidationError(N_("This payment system does not take registries."),
                              fields={"system": N_("Choose a registry system.")})
    if not system.enabled:
        raise ValidationError(N_("This payment system is switched off."), fields={"system": N_("Switched off.")})
    if not content:
        raise ValidationError(N_("The file is empty."), fields={"file": N_("The file is empty.")})
    file_name = (file_name or "registry.txt").replace("\\", "/").rsplit("/", 1)[-1][:255] or "registry.txt"
    digest = sha256_of(content)
    who = actor_of(actor)
    with transaction():
        earlier = (RegistryImport.select(RegistryImport.id)
                   .where((RegistryImport.system == system.id) & (RegistryImport.sha256 == digest)
                          & (RegistryImport.status != "failed"))
                   .order_by(RegistryImport.id).first())
        registry = RegistryImport.create(system=system.id, file_name=file_name, sha256=digest, content=content,
                                         same_file_as=earlier.id if earlier else None, created_by=who.label,
                                         manager_id=who.manager_id)
        audit.record(who, "registry.upload", "registry", registry.id,
                     after={"system": system.code, "file_name": file_name, "sha256": digest})
    return registry


def parse_file(system: PaymentSystem, content: bytes) -> ParsedFile:
    """Read a file by the system's layout: a delimited registry or a 1C
    statement (its incoming payments)."""
    layout = layout_of(system.options)
    if layout.get("format") == "1c":
        operator = Operator.get_or_none(Operator.id == system.operator_id) if system.operator_id else None
        return bank_statement_1c.statement_rows(content, operator.inn if operator else "")
    return read_registry(content, layout)


def read_import(registry_id, *, progress: Callable[[int, int], None] | None = None) -> RegistryImport:
    """The dry run: read the file, check every row and store it, in chunks
    of CHUNK rows each committed with the progress (rows_done of
    rows_total) that the upload's page shows.  A file that cannot be read
    at all leaves the registry "failed" with the reason."""
    registry = _registry(registry_id)
    if registry.status != "reading":
        return registry
    system = PaymentSystem.get_by_id(registry.system_id)
    try:
        parsed = parse_file(system, bytes(registry.content))
    except RegistryFileError as exc:
        return _fail(registry.id, exc.message, exc.detail)
    except Exception:  # noqa: BLE001 - a file nobody foresaw: the page says so instead of reading forever
        log.exception("registry %s could not be read", registry.id)
        return _fail(registry.id, N_("The file cannot be read."), "")
    total = len(parsed.rows)
    with transaction():
        RegistryImport.update(rows_total=total, rows_done=0, control_count=parsed.control_count,
                              control_amount=parsed.control_amount).where(RegistryImport.id == registry.id).execute()
    matcher = _Matcher(system, registry)
    for start in range(0, total, CHUNK):
        chunk = parsed.rows[start:start + CHUNK]
        with transaction():
            rows = matcher.check(chunk)
            RegistryRow.insert_many(rows).execute()
            RegistryImport.update(rows_done=start + len(chunk)).where(RegistryImport.id == registry.id).execute()
        if progress:
            progress(start + len(chunk), total)
    with transaction():
        _recount(registry.id)
        RegistryImport.update(status="dry_run").where(RegistryImport.id == registry.id).execute()
    return _registry(registry.id)


def _fail(registry_id: int, message: str, detail: str) -> RegistryImport:
    with transaction():
        RegistryImport.update(status="failed", error=message, error_detail=detail[:500]).where(
            RegistryImport.id == registry_id).execute()
    return _registry(registry_id)


class _Matcher:
    """Checks rows chunk by chunk: agreement look-ups and duplicate checks
    in one query per chunk, not per row (a 10,000-line file)."""

    def __init__(self, system: PaymentSystem, registry: RegistryImport):
        self.system = system
        self.registry = registry
        self.is_1c = layout_of(system.options).get("format") == "1c"
        self.seen: dict[str, int] = {}  # transaction id → line, within the file
        self.today = today()

    def _agreements_by_number(self, numbers) -> dict[str, list[Agreement]]:
        found: dict[str, list[Agreement]] = {}
        numbers = list({n for n in numbers if n})
        for start in range(0, len(numbers), CHUNK):
            query = Agreement.select().where(Agreement.number.in_(numbers[start:start + CHUNK]))
            if self.system.operator_id:
                query = query.where(Agreement.operator == self.system.operator_id)
            for agreement in query:
                found.setdefault(agreement.number, []).append(agreement)
        return found

    def _agreements_by_inn(self, inns) -> dict[str, list[Agreement]]:
        found: dict[str, list[Agreement]] = {}
        inns = list({i for i in inns if i})
        if not inns:
            return found
        query = (Agreement.select(Agreement, Subscriber.inn).join(Subscriber)
                 .where(Subscriber.inn.in_(inns) & Agreement.closed_at.is_null()))
        if self.system.operator_id:
            query = query.where(Agreement.operator == self.system.operator_id)
        for agreement in query:
            found.setdefault(agreement.subscriber.inn, []).append(agreement)
        return found

    def _booked(self, ids) -> dict[str, Payment]:
        """Payments of this system under these transaction ids: a live
        one wins over a cancelled one."""
        found: dict[str, Payment] = {}
        for payment in Payment.select(Payment.id, Payment.external_id, Payment.cancelled_at).where(
                (Payment.gateway == self.system.kind) & (Payment.external_client == self.system.code)
                & Payment.external_id.in_(list(ids))):
            if payment.external_id not in found or payment.cancelled_at is None:
                found[payment.external_id] = payment
        return found

    def _live_rebooking(self, transaction_id: str) -> Payment | None:
        return live_rebooking(self.system, transaction_id)

    def _waiting(self, ids) -> dict[str, int]:
        rows = (RegistryRow.select(RegistryRow.transaction_id, RegistryRow.registry)
                .join(RegistryImport)
                .where((RegistryImport.system == self.system.id) & (RegistryImport.id != self.registry.id)
                       & RegistryImport.status.in_(("dry_run", "posting")) & (RegistryRow.status == "matched")
                       & RegistryRow.transaction_id.in_(list(ids))))
        return {row.transaction_id: row.registry_id for row in rows}

    def check(self, parsed_rows: list[ParsedRow]) -> list[dict]:
        ids = [row_id(self.registry.sha256, row) for row in parsed_rows]
        booked = self._booked(ids)
        waiting = self._waiting(ids)
        if self.is_1c:
            numbers = set()
            for row in parsed_rows:
                strong, other = bank_statement_1c.purpose_candidates(row.purpose)
                numbers.update(strong + other)
            by_number = self._agreements_by_number(numbers)
            by_inn = self._agreements_by_inn(row.payer_inn for row in parsed_rows)
        else:
            by_number = self._agreements_by_number(row.account for row in parsed_rows)
            by_inn = {}
        out = []
        for row, transaction_id in zip(parsed_rows, ids, strict=True):
            out.append(self._one(row, transaction_id, booked, waiting, by_number, by_inn))
        return out

    def _one(self, row: ParsedRow, transaction_id, booked, waiting, by_number, by_inn) -> dict:
        record = {
            "registry": self.registry.id, "line": row.line, "status": "unmatched", "reason": "",
            "reason_detail": "", "account_text": row.account[:255], "payer_inn": row.payer_inn,
            "transaction_id": transaction_id, "external_id": transaction_id, "paid_on": row.paid_on,
            "amount": row.amount, "document_number": (row.document or transaction_id)[:64],
            "comment": (row.comment or row.purpose)[:500], "agreement": None, "payment": None,
        }
        if row.error:
            record["reason"], record["reason_detail"] = row.error, row.detail
            return record
        earlier_line = self.seen.get(transaction_id)
        if earlier_line is not None:
            record.update(status="duplicate", reason=N_("Repeats an earlier line of this file."),
                          reason_detail=str(earlier_line))
            return record
        self.seen[transaction_id] = row.line
        payment = booked.get(transaction_id)
        if payment is not None and payment.cancelled_at is None:
            record.update(status="duplicate", reason=N_("Already booked by this payment system."),
                          reason_detail=f"#{payment.id}")
            return record
        if payment is not None:  # booked once and cancelled (an annulled registry)
            again = self._live_rebooking(transaction_id)
            if again is not None:
                record.update(status="duplicate", reason=N_("Already booked by this payment system."),
                              reason_detail=f"#{again.id}")
                return record
            record["external_id"] = f"{transaction_id}~{self.registry.id}"[:128]
        if transaction_id in waiting:
            record.update(status="duplicate", reason=N_("Waits to be posted in another registry."),
                          reason_detail=f"#{waiting[transaction_id]}")
            return record
        if row.paid_on is not None and row.paid_on > self.today:
            record.update(reason=N_("The date is in the future."), reason_detail=row.paid_on.isoformat())
            return record
        limits = _outside_limits(self.system, row.amount)
        if limits:
            record.update(reason=limits, reason_detail=str(row.amount))
            return record
        agreement, reason, detail = self._agreement_of(row, by_number, by_inn)
        if agreement is None:
            record.update(reason=reason, reason_detail=detail)
            return record
        record.update(status="matched", agreement=agreement.id)
        return record

    def _agreement_of(self, row: ParsedRow, by_number, by_inn):
        if not self.is_1c:
            found = by_number.get(row.account, [])
            if not found:
                return None, N_("No agreement with this number."), row.account[:40]
            if len(found) > 1:
                return None, N_("Several agreements have this number."), row.account[:40]
            if found[0].closed_at is not None:
                return None, N_("The agreement is closed."), row.account[:40]
            return found[0], "", ""
        strong, other = bank_statement_1c.purpose_candidates(row.purpose)
        for candidates in (strong, other):
            hits = {a.id: a for number in candidates for a in by_number.get(number, []) if a.closed_at is None}
            if len(hits) == 1:
                return next(iter(hits.values())), "", ""
            if len(hits) > 1:
                return None, N_("The purpose names several agreements."), ", ".join(a.number for a in hits.values())
        by_payer = by_inn.get(row.payer_inn, [])
        if len(by_payer) == 1:
            return by_payer[0], "", ""
        if len(by_payer) > 1:
            return None, N_("The payer's ИНН belongs to a subscriber with several agreements."), row.payer_inn
        return None, N_("No agreement number or subscriber ИНН found in the payment."), row.purpose[:80]


def _outside_limits(system: PaymentSystem, amount: Decimal) -> str:
    if system.min_amount is not None and amount < system.min_amount:
        return N_("The amount is below the payment system's minimum.")
    if system.max_amount is not None and amount > system.max_amount:
        return N_("The amount is above the payment system's maximum.")
    return ""


def live_rebooking(system: PaymentSystem, transaction_id: str) -> Payment | None:
    """A live payment booked again under `<id>~<registry>` after the first
    booking of `transaction_id` was annulled."""
    return (Payment.select(Payment.id)
            .where((Payment.gateway == system.kind) & (Payment.external_client == system.code)
                   & Payment.external_id.startswith(transaction_id + "~") & Payment.cancelled_at.is_null())
            .first())


def _recount(registry_id: int) -> None:
    """Totals of the registry from its rows."""
    def count_sum(condition):
        row = (RegistryRow.select(fn.COUNT(RegistryRow.id).alias("n"),
                                  fn.SUM(RegistryRow.amount).coerce(False).alias("s"))
               .where((RegistryRow.registry == registry_id) & condition).dicts().get())
        return row["n"] or 0, from_minor(row["s"] or 0)

    matched, matched_amount = count_sum(RegistryRow.status == "matched")
    duplicates, _ = count_sum(RegistryRow.status == "duplicate")
    unmatched, _ = count_sum(RegistryRow.status == "unmatched")
    _, file_amount = count_sum(RegistryRow.amount.is_null(False))
    booked, booked_amount = count_sum(RegistryRow.payment.is_null(False))
    RegistryImport.update(
        matched_count=matched, matched_amount=matched_amount,
        duplicate_count=duplicates, unmatched_count=unmatched,
        file_amount=file_amount, booked_count=booked, booked_amount=booked_amount,
    ).where(RegistryImport.id == registry_id).execute()


def control_problem(registry: RegistryImport) -> tuple[str, dict] | None:
    """(msgid, params) when the file's control total or count disagrees
    with its rows (DOMAIN-RULES §3.4: the registry total equals the bank's
    payment order), else None.  A line whose amount cannot be read counts
    as missing: such a file never passes."""
    if registry.control_amount is None and registry.control_count is None:
        return None
    amount_ok = registry.control_amount is None or registry.control_amount == registry.file_amount
    count_ok = registry.control_count is None or registry.control_count == registry.rows_total
    if amount_ok and count_ok:
        return None
    return (N_("The control total of the file (%(control)s in %(control_count)s payments) does not match "
               "its lines (%(total)s in %(count)s lines): nothing is booked."),
            {"control": str(registry.control_amount if registry.control_amount is not None else "—"),
             "control_count": str(registry.control_count if registry.control_count is not None else "—"),
             "total": str(registry.file_amount), "count": str(registry.rows_total)})


def check_postable(registry_id) -> RegistryImport:
    """Refuse posting a registry that is not a finished dry run or whose
    control total is wrong; the registry otherwise."""
    registry = _registry(registry_id)
    if registry.status != "dry_run":
        raise Conflict(N_("Only a registry after its dry run can be posted."))
    problem = control_problem(registry)
    if problem:
        message, params = problem
        raise ValidationError(message, **params)
    return registry


def mark_posting(registry_id) -> RegistryImport:
    """Claim a dry run for posting (the worker then posts it): refused
    when another request claimed it first or the control total is wrong."""
    check_postable(registry_id)
    with transaction():
        claimed = RegistryImport.update(status="posting").where(
            (RegistryImport.id == registry_id) & (RegistryImport.status == "dry_run")).execute()
    if not claimed:
        raise Conflict(N_("Only a registry after its dry run can be posted."))
    return _registry(registry_id)


def post_import(registry_id, *, actor) -> RegistryImport:
    """Book every matched row in one transaction (see the module's rules)."""
    who = actor_of(actor)
    registry = _registry(registry_id)
    if registry.status == "dry_run":
        check_postable(registry_id)
    elif registry.status != "posting":
        raise Conflict(N_("Only a registry after its dry run can be posted."))
    system = PaymentSystem.get_by_id(registry.system_id)
    with transaction():
        claimed = RegistryImport.update(status="posted", posted_at=now_utc(), posted_by=who.label, error="",
                                        error_detail="").where(
            (RegistryImport.id == registry.id) & RegistryImport.status.in_(("dry_run", "posting"))).execute()
        if not claimed:
            raise Conflict(N_("Only a registry after its dry run can be posted."))
        rows = (RegistryRow.select(RegistryRow, Agreement).join(Agreement)
                .where((RegistryRow.registry == registry.id) & (RegistryRow.status == "matched"))
                .order_by(RegistryRow.line))
        _book_rows(list(rows), system, registry, who)
        _recount(registry.id)
        fresh = _registry(registry.id)
        audit.record(who, "registry.post", "registry", registry.id,
                     after={"booked": fresh.booked_count, "amount": str(fresh.booked_amount),
                            "unmatched": fresh.unmatched_count, "duplicates": fresh.duplicate_count})
    return fresh


def _book_rows(rows: list[RegistryRow], system: PaymentSystem, registry: RegistryImport, who) -> None:
    """Book the matched rows together through the batch form of the payment
    door (billing.payments.post_payments: the same rules per payment, a
    statement per table instead of per payment), then mark each row as
    _book_row does one by one."""
    items, targets = [], []
    for row in rows:
        if "~" in row.external_id:
            again = live_rebooking(system, row.transaction_id)
            if again is not None:
                _set_row(row, status="duplicate", reason=N_("Already booked by this payment system."),
                         reason_detail=f"#{again.id}")
                continue
        items.append(PaymentItem(
            agreement=row.agreement, amount=row.amount, document_number=row.document_number or row.transaction_id[:64],
            external_id=row.external_id, paid_at=row.paid_on, comment=_row_comment(row, registry)))
        targets.append(row)
    links = []
    for row, result in zip(targets, post_payments(items, actor=who, payment_system=system, method="bank"),
                           strict=True):
        if isinstance(result.error, Conflict):
            _set_row(row, status="unmatched", reason=N_("This transaction id was booked with other details."),
                     reason_detail=row.transaction_id)
        elif result.error is not None:
            _set_row(row, status="unmatched", reason=result.error.message, reason_detail="")
        elif not result.created:
            _set_row(row, status="duplicate", reason=N_("Already booked by this payment system."),
                     reason_detail=f"#{result.payment.id}")
        else:
            links.append((row.id, result.payment.id))
    update_by_id("registry_row", "payment_id", links)


def _row_comment(row: RegistryRow, registry: RegistryImport) -> str:
    return " ".join(p for p in (row.comment, f"{registry.file_name}, line {row.line}") if p)[:1000]


def _book_row(row: RegistryRow, system: PaymentSystem, registry: RegistryImport, who) -> None:
    if "~" in row.external_id:
        again = live_rebooking(system, row.transaction_id)
        if again is not None:
            _set_row(row, status="duplicate", reason=N_("Already booked by this payment system."),
                     reason_detail=f"#{again.id}")
            return
    try:
        payment, created = post_payment(
            row.agreement, row.amount, row.document_number or row.transaction_id[:64], actor=who,
            paid_at=row.paid_on, method="bank", comment=_row_comment(row, registry), payment_system=system,
            external_id=row.external_id)
    except Conflict:
        _set_row(row, status="unmatched", reason=N_("This transaction id was booked with other details."),
                 reason_detail=row.transaction_id)
        return
    except ValidationError as exc:
        _set_row(row, status="unmatched", reason=exc.message, reason_detail="")
        return
    if not created:
        _set_row(row, status="duplicate", reason=N_("Already booked by this payment system."),
                 reason_detail=f"#{payment.id}")
        return
    database.execute_sql(f'UPDATE "registry_row" SET "payment_id" = {database.param} WHERE "id" = {database.param}',
                         (payment.id, row.id))  # the hot path of a long registry: fixed text


def _set_row(row: RegistryRow, **values) -> None:
    RegistryRow.update(**values).where(RegistryRow.id == row.id).execute()


def match_row(row_id, agreement, *, actor) -> RegistryRow:
    """Staff choose the agreement of an unmatched row: before posting the
    row becomes matched; after posting it is booked at once.  A row whose
    line could not be read (no amount) cannot be matched."""
    who = actor_of(actor)
    with transaction():
        row = RegistryRow.get_or_none(RegistryRow.id == row_id)
        if row is None:
            raise NotFound(N_("Registry row not found."))
        registry = RegistryImport.get_by_id(row.registry_id)
        if row.status != "unmatched":
            raise Conflict(N_("Only an unmatched row can be matched by hand."))
        if registry.status not in ("dry_run", "posted"):
            raise Conflict(N_("Rows are matched by hand after the dry run and before an annulment."))
        if row.amount is None or (row.paid_on is not None and row.paid_on > today()):
            raise ValidationError(N_("This row cannot be booked: its amount or date is wrong in the file."))
        if not isinstance(agreement, Agreement):
            agreement = Agreement.get_or_none(Agreement.id == agreement)
        if agreement is None:
            raise NotFound(N_("Agreement not found."), fields={"agreement": N_("No such agreement.")})
        if agreement.closed_at is not None:
            raise ValidationError(N_("The agreement is closed."), fields={"agreement": N_("Closed.")})
        system = PaymentSystem.get_by_id(registry.system_id)
        _set_row(row, status="matched", agreement=agreement.id, reason="", reason_detail="", matched_by=who.label)
        row = RegistryRow.select(RegistryRow, Agreement).join(Agreement).where(RegistryRow.id == row.id).get()
        if registry.status == "posted":
            _book_row(row, system, registry, who)
            row = RegistryRow.get_by_id(row.id)
            if row.payment_id is None:
                raise Conflict(N_("This transaction id was booked with other details."))
        _recount(registry.id)
        audit.record(who, "registry.match", "registry", registry.id,
                     after={"line": row.line, "agreement": agreement.number,
                            "payment": row.payment_id})
    return row


def annul_import(registry_id, *, actor, reason: str) -> RegistryImport:
    """Annul a posted registry as a whole: every payment it booked is
    reversed (cancel_payment) in one transaction; a payment staff
    cancelled on its own before stays as it is."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(N_("Give a reason for annulling."), fields={"reason": N_("Required.")})
    who = actor_of(actor)
    with transaction():
        registry = _registry(registry_id)
        claimed = RegistryImport.update(status="annulled", annulled_at=now_utc(), annulled_by=who.label,
                                        annul_reason=reason[:1000]).where(
            (RegistryImport.id == registry.id) & (RegistryImport.status == "posted")).execute()
        if not claimed:
            raise Conflict(N_("Only a posted registry can be annulled."))
        payments = (Payment.select().join(RegistryRow, on=(RegistryRow.payment == Payment.id))
                    .where((RegistryRow.registry == registry.id) & Payment.cancelled_at.is_null()))
        reversed_count = 0
        for payment in payments:
            cancel_payment(payment, actor=who, reason=f"{reason} (registry #{registry.id})"[:1000])
            reversed_count += 1
        audit.record(who, "registry.annul", "registry", registry.id,
                     after={"reversed": reversed_count, "reason": reason[:200]})
    return _registry(registry.id)


def discard_import(registry_id, *, actor) -> RegistryImport:
    """A dry run that will not be posted (a wrong file, or a check only):
    its rows no longer wait, so the right file's rows are not taken for
    duplicates."""
    who = actor_of(actor)
    with transaction():
        claimed = RegistryImport.update(status="discarded").where(
            (RegistryImport.id == registry_id) & RegistryImport.status.in_(("dry_run", "failed"))).execute()
        if not claimed:
            raise Conflict(N_("Only a dry run that is not posted can be discarded."))
        audit.record(who, "registry.discard", "registry", registry_id)
    return _registry(registry_id)


def import_file(system: PaymentSystem, file_name: str, content: bytes, *, actor, post: bool,
                progress: Callable[[int, int], None] | None = None) -> RegistryImport:
    """Upload, dry run and (with `post`) posting in one call."""
    registry = start_import(system, file_name, content, actor=actor)
    registry = read_import(registry.id, progress=progress)
    if post and registry.status == "dry_run":
        registry = post_import(registry.id, actor=actor)
    return registry


def reset_after_failed_post(registry_id, exc: Exception | None = None) -> None:
    """The worker could not post: the claim is given back, with the
    reason (a refusal's message, else a database failure) shown on the
    registry's page, so staff can try again."""
    if isinstance(exc, BillingError):
        message, detail = exc.message, json.dumps(exc.params) if exc.params else ""
    else:
        message, detail = N_("The registry could not be posted because of a database error. Try again."), ""
    with transaction():
        RegistryImport.update(status="dry_run", error=message, error_detail=detail).where(
            (RegistryImport.id == registry_id) & (RegistryImport.status == "posting")).execute()

