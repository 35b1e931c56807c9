"""Settings screens: tariffs, agents, NAS, operators, groups, currencies,
addresses — each renders, refuses bad input in Russian and saves nothing,
refuses a stale form, and writes through the service functions with audit."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from lanbill.billing import currency as currency_rates
from lanbill.customers import groups
from lanbill.models import (
    Agent,
    AuditLog,
    Building,
    City,
    Currency,
    CurrencyRate,
    Group,
    Nas,
    Operator,
    Region,
    Street,
    Tariff,
    TrafficCategory,
)
from lanbill.network import agents
from lanbill.staff import roles
from tests.admin_helpers import ru
from tests.factories import ACTOR, make_agent, make_nas, make_tariff


@pytest.fixture
def admin_client(client, admin, login_as):
    login_as()
    return client


def html(response) -> str:
    return response.get_data(as_text=True)


def test_settings_screens_render_for_admin(admin_client):
    tariff = make_tariff()
    agent = make_agent()
    nas = make_nas(agent_id=agent.id)
    for url in ("/admin/tariffs", "/admin/tariffs/new", f"/admin/tariffs/{tariff.id}",
                "/admin/operators", "/admin/operators/new", "/admin/operators/1",
                "/admin/groups", "/admin/groups/new", "/admin/groups/1",
                "/admin/currencies", "/admin/currencies/1", "/admin/currencies/2",
                "/admin/agents", "/admin/agents/new/radius", "/admin/agents/new/netflow", "/admin/agents/new/usbox",
                f"/admin/agents/{agent.id}", "/admin/nas", "/admin/nas/new", f"/admin/nas/{nas.id}",
                "/admin/addresses", "/admin/staff", "/admin/staff/new", "/admin/staff/1", "/admin/roles",
                "/admin/roles/new", "/admin/roles/1", "/admin/audit", "/admin/dashboard", "/admin/"):
        response = admin_client.get(url)
        assert response.status_code == 200, (url, html(response)[:3000])
        assert "LANBill" in html(response)



def errors_of(response) -> list[str]:
    return re.findall(r'class="error"[^>]*>([^<]*)<', html(response))


def audit_count(action: str) -> int:
    return AuditLog.select().where(AuditLog.action == action).count()


TARIFF = {"name": "Домашний 100", "description": "", "currency": "RUB", "scheme": "dynamic", "rent": "650,50",
          "rent_blocked": "0", "rent_admin_blocked": "", "rent_user_blocked": "100", "prepaid_mb": "1024",
          "traffic_limit_mb": "0", "speed_in_kbit": "100000", "speed_out_kbit": "50000", "volume_source": "netflow",
          "price_per_minute": "0", "prepaid_minutes": "0", "framed_pool": "pool1"}


# --- tariffs -------------------------------------------------------------------------------


def test_tariff_form_saves_every_field(admin_client):
    response = admin_client.post("/admin/tariffs/new", data=TARIFF)
    assert response.status_code == 302
    tariff = Tariff.get(Tariff.name == "Домашний 100")
    assert tariff.rent == Decimal("650.50")
    assert tariff.rent_admin_blocked is None and tariff.rent_user_blocked == Decimal("100.00")
    assert (tariff.prepaid_mb, tariff.speed_in_kbit, tariff.speed_out_kbit) == (1024, 100000, 50000)
    assert tariff.framed_pool == "pool1" and tariff.scheme == "dynamic" and tariff.currency.code == "RUB"
    assert audit_count("tariff.create") == 1
    page = html(admin_client.get(f"/admin/tariffs/{tariff.id}"))
    assert 'value="650,50"' in page


def test_tariff_bad_input_shows_russian_messages_and_saves_nothing(admin_client):
    before = Tariff.select().count()
    bad = dict(TARIFF, name="", rent="6,5,0", prepaid_mb="abc", speed_in_kbit="-5", rent_blocked="1.234")
    response = admin_client.post("/admin/tariffs/new", data=bad)
    assert response.status_code == 422
    messages = errors_of(response)
    assert "Обязательное поле." in messages
    assert "Сумма должна быть числом, например 650,50." in messages
    assert "Целое число, ноль или больше." in messages
    assert any("два знака" in m or "двух" in m for m in messages), messages
    assert Tariff.select().count() == before


def test_stale_tariff_form_is_refused(admin_client):
    tariff = make_tariff(name="Старый")
    stale_version = tariff.version
    admin_client.post(f"/admin/tariffs/{tariff.id}", data=dict(TARIFF, name="Первая правка", version=stale_version))
    response = admin_client.post(f"/admin/tariffs/{tariff.id}",
                                 data=dict(TARIFF, name="Вторая правка", version=stale_version))
    assert response.status_code == 409
    assert "Запись тем временем изменил кто-то другой" in html(response)
    assert Tariff.get_by_id(tariff.id).name == "Первая правка"


def test_copy_and_archive_a_tariff(admin_client):
    tariff = make_tariff(name="Базовый")
    admin_client.post(f"/admin/tariffs/{tariff.id}/categories",
                      data={"name": "Город", "networks": "10.0.0.0/8, 192.168.1.0/24", "price_in_mb": "0,10",
                            "price_out_mb": "0", "prepaid": "y"})
    response = admin_client.post(f"/admin/tariffs/{tariff.id}/copy")
    copy = Tariff.get(Tariff.name == "Базовый (копия)")
    assert response.headers["Location"].endswith(f"/admin/tariffs/{copy.id}")
    assert copy.rent == tariff.rent and not copy.archived
    assert [c.name for c in copy.categories] == ["Город"]
    assert copy.categories[0].networks == "10.0.0.0/8, 192.168.1.0/24"

    admin_client.post(f"/admin/tariffs/{tariff.id}/archive", data={"archived": "1"})
    assert Tariff.get_by_id(tariff.id).archived
    current = html(admin_client.get("/admin/tariffs"))
    assert "Базовый (копия)" in current and ">Базовый<" not in current
    assert ">Базовый<" in html(admin_client.get("/admin/tariffs?show=archived"))
    admin_client.post(f"/admin/tariffs/{tariff.id}/archive", data={"archived": "0"})
    assert not Tariff.get_by_id(tariff.id).archived
    assert audit_count("tariff.copy") == 1 and audit_count("tariff.archive") == 1


def test_tariff_list_sorts_by_a_header_and_pages(admin_client):
    for name in ("Б", "А", "В"):
        make_tariff(name=name)
    page = html(admin_client.get("/admin/tariffs?sort=-name"))
    assert page.index(">В<") < page.index(">Б<") < page.index(">А<")
    assert 'href="/admin/tariffs?sort=name"' in page  # the header toggles to ascending
    page = html(admin_client.get("/admin/tariffs?sort=name&per_page=25&page=2"))
    assert ">А<" not in page


def test_category_with_a_bad_network_is_refused(admin_client):
    tariff = make_tariff()
    response = admin_client.post(f"/admin/tariffs/{tariff.id}/categories",
                                 data={"name": "Город", "networks": "10.0.0.0/33", "price_in_mb": "0",
                                       "price_out_mb": "0"})
    assert response.status_code == 422
    assert "Сети записываются как 10.0.0.0/8, через запятую." in errors_of(response)
    assert TrafficCategory.select().count() == 0


# --- operators ------------------------------------------------------------------------------

OPERATOR = {"name": "ООО «Калуга-Нет»", "inn": "4027000001", "kpp": "402701001", "ogrn": "1024001234567",
            "bank_name": "Сбербанк", "bik": "042908612", "corr_account": "30101810100000000612",
            "settlement_account": "40702810222240000001", "address": "Калуга, ул. Ленина, 1", "vat_percent": "20",
            "director": "Петров П. П.", "chief_accountant": "Сидорова С. С.", "phone": "+74842000000",
            "email": "info@kaluga.example"}


def test_first_step_rename_the_default_operator(admin_client):
    operator = Operator.get(Operator.is_default == True)  # noqa: E712
    assert "Первый шаг" in html(admin_client.get(f"/admin/operators/{operator.id}"))
    response = admin_client.post(f"/admin/operators/{operator.id}", data=dict(OPERATOR, version=operator.version))
    assert response.status_code == 302
    saved = Operator.get_by_id(operator.id)
    assert saved.name == "ООО «Калуга-Нет»" and saved.bik == "042908612" and saved.version == operator.version + 1
    row = AuditLog.get(AuditLog.action == "operator.update")
    assert row.before["name"] == "Основной оператор" and row.after["name"] == "ООО «Калуга-Нет»"


def test_operator_bad_requisites_are_refused_in_russian(admin_client):
    operator = Operator.get(Operator.is_default == True)  # noqa: E712
    bad = dict(OPERATOR, inn="123", bik="04290861X", corr_account="301", vat_percent="120", version=operator.version)
    response = admin_client.post(f"/admin/operators/{operator.id}", data=bad)
    assert response.status_code == 422
    messages = errors_of(response)
    assert "10 или 12 цифр." in messages and "Ровно 9 цифр." in messages and "Ровно 20 цифр." in messages
    assert "От 0 до 100." in messages
    assert Operator.get_by_id(operator.id).name == "Основной оператор"


def test_stale_operator_form_is_refused(admin_client):
    operator = Operator.get(Operator.is_default == True)  # noqa: E712
    admin_client.post(f"/admin/operators/{operator.id}", data=dict(OPERATOR, version=operator.version))
    response = admin_client.post(f"/admin/operators/{operator.id}",
                                 data=dict(OPERATOR, name="Другое", version=operator.version))
    assert response.status_code == 409
    assert Operator.get_by_id(operator.id).name == "ООО «Калуга-Нет»"


# --- groups -----------------------------------------------------------------------------------


def test_group_with_promised_payment_settings(admin_client):
    response = admin_client.post("/admin/groups/new", data={
        "name": "Физлица", "promise_allowed": "y", "promise_max_amount": "500,00", "promise_days": "5",
        "promise_interval_days": "30"})
    assert response.status_code == 302
    group = Group.get(Group.name == "Физлица")
    assert group.promise_allowed and group.promise_max_amount == Decimal("500.00") and group.promise_days == 5


def test_group_bad_input_saves_nothing(admin_client):
    response = admin_client.post("/admin/groups/new", data={
        "name": "Юрлица", "promise_allowed": "y", "promise_max_amount": "0", "promise_days": "0",
        "promise_interval_days": "400"})
    assert response.status_code == 422
    messages = errors_of(response)
    assert "От 1 до 365." in messages and "От 0 до 365." in messages
    assert not Group.select().where(Group.name == "Юрлица").exists()
    response = admin_client.post("/admin/groups/new", data={
        "name": "Юрлица", "promise_allowed": "y", "promise_max_amount": "0", "promise_days": "3",
        "promise_interval_days": "30"})
    assert "Укажите наибольшую сумму обещанного платежа." in errors_of(response)
    assert not Group.select().where(Group.name == "Юрлица").exists()


def test_system_group_cannot_be_deleted(admin_client):
    system = Group.get(Group.is_system == True)  # noqa: E712
    page = html(admin_client.get(f"/admin/groups/{system.id}"))
    assert f"/admin/groups/{system.id}/delete" not in page  # no button
    response = admin_client.post(f"/admin/groups/{system.id}/delete", follow_redirects=True)
    assert "Системную группу удалить нельзя." in html(response)
    assert Group.get_or_none(Group.id == system.id) is not None
    other = Group.create(name="Временная")
    admin_client.post(f"/admin/groups/{other.id}/delete")
    assert Group.get_or_none(Group.id == other.id) is None
    assert audit_count("group.delete") == 1


# --- currencies ---------------------------------------------------------------------------------


def test_currency_rates_by_date(admin_client):
    usd = Currency.get(Currency.code == "USD")
    response = admin_client.post(f"/admin/currencies/{usd.id}/rates", data={"date": "2026-03-01", "rate": "92,5"})
    assert response.status_code == 302
    admin_client.post(f"/admin/currencies/{usd.id}/rates", data={"date": "2026-03-01", "rate": "93"})
    rates = list(CurrencyRate.select().where(CurrencyRate.currency == usd.id))
    assert len(rates) == 1 and rates[0].rate == Decimal("93")
    page = html(admin_client.get("/admin/currencies"))
    assert "93" in page and "01.03.2026" in page


def test_bad_rate_and_bad_currency_are_refused(admin_client):
    usd = Currency.get(Currency.code == "USD")
    response = admin_client.post(f"/admin/currencies/{usd.id}/rates", data={"date": "2026-03-01", "rate": "-1"})
    assert response.status_code == 422
    assert "Положительное число, например 92,5." in errors_of(response)
    assert CurrencyRate.select().count() == 0
    response = admin_client.post("/admin/currencies/new", data={"code": "US1", "name": "", "symbol": ""})
    assert response.status_code == 422
    assert "Три латинские буквы, например USD." in errors_of(response)
    assert Currency.select().count() == 3
    response = admin_client.post("/admin/currencies/new", data={"code": "usd", "name": "Доллар", "symbol": "$"})
    assert "Уже занято." in errors_of(response)
    response = admin_client.post("/admin/currencies/new", data={"code": "kzt", "name": "Тенге", "symbol": "₸"})
    assert Currency.get(Currency.code == "KZT").name == "Тенге"


# --- agents and NAS ---------------------------------------------------------------------------------


def test_radius_agent_with_its_options(admin_client):
    response = admin_client.post("/admin/agents/new/radius", data={
        "name": "radius-1", "listen_address": "127.0.0.1", "enabled": "y", "opt_auth_port": "11812",
        "opt_acct_port": "11813", "opt_interim_interval": "60", "opt_blocked_policy": "redirect",
        "opt_redirect_pool": "blocked", "opt_redirect_rate": "128k/128k", "opt_framed_pool": "",
        "opt_workers": "2"})
    assert response.status_code == 302
    agent = Agent.get(Agent.name == "radius-1")
    assert agent.type == "radius" and agent.listen_address == "127.0.0.1"
    assert agent.options["auth_port"] == 11812 and agent.options["blocked_policy"] == "redirect"
    # An option another part of the system keeps is not lost on edit.
    Agent.update(options={**agent.options, "secret_feature": 1}).where(Agent.id == agent.id).execute()
    page = html(admin_client.get(f"/admin/agents/{agent.id}"))
    assert 'value="11812"' in page
    response = admin_client.post(f"/admin/agents/{agent.id}", data={
        "name": "radius-1", "listen_address": "0.0.0.0", "opt_auth_port": "1812", "opt_acct_port": "1813",
        "opt_interim_interval": "300", "opt_blocked_policy": "reject", "opt_redirect_pool": "",
        "opt_redirect_rate": "", "opt_framed_pool": "main", "opt_workers": "1", "version": agent.version})
    assert response.status_code == 302
    agent = Agent.get_by_id(agent.id)
    assert not agent.enabled and agent.options["auth_port"] == 1812 and agent.options["secret_feature"] == 1


def test_agent_bad_input_saves_nothing(admin_client):
    response = admin_client.post("/admin/agents/new/netflow", data={
        "name": "", "listen_address": "300.1.1.1", "opt_port": "70000", "opt_flush_seconds": "60"})
    assert response.status_code == 422
    messages = errors_of(response)
    assert "Обязательное поле." in messages and "Это не IP-адрес." in messages
    assert "Номер порта, от 1 до 65535." in messages
    assert Agent.select().count() == 0
    assert admin_client.get("/admin/agents/new/telepathy").status_code == 404


def test_nas_form(admin_client):
    agent = make_agent()
    response = admin_client.post("/admin/nas/new", data={
        "name": "mikrotik-1", "ip": "10.0.0.1", "secret": "", "vendor": "mikrotik", "coa_port": "3799",
        "agent_id": str(agent.id)})
    assert response.status_code == 422 and "Обязательное поле." in errors_of(response)
    assert Nas.select().count() == 0
    response = admin_client.post("/admin/nas/new", data={
        "name": "mikrotik-1", "ip": "10.0.0.1", "secret": "s3cret", "vendor": "mikrotik", "coa_port": "3799",
        "agent_id": str(agent.id), "require_message_authenticator": "y"})
    nas = Nas.get(Nas.ip == "10.0.0.1")
    assert nas.secret == "s3cret" and nas.agent_id == agent.id
    # An empty secret on edit keeps the secret; a bad IP is refused.
    response = admin_client.post(f"/admin/nas/{nas.id}", data={
        "name": "mikrotik-1", "ip": "10.0.0.999", "secret": "", "vendor": "mikrotik", "coa_port": "3799",
        "agent_id": "0", "version": nas.version})
    assert response.status_code == 422 and "Это не IP-адрес." in errors_of(response)
    response = admin_client.post(f"/admin/nas/{nas.id}", data={
        "name": "mikrotik-1b", "ip": "10.0.0.2", "secret": "", "vendor": "cisco", "coa_port": "1700",
        "agent_id": "0", "version": nas.version})
    nas = Nas.get_by_id(nas.id)
    assert (nas.name, nas.ip, nas.secret, nas.vendor, nas.agent_id) == ("mikrotik-1b", "10.0.0.2", "s3cret", "cisco",
                                                                         None)
    assert "s3cret" not in html(admin_client.get(f"/admin/nas/{nas.id}"))


# --- addresses ------------------------------------------------------------------------------------------


def test_address_directory_add_entries_and_the_picker(admin_client):
    admin_client.post("/admin/addresses", data={"name": "Калужская область"})
    region = Region.get(Region.name == "Калужская область")
    admin_client.post(f"/admin/addresses?region={region.id}", data={"name": "Калуга"})
    city = City.get(City.name == "Калуга")
    admin_client.post(f"/admin/addresses?region={region.id}&city={city.id}",
                      data={"name": "ул. Ленина", "postal_index": "248000"})
    street = Street.get(Street.name == "ул. Ленина")
    url = f"/admin/addresses?region={region.id}&city={city.id}&street={street.id}"
    admin_client.post(url, data={"name": "5", "postal_index": ""})
    admin_client.post(url, data={"name": "7", "postal_index": "248001"})
    response = admin_client.post(url, data={"name": "9", "postal_index": "2480"})
    assert response.status_code == 422 and "Шесть цифр или пусто." in errors_of(response)
    response = admin_client.post(url, data={"name": "5"})
    assert response.status_code == 409 and "Уже занято." in errors_of(response)
    assert Building.select().count() == 2

    # The picker: entries containing a fragment, case-insensitive, and the building's path.
    rows = admin_client.get(f"/admin/addresses/lookup/street?parent={city.id}&q=ЛЕН").get_json()
    assert rows == [{"id": street.id, "name": "ул. Ленина", "postal_index": "248000"}]
    buildings = admin_client.get(f"/admin/addresses/lookup/building?parent={street.id}").get_json()
    by_number = {b["number"] if "number" in b else b["name"]: b["id"] for b in buildings}
    five = admin_client.get(f"/admin/addresses/building/{by_number['5']}.json").get_json()
    seven = admin_client.get(f"/admin/addresses/building/{by_number['7']}.json").get_json()
    assert five["postal_index"] == "248000"  # the street's
    assert seven["postal_index"] == "248001"  # the building's wins
    assert seven["text"] == "248001, Калужская область, Калуга, ул. Ленина, 7"
    options = html(admin_client.get(f"/admin/addresses/lookup/building?parent={street.id}&format=html"))
    assert options.count("<option") == 2
    # Adding a missing entry in place from the subscriber form.
    response = admin_client.post("/admin/addresses/lookup/building",
                                 json={"parent": street.id, "name": "11", "postal_index": ""})
    assert response.status_code == 201 and response.get_json()["name"] == "11"
    response = admin_client.post("/admin/addresses/lookup/building", json={"parent": street.id, "name": ""})
    assert response.status_code == 422 and response.get_json()["fields"]["number"] == "Обязательное поле."
    assert audit_count("address.building.create") == 3


def test_address_entry_edit_and_delete_rules(admin_client):
    admin_client.post("/admin/addresses", data={"name": "Регион"})
    region = Region.get(Region.name == "Регион")
    admin_client.post(f"/admin/addresses?region={region.id}", data={"name": "Город"})
    response = admin_client.post(f"/admin/addresses/region/{region.id}", data={"delete": "1"}, follow_redirects=True)
    assert "У записи есть вложенные записи" in html(response)
    response = admin_client.post(f"/admin/addresses/region/{region.id}", data={"name": "Регион 40"})
    assert response.status_code == 302 and Region.get_by_id(region.id).name == "Регион 40"


# --- stale forms and queries per page --------------------------------------------------------


def test_every_versioned_settings_write_refuses_a_stale_version(app):
    from lanbill.errors import Conflict
    from lanbill.models import Role

    group = groups.create_group({"name": "Север"}, actor=ACTOR)
    currency = Currency.get(Currency.code == "USD")
    role = roles.create_role({"name": "Кассир", "permissions": [], "all_groups": True}, actor=ACTOR)
    agent = make_agent()
    nas = make_nas(agent_id=agent.id)
    writes = [
        (Group, group.id, lambda v: groups.update_group(group.id, {"name": "Юг"}, actor=ACTOR, version=v)),
        (Currency, currency.id,
         lambda v: currency_rates.update_currency(currency.id, {"name": "Доллар"}, actor=ACTOR, version=v)),
        (Role, role.id, lambda v: roles.update_role(role.id, {"name": "Касса", "all_groups": True}, actor=ACTOR,
                                                       version=v)),
        (Agent, agent.id, lambda v: agents.update_agent(agent.id, {"name": "a-2"}, actor=ACTOR, version=v)),
        (Nas, nas.id, lambda v: agents.update_nas(nas.id, {"name": "n-2"}, actor=ACTOR, version=v)),
    ]
    for model, object_id, write in writes:
        version = model.get_by_id(object_id).version
        write(version)  # the first save wins and moves the version on
        assert model.get_by_id(object_id).version == version + 1
        with pytest.raises(Conflict):
            write(version)  # the second form was opened before it


def _count_queries(client, url) -> int:
    from lanbill.db import database

    real = database.obj.execute_sql
    seen = []

    def counting(sql, params=None, *args, **kwargs):
        seen.append(sql)
        return real(sql, params, *args, **kwargs)

    database.obj.execute_sql = counting
    try:
        assert client.get(url).status_code == 200
    finally:
        database.obj.execute_sql = real
    return len(seen)


def test_lists_run_the_same_queries_for_3_and_for_30_rows(admin_client):
    from lanbill.models import Role
    from lanbill.staff import audit as audit_log
    from lanbill.staff.managers import create_manager

    role = Role.get(Role.name == "Administrator")

    def add(n):
        for _ in range(n):
            tariff = make_tariff()
            agent = make_agent()
            make_nas(agent_id=agent.id)
            Group.create(name=f"Группа {tariff.id}")
            create_manager(f"m{tariff.id}", role=role, actor=ACTOR)
            Role.create(name=f"Роль {tariff.id}", permissions=[], all_groups=True)
            audit_log.record(ACTOR, "test.row", "tariff", tariff.id, before={"a": 1}, after={"a": 2})

    urls = ("/admin/tariffs", "/admin/agents", "/admin/nas", "/admin/groups", "/admin/staff", "/admin/roles",
            "/admin/audit", "/admin/operators", "/admin/currencies")
    add(3)
    few = {url: _count_queries(admin_client, url) for url in urls}
    add(27)
    many = {url: _count_queries(admin_client, url) for url in urls}
    assert all(count > 0 for count in few.values())
    assert many == few


def test_settings_screens_in_english(admin_client, admin):
    admin_client.post("/admin/language", data={"language": "en"})
    page = html(admin_client.get("/admin/tariffs/new"))
    assert "New tariff" in page and "Rent scheme" in page
    assert admin_client.get("/admin/addresses/lookup/region?limit=abc").status_code == 200


def test_tariff_search_is_case_insensitive_in_cyrillic(admin_client):
    make_tariff(name="Домашний 100")
    make_tariff(name="Офисный")
    page = html(admin_client.get("/admin/tariffs?q=ДОМАШ"))
    assert "Домашний 100" in page and "Офисный" not in page


def test_agent_form_edits_the_exporters_and_the_mschap1_switch(admin_client):
    """The NetFlow agent's exporter list (one address per line) and the
    RADIUS agent's MS-CHAPv1 switch are fields of the rendered form."""
    from tests.rendered_forms import form_values

    netflow = make_agent(name="nf-1", type="netflow", options={"port": 2055, "flush_seconds": 60})
    page = html(admin_client.get(f"/admin/agents/{netflow.id}"))
    fields = form_values(page, "name")
    assert fields["opt_exporters"] == ""
    fields["opt_exporters"] = "192.0.2.1\n198.51.100.7, 2001:db8::1"
    assert admin_client.post(f"/admin/agents/{netflow.id}", data=fields).status_code == 302
    assert Agent.get_by_id(netflow.id).options["exporters"] == ["192.0.2.1", "198.51.100.7", "2001:db8::1"]
    page = html(admin_client.get(f"/admin/agents/{netflow.id}"))
    assert form_values(page, "name")["opt_exporters"] == "192.0.2.1\n198.51.100.7\n2001:db8::1"
    # a wrong address is refused under its field and nothing changes
    fields = form_values(page, "name")
    fields["opt_exporters"] = "192.0.2.1\nrouter-7"
    response = admin_client.post(f"/admin/agents/{netflow.id}", data=fields)
    assert response.status_code == 422
    assert ru("A list of IP addresses of the routers that export flows, e.g. 192.0.2.1.") in html(response)
    assert Agent.get_by_id(netflow.id).options["exporters"] == ["192.0.2.1", "198.51.100.7", "2001:db8::1"]

    radius = make_agent(name="rad-9", type="radius")
    fields = form_values(html(admin_client.get(f"/admin/agents/{radius.id}")), "name")
    assert "opt_allow_mschap1" not in fields  # unchecked
    fields["opt_allow_mschap1"] = "y"
    assert admin_client.post(f"/admin/agents/{radius.id}", data=fields).status_code == 302
    assert Agent.get_by_id(radius.id).options["allow_mschap1"] is True
    fields = form_values(html(admin_client.get(f"/admin/agents/{radius.id}")), "name")
    assert fields["opt_allow_mschap1"] == "y"
    del fields["opt_allow_mschap1"]
    assert admin_client.post(f"/admin/agents/{radius.id}", data=fields).status_code == 302
    assert Agent.get_by_id(radius.id).options["allow_mschap1"] is False
