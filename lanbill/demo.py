"""Demo data: a realistic small regional ISP for screens, benchmarks and first looks.

`flask --app app demo --subscribers N [--seed S]` adds N subscribers with
everything around them: an address directory, both subscriber classes,
tariffs, a RADIUS and a NetFlow agent, NAS, agreements, accounts with
logins and IPs, and a year of rent and payments in the ledger.

The handful of catalogue objects (tariffs, agents, NAS, groups) are made by
the same domain functions the screens use.  The mass rows are written in
bulk — the driver's executemany in chunks, one transaction per chunk — so
that 100,000 subscribers take well under two minutes on SQLite.  Bulk
writing bypasses the domain functions, so this module keeps their
invariants itself:
- balance = sum of the agreement's ledger entries (`flask check` passes);
- logins unique within an agent, IP addresses unique and non-overlapping;
- every subscriber is in the system group "All subscribers";
- `name_skeleton` computed by billing.subscribers.name_skeleton;
- an account is balance-blocked exactly when available funds < 0, and
  every set flag has its AccountStateChange row;
- agreement numbers follow the configured pattern and advance its counter;
- a month's rent is one advance entry with the idempotency key billing.rent
  gives it (DESIGN §4), so the rent job run afterwards does not charge the
  current month again.  (History is simpler than the engine's: no
  day-by-day corrections for blocked days.)
The same seed on the same day gives the same data.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import random
import string
import time
from dataclasses import dataclass, field

import peewee

from lanbill.actor import Actor
from lanbill.billing import tariffs
from lanbill.billing.ledger import idempotency_key
from lanbill.billing.periods import range_share
from lanbill.clock import midnight_utc, now_utc, today
from lanbill.customers import agreements as agreement_service
from lanbill.customers.subscribers import name_skeleton, system_group
from lanbill.db import SQLITE_PRAGMAS, database, encrypt_text, from_minor, is_sqlite, to_minor
from lanbill.models import (
    Account,
    AccountIp,
    AccountStateChange,
    Address,
    Agent,
    Agreement,
    Building,
    City,
    Counter,
    Group,
    LedgerEntry,
    Nas,
    Payment,
    Region,
    Street,
    Subscriber,
    SubscriberGroup,
    Tariff,
    TariffChange,
)
from lanbill.network import agents
from lanbill.staff import audit

ACTOR = Actor("demo")
CHUNK = 20_000

# --- dictionaries ------------------------------------------------------------

MALE_NAMES = [
    ("Александр", "Александрович", "Александровна"), ("Алексей", "Алексеевич", "Алексеевна"),
    ("Андрей", "Андреевич", "Андреевна"), ("Антон", "Антонович", "Антоновна"),
    ("Борис", "Борисович", "Борисовна"), ("Вадим", "Вадимович", "Вадимовна"),
    ("Валерий", "Валерьевич", "Валерьевна"), ("Василий", "Васильевич", "Васильевна"),
    ("Виктор", "Викторович", "Викторовна"), ("Владимир", "Владимирович", "Владимировна"),
    ("Вячеслав", "Вячеславович", "Вячеславовна"), ("Геннадий", "Геннадьевич", "Геннадьевна"),
    ("Георгий", "Георгиевич", "Георгиевна"), ("Григорий", "Григорьевич", "Григорьевна"),
    ("Дмитрий", "Дмитриевич", "Дмитриевна"), ("Евгений", "Евгеньевич", "Евгеньевна"),
    ("Иван", "Иванович", "Ивановна"), ("Игорь", "Игоревич", "Игоревна"),
    ("Константин", "Константинович", "Константиновна"), ("Леонид", "Леонидович", "Леонидовна"),
    ("Максим", "Максимович", "Максимовна"), ("Михаил", "Михайлович", "Михайловна"),
    ("Николай", "Николаевич", "Николаевна"), ("Олег", "Олегович", "Олеговна"),
    ("Павел", "Павлович", "Павловна"), ("Пётр", "Петрович", "Петровна"),
    ("Роман", "Романович", "Романовна"), ("Сергей", "Сергеевич", "Сергеевна"),
    ("Станислав", "Станиславович", "Станиславовна"), ("Юрий", "Юрьевич", "Юрьевна"),
]
FEMALE_NAMES = [
    "Анастасия", "Анна", "Валентина", "Галина", "Дарья", "Екатерина", "Елена", "Ирина", "Ксения",
    "Лариса", "Любовь", "Людмила", "Марина", "Мария", "Наталья", "Надежда", "Нина", "Оксана",
    "Ольга", "Полина", "Светлана", "Софья", "Татьяна", "Юлия",
]
SURNAMES = [
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков",
    "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов", "Козлов",
    "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев", "Соловьёв",
    "Борисов", "Яковлев", "Григорьев", "Романов", "Воробьёв", "Сергеев", "Кузьмин", "Фролов",
    "Александров", "Дмитриев", "Королёв", "Гусев", "Киселёв", "Ильин", "Максимов", "Поляков",
    "Сорокин", "Виноградов", "Ковалёв", "Белов", "Медведев", "Антонов", "Тарасов", "Жуков",
    "Баранов", "Филиппов", "Комаров", "Давыдов", "Беляев", "Герасимов", "Богданов", "Осипов",
    "Сидоров", "Матвеев", "Титов", "Марков", "Миронов", "Крылов", "Куликов", "Карпов", "Власов",
    "Мельников", "Денисов", "Гаврилов", "Тихонов", "Казаков", "Афанасьев", "Данилов", "Савельев",
    "Тимофеев", "Фомин", "Чернов", "Абрамов", "Мартынов", "Ефимов", "Федотов", "Щербаков",
    "Назаров", "Калинин", "Исаев", "Чернышёв", "Быков", "Маслов", "Родионов", "Коновалов",
    "Лазарев", "Воронин", "Климов", "Филатов", "Пономарёв", "Голубев", "Кудрявцев", "Прохоров",
    "Наумов", "Потапов", "Журавлёв", "Овчинников", "Трофимов", "Леонов", "Соболев", "Ермаков",
    "Колесников", "Гончаров", "Емельянов", "Никифоров", "Грачёв", "Котов", "Гришин", "Ефремов",
    "Архипов", "Громов", "Кириллов", "Малышев", "Панов", "Моисеев", "Румянцев", "Акимов",
    "Кондратьев", "Бирюков", "Горбунов", "Анисимов", "Ерёмин", "Тихомиров", "Галкин", "Лукьянов",
    "Михеев", "Скворцов", "Юдин", "Белоусов", "Нестеров", "Симонов", "Прокофьев", "Харитонов",
    "Князев", "Цветков", "Левин", "Митрофанов", "Воронов", "Аксёнов", "Софронов", "Мальцев",
    "Логинов", "Горшков", "Савин", "Краснов", "Майоров", "Демидов", "Елисеев", "Рыбаков",
    "Сафонов", "Плотников", "Ширяев", "Жданов", "Соколовский", "Вишневский", "Шевченко", "Бондаренко",
    "Ткаченко", "Кравченко", "Ким", "Пак", "Дубов", "Зуев", "Блинов", "Ершов",
]
COMPANY_NAMES = [
    "Вектор", "Альфа-Строй", "Север", "ТехноСервис", "Мегаполис", "Стройинвест", "Гранит", "Ремстрой",
    "Автоцентр", "Медиагрупп", "Агрокомплекс", "Торговый дом", "Профиль", "Меридиан", "Оптима",
    "Элемент", "Статус", "Горизонт", "Династия", "Энергия", "Лидер", "Спектр", "Фаворит", "Кристалл",
    "Надежда", "Радуга", "Престиж", "Атлант", "Визит", "Перспектива", "Ритм", "Сфера", "Транзит",
    "Формула", "Эталон", "Инфоком", "Светлый дом", "Домострой", "Фармация", "Зодчий",
]
COMPANY_SUFFIXES = ["", "", "", " Плюс", "-Сервис", " Групп", "-М", " и К"]
LEGAL_FORMS = [("ООО", 0.7), ("АО", 0.08), ("ИП", 0.17), ("ПАО", 0.01), ("МУП", 0.04)]
BANKS = [
    ("ПАО Сбербанк", "041708602", "30101810000000000602"),
    ("Банк ВТБ (ПАО)", "044525187", "30101810700000000187"),
    ("АО «Альфа-Банк»", "044525593", "30101810200000000593"),
    ("ПАО «Промсвязьбанк»", "044525555", "30101810400000000555"),
    ("АО «Россельхозбанк»", "044525111", "30101810200000000111"),
]
DIRECTORY = {
    "Владимирская область": {
        "Владимир": "600", "Ковров": "601", "Муром": "602", "Александров": "601", "Гусь-Хрустальный": "601",
    },
    "Ярославская область": {"Ярославль": "150", "Рыбинск": "152"},
    "Ивановская область": {"Иваново": "153", "Кинешма": "155"},
}
STREETS = [
    "ул. Ленина", "ул. Мира", "ул. Советская", "ул. Гагарина", "ул. Пушкина", "ул. Молодёжная",
    "ул. Школьная", "ул. Садовая", "ул. Центральная", "ул. Лесная", "ул. Новая", "ул. Набережная",
    "ул. Заводская", "ул. Строителей", "ул. Октябрьская", "ул. Комсомольская", "ул. Первомайская",
    "ул. Кирова", "ул. Чапаева", "ул. Горького", "ул. Победы", "ул. Северная", "ул. Южная",
    "ул. Полевая", "ул. Мичурина", "пр-т Ленина", "пр-т Строителей", "ул. Фрунзе", "ул. Дзержинского",
    "ул. Куйбышева", "ул. Жуковского", "ул. Суворова", "ул. Маяковского", "ул. Лермонтова",
    "ул. Чкалова", "б-р Победы", "пер. Почтовый", "ул. Пролетарская", "ул. Рабочая", "ул. 50 лет Октября",
]
TARIFFS = [
    # name, scheme, rent, speed kbit/s, share of individual accounts, for legal entities
    {"name": "Домашний 100", "scheme": "dynamic", "rent": "550.00", "speed": 100_000, "weight": 30},
    {"name": "Домашний 300", "scheme": "dynamic", "rent": "750.00", "speed": 300_000, "weight": 35},
    {"name": "Домашний 500", "scheme": "dynamic", "rent": "950.00", "speed": 500_000, "weight": 15},
    {"name": "Гигабит", "scheme": "monthly", "rent": "1290.00", "speed": 1_000_000, "weight": 8},
    {"name": "Социальный 30", "scheme": "monthly", "rent": "350.00", "speed": 30_000, "weight": 12},
    {"name": "Бизнес 200", "scheme": "dynamic", "rent": "2900.00", "speed": 200_000, "legal": True},
    {"name": "Бизнес 1000", "scheme": "monthly", "rent": "7500.00", "speed": 1_000_000, "legal": True},
]
RADIUS_AGENT = "RADIUS (PPPoE)"
NETFLOW_AGENT = "NetFlow (юридические лица)"
NAS_LIST = [
    ("BRAS-1 Владимир", "10.255.0.1", "accel-ppp", RADIUS_AGENT),
    ("BRAS-2 Ковров", "10.255.0.2", "mikrotik", RADIUS_AGENT),
    ("BRAS-3 Ярославль", "10.255.0.3", "mikrotik", RADIUS_AGENT),
    ("Граница Cisco ASR", "10.255.0.10", "cisco", NETFLOW_AGENT),
]
LEGAL_GROUP = "Юридические лица"
BENEFIT_GROUP = "Льготники"
GATEWAYS = ["sberbank", "yookassa", "qiwi"]
# Ranges the demo hands IP addresses out of: /32s for PPPoE subscribers,
# /30 and /32 blocks for legal entities.
INDIVIDUAL_POOL = (10 << 24) | (64 << 16)  # 10.64.0.0/10
LEGAL_POOL = (100 << 24) | (80 << 16)  # 100.80.0.0/12 (shared address space)

_TRANSLIT = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r", "s", "t",
     "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"], strict=True,
))


def translit(text: str) -> str:
    return "".join(_TRANSLIT.get(c, c) for c in text.lower() if c.isalnum() or c in _TRANSLIT)


def female_surname(surname: str) -> str:
    for end, fem in (("ский", "ская"), ("ов", "ова"), ("ев", "ева"), ("ёв", "ёва"), ("ин", "ина"),
                     ("ын", "ына")):
        if surname.endswith(end):
            return surname[: -len(end)] + fem
    return surname  # Шевченко, Ким: the same for both


# --- checksummed Russian identifiers ----------------------------------------

def _check_digit(digits: str, weights: tuple[int, ...]) -> str:
    return str(sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10)


def inn_legal(rng: random.Random, region: str = "33") -> str:
    """A 10-digit INN of a legal entity with its check digit."""
    body = region + "".join(rng.choice(string.digits) for _ in range(7))
    return body + _check_digit(body, (2, 4, 10, 3, 5, 9, 4, 6, 8))


def inn_person(rng: random.Random, region: str = "33") -> str:
    """A 12-digit INN of a person with both check digits."""
    body = region + "".join(rng.choice(string.digits) for _ in range(8))
    body += _check_digit(body, (7, 2, 4, 10, 3, 5, 9, 4, 6, 8))
    return body + _check_digit(body, (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8))


def ogrn(rng: random.Random, region: str = "33") -> str:
    body = rng.choice("15") + f"{rng.randint(2, 24):02d}" + region + "".join(
        rng.choice(string.digits) for _ in range(7))
    return body + str(int(body) % 11 % 10)


def ip_text(value: int) -> str:
    return f"{value >> 24 & 255}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"


# --- bulk writing ---------------------------------------------------------------

def _sql_value(value):
    if isinstance(value, dt.datetime):
        return value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class BulkWriter:
    """INSERT many rows of a model with the driver's executemany (SQLite) or
    execute_values (PostgreSQL), values already in their database form
    (money in kopecks, dates as ISO text, JSON as text).

    Columns the caller does not give get the field's default, converted
    once, so a field added to a model later with a default needs no change
    here; a non-null column with no default is an error."""

    def __init__(self):
        self.sqlite = is_sqlite()

    def insert(self, model, columns: list[str], rows) -> int:
        fields = model._meta.fields
        extra_columns, extra_values = [], []
        for f in model._meta.sorted_fields:
            if f.name in columns or isinstance(f, peewee.AutoField):
                continue
            if f.default is None:
                if f.null:
                    continue
                raise ValueError(f"{model.__name__}.{f.name} needs a value")
            value = f.default() if callable(f.default) else f.default
            extra_columns.append(f.column_name)
            extra_values.append(_sql_value(f.db_value(value)))
        names = [fields[c].column_name if c in fields else c for c in columns] + extra_columns
        table = model._meta.table_name
        column_sql = ", ".join(f'"{n}"' for n in names)
        extra = tuple(extra_values)
        data = [tuple(row) + extra for row in rows] if extra else [tuple(row) for row in rows]
        if not data:
            return 0
        cursor = database.cursor()
        if self.sqlite:
            marks = ", ".join("?" for _ in names)
            cursor.executemany(f'INSERT INTO "{table}" ({column_sql}) VALUES ({marks})', data)
        else:
            from psycopg2.extras import execute_values  # installed only where PostgreSQL is used

            execute_values(cursor, f'INSERT INTO "{table}" ({column_sql}) VALUES %s', data, page_size=2000)
        return len(data)

    def update_many(self, model, column: str, pairs) -> None:
        """SET column = value WHERE id = id for (id, value) pairs."""
        table = model._meta.table_name
        name = model._meta.fields[column].column_name
        cursor = database.cursor()
        if self.sqlite:
            cursor.executemany(f'UPDATE "{table}" SET "{name}" = ? WHERE id = ?', [(v, i) for i, v in pairs])
        else:
            from psycopg2.extras import execute_values  # installed only where PostgreSQL is used

            field_type = model._meta.fields[column].field_type
            sql_type = database.get_context_options()["field_types"].get(field_type, field_type)
            execute_values(
                cursor,
                f'UPDATE "{table}" AS t SET "{name}" = CAST(v.value AS {sql_type}) '
                f"FROM (VALUES %s) AS v(id, value) WHERE t.id = v.id",
                list(pairs), page_size=5000,
            )

    def fix_sequence(self, model) -> None:
        """PostgreSQL: move the id sequence past ids inserted explicitly."""
        if self.sqlite:
            return
        table = model._meta.table_name
        database.execute_sql(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
            f'GREATEST((SELECT MAX(id) FROM "{table}"), 1))'
        )


class _Encrypted:
    """Encrypt through a cache: demo values come from bounded pools, so one
    ciphertext per distinct value is reused (Fernet costs ~10 µs a call;
    sharing a ciphertext between identical demo values reveals nothing)."""

    def __init__(self):
        self.cache: dict[str, str] = {}

    def __call__(self, value: str) -> str:
        found = self.cache.get(value)
        if found is None:
            found = self.cache[value] = encrypt_text(value)
        return found


class DeferredIndexes:
    """Drop the model-declared indexes of the tables that are still empty
    before a bulk load and build them once afterwards: building an index
    from sorted data is several times faster than updating it row by row.
    `restore` runs in a `finally`, so a failed load leaves every index."""

    def __init__(self, models):
        self.models = [m for m in models if not m.select().exists()]

    def drop(self) -> None:
        for model in self.models:
            model._schema.drop_indexes(safe=True)

    def restore(self) -> None:
        for model in self.models:
            model._schema.create_indexes(safe=True)


def _next_id(model) -> int:
    return (model.select(peewee.fn.MAX(model.id)).scalar() or 0) + 1


# --- the generator ----------------------------------------------------------------

@dataclass
class DemoResult:
    subscribers: int = 0
    agreements: int = 0
    accounts: int = 0
    payments: int = 0
    ledger_entries: int = 0
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)

    def summary(self) -> str:
        return (f"demo: {self.subscribers} subscribers, {self.agreements} agreements, {self.accounts} accounts, "
                f"{self.payments} payments, {self.ledger_entries} ledger entries in {self.seconds:.1f} s")


@dataclass
class _Account:
    id: int
    agent_id: int
    tariff_id: int
    rent: int  # kopecks a month
    connect: dt.date
    disconnect: dt.date | None = None
    deleted: bool = False
    flags: set = field(default_factory=set)


@dataclass
class _Agreement:
    id: int
    subscriber_id: int
    date: dt.date
    credit: int
    profile: str
    accounts: list = field(default_factory=list)
    balance: int = 0

    monthly: int = 0  # the rent of its live accounts, for the payment habits

    def compute_monthly(self) -> None:
        self.monthly = sum(a.rent for a in self.accounts if not a.deleted and a.disconnect is None)


class DemoGenerator:
    def __init__(self, subscribers: int, seed: int = 1, months: int = 12, echo=None):
        if subscribers < 1:
            raise ValueError("at least one subscriber")
        self.count = subscribers
        self.rng = random.Random(seed)
        self.months = months
        self.echo = echo or (lambda text: None)
        self.writer = BulkWriter()
        self.today = today()
        self.now = now_utc()
        self.result = DemoResult()
        self.encrypt = _Encrypted()
        self._clock, self._cpu = time.perf_counter(), time.process_time()

    def _lap(self, name: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        self.result.timings[name] = round(now - self._clock, 2)
        self.echo(f"  {name}: {now - self._clock:.1f} s (CPU {cpu - self._cpu:.1f} s)")
        self._clock, self._cpu = now, cpu

    # -- catalogue made by the domain functions --------------------------------------

    def catalogue(self) -> None:
        self.tariffs = {}
        for spec in TARIFFS:
            tariff = Tariff.get_or_none(Tariff.name == spec["name"])
            if tariff is None:
                tariff = tariffs.create_tariff({
                    "name": spec["name"], "scheme": spec["scheme"], "rent": spec["rent"], "rent_blocked": "0",
                    "speed_in_kbit": spec["speed"], "speed_out_kbit": spec["speed"],
                    "description": "Демо-тариф",
                }, actor=ACTOR)
            self.tariffs[spec["name"]] = tariff
        self.agents = {}
        for name, kind, options in (
            (RADIUS_AGENT, "radius", {"auth_port": 1812, "acct_port": 1813, "interim_interval": 300,
                                      "blocked_policy": "reject"}),
            (NETFLOW_AGENT, "netflow", {"port": 2055}),
        ):
            agent = Agent.get_or_none(Agent.name == name)
            if agent is None:
                agent = agents.create_agent({"name": name, "type": kind, "options": options}, actor=ACTOR)
            self.agents[name] = agent
        for name, ip, vendor, agent_name in NAS_LIST:
            if Nas.get_or_none(Nas.ip == ip) is None:
                agents.create_nas({"name": name, "ip": ip, "vendor": vendor, "agent_id": self.agents[agent_name].id,
                                    "secret": "".join(self.rng.choice(string.ascii_letters + string.digits)
                                                      for _ in range(16))}, actor=ACTOR)
        self.system_group = system_group()
        self.legal_group, _ = Group.get_or_create(name=LEGAL_GROUP, defaults={
            "description": "Абоненты — юридические лица и ИП"})
        self.benefit_group, _ = Group.get_or_create(name=BENEFIT_GROUP, defaults={
            "description": "Пенсионеры и льготные категории", "promise_allowed": True, "promise_max_amount": 500})
        self._lap("catalogue")

    # -- address directory ---------------------------------------------------------

    def directory(self) -> None:
        """Regions, cities, streets and enough buildings for ~40 subscribers
        each; entries that exist are reused."""
        streets = []
        with database.atomic():
            self._directory_streets(streets)
        self._buildings(streets)

    def _directory_streets(self, streets: list) -> None:
        for region_name, cities in DIRECTORY.items():
            region, _ = Region.get_or_create(name=region_name)
            for city_name, prefix in cities.items():
                city, _ = City.get_or_create(region=region, name=city_name)
                # a small demo gets a small town: ~200 subscribers per street name
                for n, street_name in enumerate(STREETS[: max(3, min(len(STREETS), self.count // 200))]):
                    street, _ = Street.get_or_create(
                        city=city, name=street_name, defaults={"postal_index": f"{prefix}{n % 40:03d}"})
                    streets.append(street)

    def _buildings(self, streets: list) -> None:
        per_street = max(1, math.ceil(self.count / 40 / len(streets)))
        existing = {(s, n): i for i, s, n in Building.select(Building.id, Building.street, Building.number).tuples()}
        rows, next_id = [], _next_id(Building)
        for street in streets:
            for k in range(per_street):
                number = str(k * 2 + 1 + self.rng.choice((0, 0, 0, 2)))
                number += self.rng.choice(("", "", "", "", "А", "к1", "к2"))
                if (street.id, number) in existing:
                    continue
                index = f"{street.postal_index[:3]}{self.rng.randint(0, 999):03d}" if self.rng.random() < 0.1 else ""
                existing[(street.id, number)] = next_id
                rows.append((next_id, street.id, number, index))
                next_id += 1
        with database.atomic():
            self.writer.insert(Building, ["id", "street", "number", "postal_index"], rows)
        self.writer.fix_sequence(Building)
        self.buildings = sorted(existing.values())
        self._lap("directory")

    # -- subscribers, agreements, accounts --------------------------------------------

    def _person(self):
        rng = self.rng
        surname = rng.choice(SURNAMES)
        first, male_patronymic, female_patronymic = rng.choice(MALE_NAMES)
        if rng.random() < 0.5:
            return f"{surname} {first} {rng.choice(MALE_NAMES)[1]}", surname, True
        return f"{female_surname(surname)} {rng.choice(FEMALE_NAMES)} {rng.choice(MALE_NAMES)[2]}", surname, False

    def _phone(self) -> str:
        return f"+79{self.rng.randint(0, 99):02d}{self.rng.randint(0, 9_999_999):07d}"

    def _connect_date(self) -> dt.date:
        # Older subscribers are more numerous: up to six years back, a few
        # connected during the last year (they start paying later).
        days = int(self.rng.triangular(20, 6 * 365, 3 * 365))
        return self.today - dt.timedelta(days=days)

    def people(self) -> None:
        rng, count, enc = self.rng, self.count, self.encrypt
        now = _ts(self.now)
        passwords = ["".join(rng.choice(PASSWORD_CHARS) for _ in range(10)) for _ in range(5000)]
        operator = agreement_service.default_operator()
        currency = agreement_service.default_currency()
        pattern = agreement_service.number_pattern()
        counter_name = f"agreement:{operator.id}"
        seq = (Counter.get_or_none(Counter.name == counter_name) or Counter(value=0)).value
        taken = {n for (n,) in Agreement.select(Agreement.number).where(Agreement.operator == operator.id).tuples()}
        used_logins = {(a, lg) for a, lg in Account.select(Account.agent, Account.login)
                       .where(Account.deleted == False).tuples()}  # noqa: E712
        pools = self._free_pools()
        individual_tariffs = [self.tariffs[t["name"]] for t in TARIFFS if not t.get("legal")]
        individual_weights = [t["weight"] for t in TARIFFS if not t.get("legal")]
        legal_tariffs = [self.tariffs[t["name"]] for t in TARIFFS if t.get("legal")]
        radius, netflow = self.agents[RADIUS_AGENT], self.agents[NETFLOW_AGENT]
        social = self.tariffs["Социальный 30"]

        sub_id, addr_id, agr_id = _next_id(Subscriber), _next_id(Address), _next_id(Agreement)
        acc_id, ip_id, change_id = _next_id(Account), _next_id(AccountIp), _next_id(TariffChange)
        member_id = _next_id(SubscriberGroup)
        addresses, subscribers, members, agreements, accounts, ips, changes = [], [], [], [], [], [], []
        self.plan: list[_Agreement] = []
        skeletons: dict[str, str] = {}
        demo_login_free = not Subscriber.select().where(Subscriber.login == "demo").exists()

        def flush():
            with database.atomic():
                self.writer.insert(Address, ["id", "building", "flat"], addresses)
                self.writer.insert(Subscriber, SUBSCRIBER_COLUMNS, subscribers)
                self.writer.insert(SubscriberGroup, ["id", "subscriber", "group"], members)
                self.writer.insert(Agreement, ["id", "number", "date", "operator", "subscriber", "currency",
                                               "balance", "credit_limit", "created_at"], agreements)
                self.writer.insert(Account, ACCOUNT_COLUMNS, accounts)
                self.writer.insert(AccountIp, ["id", "account", "network"], ips)
                self.writer.insert(TariffChange, ["id", "account", "tariff", "at", "applied_at", "actor",
                                                  "created_at"], changes)
            for rows in (addresses, subscribers, members, agreements, accounts, ips, changes):
                rows.clear()

        for i in range(count):
            legal = i == 1 or rng.random() < 0.08
            connect = self._connect_date()
            connected_at = _ts(midnight_utc(connect) + dt.timedelta(hours=rng.randint(9, 18),
                                                                   minutes=rng.randint(0, 59)))
            building = rng.choice(self.buildings)
            flat = str(rng.randint(1, 180)) if not legal else (str(rng.randint(1, 40)) if rng.random() < 0.5 else "")
            addresses.append((addr_id, building, flat))
            phone = self._phone()
            email = ""
            if legal:
                form = rng.choices([f for f, _ in LEGAL_FORMS], [w for _, w in LEGAL_FORMS])[0]
                director, _, _ = self._person()
                accountant, _, _ = self._person()
                if form == "ИП":
                    name = f"ИП {director}"
                    inn = inn_person(rng)
                    kpp = ""
                else:
                    company = rng.choice(COMPANY_NAMES) + rng.choice(COMPANY_SUFFIXES)
                    name = f"{form} «{company}»"
                    inn = inn_legal(rng)
                    kpp = inn[:4] + "01001"
                    email = f"info@{translit(company.split()[0])[:12] or 'firm'}{rng.randint(1, 999)}.ru"
                bank, bik, corr = rng.choice(BANKS)
                subscriber_fields = dict(
                    kind="legal", name=name, inn=inn, kpp=kpp, ogrn=ogrn(rng) if form != "ИП" else "",
                    bank_name=bank, bik=bik, corr_account=corr,
                    settlement_account=("40702810" if form != "ИП" else "40802810")
                    + f"{rng.randint(0, 10**12 - 1):012d}",
                    director=director, acting_basis="Устава" if form != "ИП" else "Свидетельства о регистрации",
                    chief_accountant=accountant if form != "ИП" else "",
                    contact_person=director, legal_category=form, delivery_method="email" if email else "post",
                )
            else:
                name, surname, male = self._person()
                if rng.random() < 0.7:
                    email = f"{translit(surname)}.{rng.randint(1, 9999)}@{rng.choice(MAILS)}"
                issued = connect - dt.timedelta(days=rng.randint(200, 6000))
                born = issued - dt.timedelta(days=rng.randint(20 * 365, 60 * 365))
                city = rng.choice(CITY_NAMES)
                subscriber_fields = dict(
                    kind="individual", name=name,
                    inn=inn_person(rng) if rng.random() < 0.4 else "",
                    passport_series=enc(f"{rng.randint(10, 99)} {rng.randint(0, 24):02d}"),
                    passport_number=enc(f"{100000 + int(rng.random() * 20000) * 43:06d}"),
                    passport_issued_on=enc(issued.isoformat()),
                    passport_issued_by=enc(f"Отделом УФМС России в г. {city}"),
                    passport_issued_place=enc(f"г. {city}"),
                    birth_date=enc(born.isoformat()),
                    delivery_method=rng.choice(("email", "post", "cabinet")) if email else "post",
                )
            skeleton = skeletons.get(name)
            if skeleton is None:
                skeleton = skeletons[name] = name_skeleton(name)
            login = None
            if i == 0 and demo_login_free:
                login = "demo"  # the cabinet's demo subscriber (no password until staff set one)
            subscribers.append(_subscriber_row(sub_id, subscriber_fields, skeleton, email, phone, login, addr_id,
                                               connected_at))
            members.append((member_id, sub_id, self.system_group.id))
            member_id += 1
            if legal:
                members.append((member_id, sub_id, self.legal_group.id))
                member_id += 1

            in_benefit_group = False
            # agreement(s): one each; a few legal entities keep two (branches)
            for _ in range(2 if legal and rng.random() < 0.15 else 1):
                while True:
                    seq += 1
                    number = agreement_service.render_number(pattern, seq, operator.id, connect)
                    if number not in taken:
                        taken.add(number)
                        break
                credit = 0
                if legal and rng.random() < 0.3:
                    credit = to_minor(rng.choice((3000, 5000, 10000)))
                profile = rng.choices(("monthly", "bulk", "irregular"), (62, 25, 13))[0]
                plan = _Agreement(agr_id, sub_id, connect, credit, profile)
                agreements.append((agr_id, number, connect.isoformat(), operator.id, sub_id, currency.id, 0, credit,
                                   connected_at))
                n_accounts = 1
                if legal:
                    n_accounts = rng.choice((1, 1, 1, 2, 3))
                elif rng.random() < 0.06:
                    n_accounts = 2  # a second flat or a dacha on the same agreement
                for k in range(n_accounts):
                    if legal:
                        agent, tariff = netflow, rng.choice(legal_tariffs)
                        login = f"org{acc_id}"
                        if rng.random() < 0.3:
                            network = f"{ip_text(pools['legal_net'])}/30"
                            pools["legal_net"] += 4
                        else:
                            network = f"{ip_text(pools['legal_host'])}/32"
                            pools["legal_host"] += 1
                    else:
                        agent = radius
                        tariff = rng.choices(individual_tariffs, individual_weights)[0]
                        if tariff.id == social.id and not in_benefit_group and rng.random() < 0.7:
                            in_benefit_group = True
                            members.append((member_id, sub_id, self.benefit_group.id))
                            member_id += 1
                        login = f"{translit(surname)[:12]}{acc_id}"
                        network = f"{ip_text(pools['individual'])}/32"
                        pools["individual"] += 1
                    if (agent.id, login) in used_logins:  # never with ids beyond the maximum, but be sure
                        login = f"{login}x{k}"
                    used_logins.add((agent.id, login))
                    account_connect = connect if k == 0 else connect + dt.timedelta(days=rng.randint(0, 400))
                    account_connect = min(account_connect, self.today)
                    account = _Account(acc_id, agent.id, tariff.id, to_minor(tariff.rent), account_connect)
                    roll = rng.random()
                    if roll < 0.02 and account_connect < self.today - dt.timedelta(days=60):
                        account.disconnect = self.today - dt.timedelta(days=rng.randint(1, 300))
                        account.disconnect = max(account.disconnect, account_connect + dt.timedelta(days=1))
                        account.flags.add("off")
                    elif roll < 0.025:
                        account.deleted = True
                    elif roll < 0.045:
                        account.flags.add("admin")
                    elif roll < 0.075:
                        account.flags.add("user")
                    plan.accounts.append(account)
                    mac = ":".join(f"{rng.randint(0, 255):02x}" for _ in range(6)) if rng.random() < 0.3 else ""
                    password = passwords[int(rng.random() * len(passwords))]
                    account_at = _ts(midnight_utc(account_connect) + dt.timedelta(hours=12))
                    accounts.append([
                        acc_id, agent.id, sub_id, agr_id, tariff.id, login, enc(password), mac,
                        phone if not legal and rng.random() < 0.2 else "", account_connect.isoformat(),
                        account.disconnect.isoformat() if account.disconnect else None,
                        account.deleted, account_at if account.deleted else None,
                        account_at, now,
                    ])
                    ips.append((ip_id, acc_id, network))
                    plan.compute_monthly()
                    changes.append((change_id, acc_id, tariff.id, account_at, account_at, ACTOR.label, account_at))
                    ip_id += 1
                    change_id += 1
                    acc_id += 1
                self.plan.append(plan)
                agr_id += 1
            sub_id += 1
            addr_id += 1
            if len(subscribers) >= CHUNK // 2:
                flush()
        flush()
        Counter.insert(name=counter_name, value=seq).on_conflict(
            conflict_target=[Counter.name], update={Counter.value: seq}).execute()
        for model in (Address, Subscriber, SubscriberGroup, Agreement, Account, AccountIp, TariffChange):
            self.writer.fix_sequence(model)
        self.result.subscribers = count
        self.result.agreements = len(self.plan)
        self.result.accounts = sum(len(p.accounts) for p in self.plan)
        self._lap("subscribers, agreements, accounts")

    def _free_pools(self) -> dict:
        """Next free address of each demo range: above every network already
        inside it, so demo addresses never overlap anyone's."""
        tops = {"individual": INDIVIDUAL_POOL + 1, "legal_host": LEGAL_POOL + 1,
                "legal_net": LEGAL_POOL + (1 << 19)}
        limits = {"individual": (INDIVIDUAL_POOL, 1 << 22), "legal_host": (LEGAL_POOL, 1 << 19),
                  "legal_net": (LEGAL_POOL + (1 << 19), 1 << 19)}
        for (network,) in AccountIp.select(AccountIp.network).tuples():
            try:
                net = ipaddress.ip_network(network)
            except ValueError:
                continue
            if net.version != 4:
                continue
            last = int(net.broadcast_address)
            for key, (start, size) in limits.items():
                if start <= last < start + size:
                    tops[key] = max(tops[key], last + 1)
        tops["legal_net"] = (tops["legal_net"] + 3) // 4 * 4
        needed = self.count * 3
        for key, (start, size) in limits.items():
            if tops[key] + needed * (4 if key == "legal_net" else 1) > start + size * 4:
                raise ValueError("the demo address ranges are full")
        return tops

    # -- a year of rent and payments --------------------------------------------------

    def ledger(self) -> None:
        """Month by month: rent at 00:00 of the 1st (or the days left from
        the connect day, or up to the disconnect day), then the month's
        payment by the subscriber's habit.  Balances are followed in memory."""
        rng = self.rng
        random_ = rng.random
        first = self.today.replace(day=1)
        months = []
        start = first
        for _ in range(self.months):
            start = (start - dt.timedelta(days=1)).replace(day=1)
        while start <= first:
            nxt = (start + dt.timedelta(days=32)).replace(day=1)
            months.append((start, nxt - dt.timedelta(days=1)))
            start = nxt
        entry_id, payment_id = _next_id(LedgerEntry), _next_id(Payment)
        entries, payments = [], []
        add_entry, add_payment = entries.append, payments.append
        midnights: dict[dt.date, dt.datetime] = {}
        demo = ACTOR.label

        def midnight_dt(day) -> dt.datetime:
            value = midnights.get(day)
            if value is None:
                value = midnights[day] = midnight_utc(day)
            return value

        def midnight(day) -> str:
            return _ts(midnight_dt(day))

        def flush():
            with database.atomic():  # entries first: a payment points at its entry
                self.writer.insert(LedgerEntry, ENTRY_COLUMNS, entries)
                self.writer.insert(Payment, PAYMENT_COLUMNS, payments)
            self.result.payments += len(payments)
            self.result.ledger_entries += len(entries)
            payments.clear()
            entries.clear()

        for month_start, month_end in months:
            days_in_month = month_end.day
            last_pay_day = days_in_month if month_end < self.today else self.today.day
            month_start_text, month_end_text = month_start.isoformat(), month_end.isoformat()
            month_midnight = midnight(month_start)
            for plan in self.plan:
                if plan.date > month_end:
                    continue
                balance = plan.balance
                for account in plan.accounts:
                    if account.deleted or account.connect > month_end:
                        continue
                    if account.connect > month_start or account.disconnect is not None:
                        period_start = max(month_start, account.connect)
                        period_end = month_end
                        if account.disconnect is not None:
                            if account.disconnect <= period_start:
                                continue
                            period_end = min(month_end, account.disconnect - dt.timedelta(days=1))
                        amount = to_minor(range_share(from_minor(account.rent), period_start, period_end))
                        if not amount:
                            continue
                        at, start_text, end_text = midnight(period_start), period_start.isoformat(), \
                            period_end.isoformat()
                    else:
                        period_start = month_start
                        amount, at, start_text, end_text = account.rent, month_midnight, month_start_text, \
                            month_end_text
                    # the key billing.rent gives a month's advance: a rent run afterwards
                    # finds the current month charged and charges it once
                    key = idempotency_key(plan.id, account.id, f"adv:t{account.tariff_id}", None, period_start,
                                          month_end)
                    add_entry((entry_id, plan.id, -amount, "rent", account.id, account.tariff_id, None, start_text,
                               end_text, "job:rent", "", key, at))
                    entry_id += 1
                    balance -= amount
                monthly = plan.monthly
                pay = 0
                if monthly:
                    profile = plan.profile
                    if profile == "monthly":
                        if balance < monthly and random_() < 0.93:
                            pay = max(monthly - balance, monthly)
                    elif profile == "bulk":
                        if balance < 0 or (balance < monthly and random_() < 0.5):
                            pay = monthly * (3, 6, 12)[int(random_() * 3)]
                    elif balance < 0 and random_() < 0.8:
                        pay = monthly * (1, 1, 2)[int(random_() * 3)] - balance  # the debt and ahead
                    elif balance >= 0 and random_() < 0.5:
                        pay = monthly
                elif balance < 0:
                    pay = -balance  # a disconnected subscriber settles up
                first_day = plan.date.day if plan.date >= month_start else 1
                if pay <= 0 or first_day > last_pay_day:
                    plan.balance = balance
                    continue
                if random_() < 0.6:
                    pay = (pay + 9999) // 10000 * 10000  # rounded up to 100 ₽
                day = month_start.replace(day=first_day + int(random_() * (last_pay_day - first_day + 1)))
                paid = midnight_dt(day) + dt.timedelta(seconds=8 * 3600 + int(random_() * 13 * 3600))
                if paid > self.now:
                    paid = self.now - dt.timedelta(seconds=1 + int(random_() * 3600))
                paid_at = _ts(paid)
                roll = random_()
                gateway, external_id = "", None
                if roll < 0.4:
                    method = "gateway"
                    gateway = GATEWAYS[int(random_() * len(GATEWAYS))]
                    document = external_id = f"{gateway[:2].upper()}{payment_id:010d}"
                elif roll < 0.6:
                    method, document = "cash", f"ПКО-{payment_id}"
                elif roll < 0.85:
                    method, document = "card", f"чек {100000 + int(random_() * 900000)}"
                else:
                    method, document = "bank", f"п/п {1 + int(random_() * 9999)}"
                add_entry((entry_id, plan.id, pay, "payment", None, None, payment_id, None, None, demo, document,
                           None, paid_at))
                add_payment((payment_id, plan.id, pay, paid_at, document, method, gateway, external_id, demo,
                             entry_id, paid_at))
                plan.balance = balance + pay
                entry_id += 1
                payment_id += 1
                if len(entries) >= CHUNK * 5:
                    flush()
            flush()
        for model in (LedgerEntry, Payment):
            self.writer.fix_sequence(model)
        self._lap("rent and payments")

    # -- balances and blocks -----------------------------------------------------------

    def finish(self) -> None:
        """Write the balances and set the flags (with their history rows) the
        domain would have set: balance block exactly when funds < 0."""
        rng = self.rng
        change_id = _next_id(AccountStateChange)
        changes, flag_rows = [], []
        month_start = midnight_utc(self.today.replace(day=1))
        for plan in self.plan:
            negative = plan.balance + plan.credit < 0
            for account in plan.accounts:
                if account.deleted:
                    continue
                if negative:
                    account.flags.add("balance")
                events = []
                for flag in ("off", "balance", "admin", "user"):  # a fixed order: same seed, same data
                    if flag not in account.flags:
                        continue
                    if flag == "off":
                        at, reason, who = midnight_utc(account.disconnect), "Disconnect date reached", "system"
                    elif flag == "balance":
                        at = max(month_start, midnight_utc(account.connect))
                        reason, who = "Available funds below zero", "system"
                    elif flag == "admin":
                        at = self.now - dt.timedelta(days=rng.randint(1, 90), minutes=rng.randint(0, 600))
                        reason = rng.choice(("Нарушение договора", "Заявка на ремонт линии", "Проверка оборудования"))
                        who = ACTOR.label
                    else:
                        at = self.now - dt.timedelta(days=rng.randint(1, 30), minutes=rng.randint(0, 600))
                        reason, who = "Добровольная блокировка на время отъезда", ACTOR.label
                    events.append((at, flag, reason, who))
                if not events:
                    continue
                events.sort()
                current, state = set(), "active"
                for at, flag, reason, who in events:
                    current.add(flag)
                    before, state = state, _state_of(current)
                    changes.append((change_id, account.id, _ts(at), flag, "set", before, state, reason, who))
                    change_id += 1
                flag_rows.append((account.id, account.flags, state, events[-1][0]))
        with database.atomic():
            self.writer.update_many(Agreement, "balance", [(p.id, p.balance) for p in self.plan if p.balance])
            for flag, column in (("balance", "blocked_balance"), ("admin", "blocked_admin"), ("user", "blocked_user"),
                                 ("off", "is_off")):
                ids = [(i, True) for i, flags, _, _ in flag_rows if flag in flags]
                if ids:
                    self.writer.update_many(Account, column, ids)
            self.writer.update_many(Account, "state", [(i, s) for i, _, s, _ in flag_rows])
            self.writer.update_many(Account, "state_changed_at", [(i, _ts(at)) for i, _, _, at in flag_rows])
            self.writer.insert(AccountStateChange, ["id", "account", "at", "flag", "action", "state_before",
                                                    "state_after", "reason", "actor"], changes)
            audit.record(ACTOR, "demo.generate", "demo", "", after={
                "subscribers": self.result.subscribers, "agreements": self.result.agreements,
                "accounts": self.result.accounts, "payments": self.result.payments,
                "ledger_entries": self.result.ledger_entries})
        self.writer.fix_sequence(AccountStateChange)
        database.execute_sql("ANALYZE")  # fresh statistics for the planner after a bulk load
        self._lap("balances, blocks, statistics")

    def run(self) -> DemoResult:
        started = time.perf_counter()
        self.catalogue()
        self.directory()
        deferred = DeferredIndexes(BULK_MODELS)
        if is_sqlite():
            # a bigger page cache for this connection while loading
            database.execute_sql("PRAGMA cache_size = -262144")
        deferred.drop()
        try:
            self.people()
            self.ledger()
        finally:
            deferred.restore()
            if deferred.models:
                self._lap("indexes")
            if is_sqlite():
                database.execute_sql(f"PRAGMA cache_size = {SQLITE_PRAGMAS['cache_size']}")
        self.finish()
        self.result.seconds = time.perf_counter() - started
        return self.result


