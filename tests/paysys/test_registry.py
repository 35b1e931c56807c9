"""Registries (DOMAIN-RULES §3.4): reading by the layout, the dry run
(matched / duplicate / unmatched with the reason), posting in one
transaction with the control total, hand matching, annulling as a whole,
and the same file uploaded twice."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lanbill.actor import Actor
from lanbill.errors import Conflict, ValidationError
from lanbill.models import Agreement, LedgerEntry, Payment
from lanbill.models.registries import RegistryImport, RegistryRow
from lanbill.paysys import registry_booking as booking
from lanbill.paysys.registry import RegistryFileError, layout_of, read_registry
from tests.factories import table_counts
from tests.paysys.helpers import SBER_LAYOUT, make_numbered_agreements, make_registry_system, sample

STAFF = Actor("manager:test", is_staff=True)


def _rows(registry):
    return {row.line: row for row in RegistryRow.select().where(RegistryRow.registry == registry.id)}


def _balance(agreement) -> Decimal:
    return Agreement.get_by_id(agreement.id).balance


# --- reading (pure) --------------------------------------------------------------------------


def test_default_layout_reads_the_lanbilling_manual_registry_in_windows_1251():
    parsed = read_registry(sample("lanbill_cp1251.txt"), layout_of({}))
    assert [r.line for r in parsed.rows] == [2, 3, 4, 5, 6, 7]
    first = parsed.rows[0]
    assert (first.account, first.transaction_id, str(first.paid_on), first.amount, first.comment, first.document) == (
        "R-1001", "TX-0001", "2026-11-20", Decimal("500.00"), "Оплата за ноябрь", "101")
    assert parsed.rows[1].amount == Decimal("1000.50") and parsed.rows[1].payer_inn == "7701234567"
    bad = parsed.rows[3]
    assert bad.amount is None and bad.error and bad.detail == "сто рублей"
    assert parsed.control_amount is None


@pytest.mark.parametrize("name", ["sber_utf8.csv", "sber_cp1251.csv"])
def test_sberbank_layout_reads_rows_and_the_control_line_in_either_encoding(name):
    parsed = read_registry(sample(name), layout_of({"registry": SBER_LAYOUT}))
    assert [(r.account, r.transaction_id, r.amount) for r in parsed.rows] == [
        ("R-1001", "550001", Decimal("1000.00")), ("R-1002", "550002", Decimal("250.00")),
        ("R-1003", "550003", Decimal("750.50"))]
    assert parsed.rows[0].comment == "ИВАНОВ И И"
    assert (parsed.control_count, parsed.control_amount) == (3, Decimal("2000.50"))


def test_a_file_without_its_control_line_is_refused_as_a_whole():
    content = b"20.11.2026;10:00:00;1;550001;R-1001;X;Y;100.00\n"
    with pytest.raises(RegistryFileError) as refused:
        read_registry(content, layout_of({"registry": SBER_LAYOUT}))
    assert "control line" in refused.value.message


def test_a_layout_without_the_amount_column_is_refused():
    with pytest.raises(RegistryFileError):
        read_registry(b"1;2\n", layout_of({"registry": {"columns": {"agreement": 1}}}))


def test_utf8_layout_refuses_a_windows_1251_file():
    with pytest.raises(RegistryFileError) as refused:
        read_registry(sample("lanbill_cp1251.txt"), layout_of({"registry": {"encoding": "utf-8"}}))
    assert "UTF-8" in refused.value.message


# --- dry run ---------------------------------------------------------------------------------


def test_dry_run_shows_every_row_and_books_nothing(app):
    agreements = make_numbered_agreements("R-1001", "R-1002", "R-1003")
    system = make_registry_system()
    before = Payment.select().count()
    registry = booking.import_file(system, "register.txt", sample("lanbill_cp1251.txt"), actor=STAFF, post=False)
    assert registry.status == "dry_run" and Payment.select().count() == before
    rows = _rows(registry)
    assert rows[2].status == "matched" and rows[2].agreement_id == agreements["R-1001"].id
    assert rows[2].amount == Decimal("500.00")
    assert rows[3].status == "matched" and rows[3].amount == Decimal("1000.50")
    assert (rows[4].status, rows[4].reason, rows[4].reason_detail) == (
        "unmatched", "No agreement with this number.", "R-9999")
    assert rows[5].status == "unmatched" and rows[5].amount is None and rows[5].reason_detail == "сто рублей"
    assert (rows[6].status, rows[6].reason, rows[6].reason_detail) == (
        "duplicate", "Repeats an earlier line of this file.", "2")
    assert rows[7].status == "matched"
    assert (registry.rows_total, registry.matched_count, registry.duplicate_count, registry.unmatched_count) == (
        6, 3, 1, 2)
    assert registry.matched_amount == Decimal("1850.50")


def test_rows_with_a_future_date_or_a_closed_agreement_are_unmatched(app):
    from lanbill.clock import today

    agreements = make_numbered_agreements("R-1", "R-2")
    Agreement.update(closed_at=Agreement.created_at).where(Agreement.id == agreements["R-2"].id).execute()
    tomorrow = today().toordinal() + 1
    from datetime import date

    content = (f"\nR-1;A;{date.fromordinal(tomorrow).isoformat()};10;;;;\nR-2;B;2026-11-01;10;;;;\n").encode()
    registry = booking.import_file(make_registry_system(), "r.txt", content, actor=STAFF, post=False)
    rows = _rows(registry)
    assert rows[2].reason == "The date is in the future."
    assert rows[3].reason == "The agreement is closed."


# --- posting ---------------------------------------------------------------------------------


def test_posting_books_matched_rows_once_each_with_the_system_and_its_transaction_id(app):
    agreements = make_numbered_agreements("R-1001", "R-1002", "R-1003")
    system = make_registry_system()
    registry = booking.import_file(system, "register.txt", sample("lanbill_cp1251.txt"), actor=STAFF, post=False)
    registry = booking.post_import(registry.id, actor=STAFF)
    assert registry.status == "posted" and registry.booked_count == 3
    assert registry.booked_amount == Decimal("1850.50")
    assert _balance(agreements["R-1001"]) == Decimal("500.00")
    assert _balance(agreements["R-1002"]) == Decimal("1000.50")
    assert _balance(agreements["R-1003"]) == Decimal("350.00")
    payment = Payment.get(Payment.external_id == "TX-0002")
    assert (payment.payment_system_id, payment.gateway, payment.external_client, payment.method) == (
        system.id, "registry", "bank", "bank")
    assert payment.document_number == "102" and str(payment.paid_at.date()) in ("2026-11-19", "2026-11-20")
    assert "register.txt" in payment.comment
    assert _rows(registry)[3].payment_id == payment.id
    with pytest.raises(Conflict):
        booking.post_import(registry.id, actor=STAFF)


def test_wrong_control_total_refuses_posting_with_a_clear_message_and_books_nothing(app):
    make_numbered_agreements("R-1001", "R-1002", "R-1003")
    system = make_registry_system(layout=SBER_LAYOUT)
    registry = booking.import_file(system, "sber.csv", sample("sber_utf8_wrong_total.csv"), actor=STAFF, post=False)
    assert registry.status == "dry_run" and registry.matched_count == 3
    assert booking.control_problem(registry) is not None
    before = table_counts()
    with pytest.raises(ValidationError) as refused:
        booking.post_import(registry.id, actor=STAFF)
    assert "2100.50" in str(refused.value) and "2000.50" in str(refused.value)
    assert "nothing is booked" in str(refused.value)
    assert table_counts() == before
    assert RegistryImport.get_by_id(registry.id).status == "dry_run"


def test_right_control_total_posts(app):
    make_numbered_agreements("R-1001", "R-1002", "R-1003")
    system = make_registry_system(layout=SBER_LAYOUT)
    registry = booking.import_file(system, "sber.csv", sample("sber_cp1251.csv"), actor=STAFF, post=True)
    assert registry.status == "posted" and registry.booked_amount == Decimal("2000.50")


def _fail_payments_of(minor_units: int) -> None:
    """A database that refuses one payment row (a trigger): a failure the
    rules do not expect, in the middle of a posting."""
    from lanbill.db import database, is_sqlite

    if is_sqlite():
        database.execute_sql(f"CREATE TRIGGER fail_payment BEFORE INSERT ON payment WHEN NEW.amount = {minor_units} "
                             "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    else:
        database.execute_sql(f"""CREATE OR REPLACE FUNCTION fail_payment() RETURNS trigger AS $$
            BEGIN IF NEW.amount = {minor_units} THEN RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END;
            $$ LANGUAGE plpgsql""")
        database.execute_sql("CREATE TRIGGER fail_payment BEFORE INSERT ON payment FOR EACH ROW "
                             "EXECUTE FUNCTION fail_payment()")


def _drop_failing_trigger() -> None:
    from lanbill.db import database, is_sqlite

    database.execute_sql("DROP TRIGGER fail_payment" + ("" if is_sqlite() else " ON payment"))


def test_posting_is_atomic_a_failure_midway_books_nothing(app):
    """One transaction: when the database fails at the last matched row,
    the rows booked before it are rolled back with it."""
    import peewee

    agreements = make_numbered_agreements("R-1001", "R-1002", "R-1003")
    system = make_registry_system()
    registry = booking.import_file(system, "register.txt", sample("lanbill_cp1251.txt"), actor=STAFF, post=False)
    _fail_payments_of(35000)  # line 7, 350.00, the last matched row
    before = table_counts()
    try:
        with pytest.raises((peewee.DatabaseError, Payment.DoesNotExist)):  # SQLite: an abort reads as a constraint
            booking.post_import(registry.id, actor=STAFF)
    finally:
        _drop_failing_trigger()
    assert {n: _balance(a) for n, a in agreements.items()} == {n: Decimal("0.00") for n in agreements}
    assert table_counts() == before
    assert RegistryImport.get_by_id(registry.id).status == "dry_run"
    assert booking.post_import(registry.id, actor=STAFF).booked_count == 3


# --- the same file again ---------------------------------------------------------------------


def test_the_same_file_uploaded_again_is_recognised_and_its_rows_are_duplicates(app):
    make_numbered_agreements("R-1001", "R-1002", "R-1003")
    system = make_registry_system()
    first = booking.import_file(system, "register.txt", sample("lanbill_cp1251.txt"), actor=STAFF, post=True)
    payments = Payment.select().count()
    second = booking.import_file(system, "copy.txt", sample("lanbill_cp1251.txt"), actor=STAFF, post=False)
    assert second.same_file_as == first.id and second.sha256 == first.sha256
    assert second.matched_count == 0 and second.duplicate_count == 4
    rows = _rows(second)
    assert rows[2].reason == "Already booked by this payment system."
    booking.post_import(second.id, actor=STAFF)
    assert Payment.select().count() == payments


def test_a_file_waiting_in_another_dry_run_gives_duplicates_and_only_one_books(app):
    agreements = make_numbered_agreements("R-1001", "R-1002", "R-1003")
    system = make_registry_system()
    first = booking.import_file(system, "a.txt", sample("lanbill_cp1251.txt"), actor=STAFF, post=False)
    second = booking.import_file(system, "b.txt", sample("lanbill_cp1251.txt"), actor=STAFF, post=False)
    assert second.duplicate_count == 4 and _rows(second)[2].reason == "Waits to be posted in another registry."
    booking.post_import(first.id, actor=STAFF)
    booking.post_import(second.id, actor=STAFF)
    assert _balance(agreements["R-1001"]) == Decimal("500.00")


# --- hand matching ---------------------------------------------------------------------------


def test_an_unmatched_row_is_matched_by_hand_before_and_after_posting(app):
    agreements = make_numbered_agreements("R-1001", "R-1002", "R-1003", "R-7777")
    system = make_registry_system()
    registry = booking.import_file(system, "register.txt", sample("lanbill_cp1251.txt"), actor=STAFF, post=False)
    unknown = _rows(registry)[4]
    booking.match_row(unknown.id, agreements["R-7777"], actor=STAFF)
    assert RegistryRow.get_by_id(unknown.id).status == "matched"
    registry = booking.post_import(registry.id, actor=STAFF)
    assert registry.booked_count == 4 and _balance(agreements["R-7777"]) == Decimal("300.00")
    # after posting, a row matched by hand is booked at once
    content = b"\nR-0000;LATE-1;2026-11-25;42,00;;;;\n"
    late = booking.import_file(system, "late.txt", content, actor=STAFF, post=True)
    row = _rows(late)[2]
    assert row.status == "unmatched"
    row = booking.match_row(row.id, agreements["R-1001"].id, actor=STAFF)
    assert row.payment_id is not None and row.matched_by == STAFF.label
    assert _balance(agreements["R-1001"]) == Decimal("542.00")
    with pytest.raises(Conflict):
        booking.match_row(row.id, agreements["R-1002"].id, actor=STAFF)


def test_a_row_whose_amount_cannot_be_read_cannot_be_matched(app):
    agreements = make_numbered_agreements("R-1001", "R-1002", "R-1003")
    registry = booking.import_file(make_registry_system(), "r.txt", sample("lanbill_cp1251.txt"), actor=STAFF,
                                   post=False)
    bad = _rows(registry)[5]
    with pytest.raises(ValidationError):
        booking.match_row(bad.id, agreements["R-1003"], actor=STAFF)


# --- annulling -------------------------------------------------------------------------------


def test_annulling_reverses_every_payment_of_the_registry_and_only_a_posted_one(app):
    agreements = make_numbered_agreements("R-1001", "R-1002", "R-1003")
    system = make_registry_system()
    registry = booking.import_file(system, "register.txt", sample("lanbill_cp1251.txt"), actor=STAFF, post=False)
    with pytest.raises(Conflict):
        booking.annul_import(registry.id, actor=STAFF, reason="wrong bank")
    registry = booking.post_import(registry.id, actor=STAFF)
    entries = LedgerEntry.select().count()
    with pytest.raises(ValidationError):
        booking.annul_import(registry.id, actor=STAFF, reason=" ")
    registry = booking.annul_import(registry.id, actor=STAFF, reason="wrong bank")
    assert registry.status == "annulled" and registry.annul_reason == "wrong bank"
    assert all(_balance(a) == Decimal("0.00") for a in agreements.values())
    assert LedgerEntry.select().count() == entries + 3  # reversals, nothing deleted
    assert Payment.select().where(Payment.cancelled_at.is_null(False)).count() == 3
    with pytest.raises(Conflict):
        booking.annul_import(registry.id, actor=STAFF, reason="again")


def test_after_an_annulment_the_corrected_file_books_once_more_and_only_once(app):
    agreements = make_numbered_agreements("R-1001", "R-1002", "R-1003")
    system = make_registry_system()
    first = booking.import_file(system, "register.txt", sample("lanbill_cp1251.txt"), actor=STAFF, post=True)
    booking.annul_import(first.id, actor=STAFF, reason="wrong day")
    again = booking.import_file(system, "register.txt", sample("lanbill_cp1251.txt"), actor=STAFF, post=True)
    assert again.booked_count == 3 and _balance(agreements["R-1001"]) == Decimal("500.00")
    third = booking.import_file(system, "register.txt", sample("lanbill_cp1251.txt"), actor=STAFF, post=True)
    assert third.booked_count == 0 and third.duplicate_count == 4
    assert _balance(agreements["R-1001"]) == Decimal("500.00")


def test_a_file_that_is_not_a_registry_fails_with_the_reason(app):
    registry = booking.import_file(make_registry_system(layout=SBER_LAYOUT), "x.csv", b"hello\n", actor=STAFF,
                                   post=True)
    assert registry.status == "failed" and "control line" in registry.error


def test_only_a_registry_system_takes_files(app):
    system = make_registry_system(kind="osmp")
    with pytest.raises(ValidationError):
        booking.start_import(system, "r.txt", b"x", actor=STAFF)
    with pytest.raises(ValidationError):
        booking.start_import(make_registry_system(code="empty"), "r.txt", b"", actor=STAFF)


def test_layout_numbers_written_as_text_are_read_and_bad_ones_refused():
    layout = layout_of({"registry": {"columns": {"agreement": "1", "amount": "2"}, "header_lines": "0"}})
    assert layout["columns"] == {"agreement": 1, "amount": 2} and layout["header_lines"] == 0
    parsed = read_registry(b"R-1;15,00\n", layout)
    assert parsed.rows[0].amount == Decimal("15.00")
    with pytest.raises(RegistryFileError):
        read_registry(b"R-1;15,00\n", layout_of({"registry": {"columns": {"agreement": "x", "amount": 2}}}))
