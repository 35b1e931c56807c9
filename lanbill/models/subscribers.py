"""Subscribers (seed 002 «Пользователь»), their groups and saved searches."""

from __future__ import annotations

import peewee

from lanbill.db import EncryptedField, JSONField, MoneyField
from lanbill.models.addresses import Address
from lanbill.models.base import BaseModel, utcnow

CATEGORIES = ("subscriber", "operator", "dealer")
KINDS = ("individual", "legal")

# Fields of each class (seed 002, «Работа с формой свойств объекта
# „Пользователь“»).  Switching class before saving drops the other class's
# fields; after creation the class is fixed.
INDIVIDUAL_FIELDS = (
    "passport_series",
    "passport_number",
    "passport_issued_on",
    "passport_issued_by",
    "passport_issued_place",
    "passport_division_code",
    "birth_date",
    "inn",
)
LEGAL_FIELDS = (
    "director",
    "acting_basis",
    "chief_accountant",
    "contact_person",
    "legal_category",
    "inn",
    "kpp",
    "ogrn",
    "bank_name",
    "bik",
    "corr_account",
    "settlement_account",
)
COMMON_FIELDS = (
    "name",
    "email",
    "phone",
    "fax",
    "description",
    "delivery_method",
    "login",
    "cabinet_ip_only",
    "card_activation_blocked",
)
# Personal data: encrypted at rest and shown only to roles allowed to see it.
PERSONAL_FIELDS = (
    "passport_series",
    "passport_number",
    "passport_issued_on",
    "passport_issued_by",
    "passport_issued_place",
    "passport_division_code",
    "birth_date",
)


class Subscriber(BaseModel):
    category = peewee.CharField(max_length=16, default="subscriber")
    kind = peewee.CharField(max_length=16, default="individual")
    # FIO of the responsible person (individual) or company name with its
    # legal form (legal entity).
    name = peewee.CharField(max_length=255)
    name_skeleton = peewee.CharField(max_length=255, index=True, default="")
    email = peewee.CharField(max_length=255, default="")
    phone = peewee.CharField(max_length=64, default="")
    fax = peewee.CharField(max_length=64, default="")
    description = peewee.TextField(default="")
    delivery_method = peewee.CharField(max_length=64, default="")
    # cabinet access
    login = peewee.CharField(max_length=64, null=True, unique=True)
    password_hash = peewee.CharField(max_length=255, default="")
    cabinet_ip_only = peewee.BooleanField(default=False)
    card_activation_blocked = peewee.BooleanField(default=False)
    failed_card_activations = peewee.IntegerField(default=0)
    # individual: passport (encrypted), birth date, INN
    passport_series = EncryptedField(default="")
    passport_number = EncryptedField(default="")
    passport_issued_on = EncryptedField(default="")
    passport_issued_by = EncryptedField(default="")
    passport_issued_place = EncryptedField(default="")
    birth_date = EncryptedField(default="")
    # «код подразделения» of the passport: NNN-NNN
    passport_division_code = EncryptedField(default="")
    inn = peewee.CharField(max_length=12, default="")
    # legal entity
    director = peewee.CharField(max_length=255, default="")
    acting_basis = peewee.CharField(max_length=255, default="")
    chief_accountant = peewee.CharField(max_length=255, default="")
    contact_person = peewee.CharField(max_length=255, default="")
    legal_category = peewee.CharField(max_length=64, default="")
    kpp = peewee.CharField(max_length=9, default="")
    ogrn = peewee.CharField(max_length=15, default="")
    bank_name = peewee.CharField(max_length=255, default="")
    bik = peewee.CharField(max_length=9, default="")
    corr_account = peewee.CharField(max_length=20, default="")
    settlement_account = peewee.CharField(max_length=20, default="")
    # addresses: registration (individual) or legal (legal entity), postal,
    # invoice delivery
    main_address = peewee.ForeignKeyField(Address, null=True, on_delete="SET NULL")
    postal_address = peewee.ForeignKeyField(
        Address, null=True, on_delete="SET NULL", backref="+"
    )
    delivery_address = peewee.ForeignKeyField(
        Address, null=True, on_delete="SET NULL", backref="+"
    )
    is_template = peewee.BooleanField(default=False, index=True)
    version = peewee.IntegerField(default=1)  # optimistic lock for stale forms
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)


class Group(BaseModel):
    """A subscriber group; the system group "All subscribers" holds everyone
    and cannot be left.  Groups carry the promised-payment settings."""

    name = peewee.CharField(max_length=128, unique=True)
    description = peewee.TextField(default="")
    is_system = peewee.BooleanField(default=False)
    promise_allowed = peewee.BooleanField(default=False)
    promise_max_amount = MoneyField(default=0)
    promise_days = peewee.IntegerField(default=3)
    promise_interval_days = peewee.IntegerField(default=30)
    version = peewee.IntegerField(default=1)


class SubscriberGroup(BaseModel):
    subscriber = peewee.ForeignKeyField(Subscriber, backref="memberships", on_delete="CASCADE")
    group = peewee.ForeignKeyField(Group, backref="memberships", on_delete="CASCADE")

    class Meta:
        indexes = ((("subscriber", "group"), True), (("group", "subscriber"), False))


class SavedSearch(BaseModel):
    """A named rule set for the advanced subscriber search."""

    manager_id = peewee.IntegerField(index=True)
    name = peewee.CharField(max_length=128)
    rules = JSONField(default=list)
    created_at = peewee.DateTimeField(default=utcnow)
