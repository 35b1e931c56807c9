"""Subscribers (seed 002 «Пользователь»): class fields, fixed category and
class, the system group, deletion rules, similar names."""

from __future__ import annotations

import pytest

from lanbill.customers import subscribers
from lanbill.errors import Conflict, ValidationError
from lanbill.models import AuditLog, Group, Subscriber, SubscriberGroup
from tests.factories import ACTOR, make_account, make_agreement, make_subscriber


def test_new_subscriber_is_in_system_group(app):
    subscriber = make_subscriber()
    system = Group.get(Group.is_system == True)  # noqa: E712
    assert SubscriberGroup.select().where(
        (SubscriberGroup.subscriber == subscriber.id) & (SubscriberGroup.group == system.id)
    ).exists()
    with pytest.raises(Conflict):
        subscribers.remove_from_group(subscriber, system, actor=ACTOR)


def test_other_class_fields_are_dropped_at_creation(app):
    subscriber = make_subscriber(kind="legal", name="ООО «Ромашка»", kpp="770101001", director="Петров П.П.",
                                 passport_number="123456")
    stored = Subscriber.get_by_id(subscriber.id)
    assert stored.kpp == "770101001" and stored.director == "Петров П.П."
    assert stored.passport_number == ""


def test_category_and_class_are_fixed(app):
    subscriber = make_subscriber()
    with pytest.raises(ValidationError):
        subscribers.update_subscriber(subscriber, {"kind": "legal"}, actor=ACTOR)
    with pytest.raises(ValidationError):
        subscribers.update_subscriber(subscriber, {"category": "dealer"}, actor=ACTOR)


def test_passport_is_encrypted_at_rest(app):
    subscriber = make_subscriber(passport_series="4510", passport_number="654321")
    query = Subscriber.select(Subscriber.passport_number).where(Subscriber.id == subscriber.id)
    sql, params = query.sql()
    stored_text = Subscriber._meta.database.execute_sql(sql, params).fetchone()[0]
    assert "654321" not in stored_text
    assert Subscriber.get_by_id(subscriber.id).passport_number == "654321"


def test_stale_update_is_refused(app):
    subscriber = make_subscriber()
    subscribers.update_subscriber(subscriber, {"phone": "+79001112233"}, actor=ACTOR, version=1)
    with pytest.raises(Conflict):
        subscribers.update_subscriber(subscriber, {"phone": "+79000000000"}, actor=ACTOR, version=1)
    assert Subscriber.get_by_id(subscriber.id).phone == "+79001112233"


def test_subscriber_with_accounts_cannot_be_deleted(app):
    account = make_account()
    subscriber = Subscriber.get_by_id(account.subscriber_id)
    with pytest.raises(Conflict):
        subscribers.delete_subscriber(subscriber, actor=ACTOR)
    assert Subscriber.get_or_none(Subscriber.id == subscriber.id) is not None


def test_subscriber_without_anything_can_be_deleted_and_is_audited(app):
    subscriber = make_subscriber()
    subscribers.delete_subscriber(subscriber, actor=ACTOR)
    assert Subscriber.get_or_none(Subscriber.id == subscriber.id) is None
    assert AuditLog.select().where(AuditLog.action == "subscriber.delete").count() == 1


@pytest.mark.parametrize(
    "first, second",
    [("Дубов Иван", "Дупоф Ивн"), ("Иванова Анна", "Ivanova Anna")],
)
def test_similar_names_by_consonant_skeleton(app, first, second):
    original = make_subscriber(name=first)
    found = subscribers.similar_subscribers(second)
    if all(ch.isascii() for ch in second):
        # a Latin spelling is another alphabet: no match is expected
        assert original not in found
    else:
        assert original in found


def test_skeleton_drops_vowels_and_folds_voiced_pairs():
    assert subscribers.name_skeleton("Дубов") == subscribers.name_skeleton("Дупоф") == "тпф"
    assert subscribers.name_skeleton("Анна  Ивановна") == "н фнфн"


def test_agreement_numbers_follow_pattern_and_are_unique(app):
    from lanbill.customers import agreements

    first = make_agreement()
    second = make_agreement()
    assert first.number != second.number
    assert first.number.endswith("000001") and second.number.endswith("000002")
    with pytest.raises(Conflict):
        make_agreement(number=first.number)
    agreements.set_number_pattern("LB-{seq:05d}", actor=ACTOR)
    assert make_agreement().number == "LB-00003"
    with pytest.raises(ValidationError):
        agreements.set_number_pattern("no-seq", actor=ACTOR)


def test_passport_dates_and_division_code_are_checked_and_kept_as_iso(app):
    """Passport issue and birth dates accept 25.03.1990 or 1990-03-25 and
    are stored as ISO (the form's date inputs show them); the division
    code is NNN-NNN; anything else is refused with a message per field."""
    import pytest

    from lanbill.customers import subscribers
    from lanbill.errors import ValidationError
    from tests.factories import ACTOR

    person = subscribers.create_subscriber({"name": "Датов Д.", "passport_issued_on": "25.03.2010",
                                            "birth_date": "1990-03-25", "passport_division_code": "400-012"},
                                           actor=ACTOR)
    assert (person.passport_issued_on, person.birth_date, person.passport_division_code) == (
        "2010-03-25", "1990-03-25", "400-012")
    with pytest.raises(ValidationError) as refused:
        subscribers.create_subscriber({"name": "Плохих П.", "passport_issued_on": "31.02.2010",
                                       "birth_date": "3000-01-01", "passport_division_code": "400012"},
                                      actor=ACTOR)
    assert set(refused.value.fields) == {"passport_issued_on", "birth_date", "passport_division_code"}