def _ts(value: dt.datetime) -> str:
    """A naive UTC datetime in the text form Peewee stores and parses."""
    return value.isoformat(" ")


def _state_of(flags: set) -> str:
    for flag in ("balance", "admin", "traffic", "user", "off"):
        if flag in flags:
            return flag
    return "active"


BULK_MODELS = (Address, Subscriber, SubscriberGroup, Agreement, Account, AccountIp, TariffChange, LedgerEntry,
               Payment)
MAILS = ["mail.ru", "yandex.ru", "gmail.com", "rambler.ru", "bk.ru", "list.ru"]
CITY_NAMES = [city for cities in DIRECTORY.values() for city in cities]
PASSWORD_CHARS = string.ascii_letters + string.digits
SUBSCRIBER_FIELDS = (
    "kind", "name", "inn", "kpp", "ogrn", "bank_name", "bik", "corr_account", "settlement_account", "director",
    "acting_basis", "chief_accountant", "contact_person", "legal_category", "delivery_method", "passport_series",
    "passport_number", "passport_issued_on", "passport_issued_by", "passport_issued_place", "birth_date",
)
SUBSCRIBER_COLUMNS = ["id", *SUBSCRIBER_FIELDS, "name_skeleton", "email", "phone", "login", "main_address",
                      "postal_address", "delivery_address", "created_at", "updated_at"]
ACCOUNT_COLUMNS = ["id", "agent", "subscriber", "agreement", "tariff", "login", "password", "mac", "phone_numbers",
                   "connect_date", "disconnect_date", "deleted", "deleted_at", "created_at", "updated_at"]
PAYMENT_COLUMNS = ["id", "agreement", "amount", "paid_at", "document_number", "method", "gateway", "external_id",
                   "actor", "entry", "created_at"]
ENTRY_COLUMNS = ["id", "agreement", "amount", "kind", "account_id", "tariff_id", "payment_id", "period_start",
                 "period_end", "actor", "comment", "idempotency_key", "created_at"]


def _subscriber_row(sub_id, fields, skeleton, email, phone, login, address_id, created_at):
    return (sub_id, *(fields.get(name, "") for name in SUBSCRIBER_FIELDS), skeleton, email, phone, login,
            address_id, address_id, address_id, created_at, created_at)


def generate(subscribers: int, *, seed: int = 1, months: int = 12, echo=None) -> DemoResult:
    """Add `subscribers` demo subscribers with everything around them."""
    return DemoGenerator(subscribers, seed=seed, months=months, echo=echo).run()

