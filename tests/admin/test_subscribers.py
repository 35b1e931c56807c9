"""Admin subscriber screens: list, search, filters, CSV, advanced search,
the form (class rules, similar names, templates, stale forms, personal
data) and groups."""

from __future__ import annotations

import re

from lanbill.models import AuditLog, SavedSearch, Subscriber, SubscriberGroup
from tests.admin_helpers import PASSWORD, make_group, make_manager, ru
from tests.factories import make_account, make_agreement, make_subscriber


def test_list_searches_name_case_insensitively_in_cyrillic(client, admin, login_as):
    make_subscriber(name="Александров Пётр")
    make_subscriber(name="Сидоров Иван")
    login_as()
    page = client.get("/admin/subscribers?q=КСАН&by=any").get_data(as_text=True)
    assert "Александров Пётр" in page
    assert "Сидоров Иван" not in page


def test_list_searches_agreement_login_phone_email_and_ip(client, admin, login_as):
    target = make_subscriber(name="Петров", phone="+79161234567", email="Petrov@Example.ru")
    agreement = make_agreement(target, number="DOG-7781")
    make_account(agreement, login="alexandr", ips=["10.20.30.40/32"])
    other = make_subscriber(name="Другой")
    login_as()
    for by, text in [("agreement", "7781"), ("login", "EXAN"), ("phone", "1234"), ("email", "petrov@"),
                     ("ip", "20.30"), ("any", "exan")]:
        page = client.get(f"/admin/subscribers?by={by}&q={text}").get_data(as_text=True)
        assert "Петров" in page, (by, text)
        assert other.name not in page, (by, text)


def test_list_filters_sorts_pages_and_exports_csv(client, admin, login_as):
    group = make_group("Дом 5")
    make_subscriber(name="Бета", kind="legal", groups=[group])
    make_subscriber(name="Альфа")
    login_as()
    page = client.get(f"/admin/subscribers?group={group.id}").get_data(as_text=True)
    assert "Бета" in page and "Альфа" not in page
    page = client.get("/admin/subscribers?kind=individual").get_data(as_text=True)
    assert "Альфа" in page and "Бета" not in page
    page = client.get("/admin/subscribers?sort=-name").get_data(as_text=True)
    assert page.index("Бета") < page.index("Альфа")
    page = client.get("/admin/subscribers?sort=name").get_data(as_text=True)
    assert page.index("Альфа") < page.index("Бета")
    for i in range(26):
        make_subscriber(name=f"Z{i:02d}")
    first = client.get("/admin/subscribers?per_page=25").get_data(as_text=True)
    assert 'rel="next"' in first and "Z24" in first and "Z25" not in first
    second = client.get("/admin/subscribers?per_page=25&page=2").get_data(as_text=True)
    assert "Z25" in second and "Z24" not in second
    csv = client.get("/admin/subscribers?format=csv&q=Z0")
    assert csv.mimetype == "text/csv"
    body = csv.get_data(as_text=True)
    assert body.count("\n") == 11 and "Z09" in body and "Альфа" not in body


def test_visible_columns_are_remembered_per_manager(client, admin, login_as):
    make_subscriber(name="Колонки", email="cols@example.ru")
    login_as()
    assert "cols@example.ru" in client.get("/admin/subscribers").get_data(as_text=True)
    client.post("/admin/tables/subscribers/columns", data={"columns": ["name", "phone"], "next": "/admin/subscribers"})
    page = client.get("/admin/subscribers").get_data(as_text=True)
    assert "Колонки" in page and "cols@example.ru" not in page
    client.post("/admin/tables/subscribers/columns", data={"reset": "1"})
    assert "cols@example.ru" in client.get("/admin/subscribers").get_data(as_text=True)


def test_advanced_search_rules_apply_save_and_delete_when_empty(client, admin, login_as):
    make_subscriber(name="Правило Один", email="one@example.ru")
    make_subscriber(name="Правило Два", email="two@other.org", kind="legal")
    login_as()
    args = "r0_field=name&r0_op=contains&r0_value=правило&r1_field=kind&r1_op=eq&r1_value=legal&advanced=1"
    page = client.get("/admin/subscribers?" + args).get_data(as_text=True)
    assert "Правило Два" in page and "Правило Один" not in page
    response = client.post("/admin/subscribers/searches", data={
        "name": "Юрлица", "match": "all", "r0_field": "kind", "r0_op": "eq", "r0_value": "legal"})
    saved = SavedSearch.get(SavedSearch.name == "Юрлица")
    assert response.status_code == 302
    page = client.get(f"/admin/subscribers?saved={saved.id}").get_data(as_text=True)
    assert "Правило Два" in page and "Правило Один" not in page
    client.post("/admin/subscribers/searches", data={"saved": saved.id, "name": "Юрлица"})
    assert SavedSearch.get_or_none(SavedSearch.id == saved.id) is None


def _individual(**over):
    data = {"kind": "individual", "category": "subscriber", "name": "Новиков Олег", "email": "n@example.ru",
            "phone": "+79001112233", "passport_series": "4510", "passport_number": "123456",
            "inn_individual": "", "director": "Не должен сохраниться", "action": "save", "confirm_similar": "1"}
    data.update(over)
    return data


def test_create_individual_drops_the_legal_fields(client, admin, login_as):
    login_as()
    response = client.post("/admin/subscribers/new", data=_individual())
    assert response.status_code == 302
    subscriber = Subscriber.get(Subscriber.name == "Новиков Олег")
    assert subscriber.kind == "individual" and subscriber.director == ""
    assert subscriber.passport_number == "123456"
    assert SubscriberGroup.select().where(SubscriberGroup.subscriber == subscriber.id).count() == 1


def test_bad_input_shows_russian_field_messages_and_saves_nothing(client, admin, login_as):
    login_as()
    response = client.post("/admin/subscribers/new", data={
        "kind": "legal", "category": "subscriber", "name": "ООО Ромашка", "inn_legal": "12ab", "kpp": "1",
        "email": "не-почта", "confirm_similar": "1"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert ru("Check the highlighted fields.") in page
    assert ru("Not an e-mail address.") in page
    assert page.count(ru("Digits only, of the right length.")) >= 2
    assert not Subscriber.select().where(Subscriber.name == "ООО Ромашка").exists()


def test_similar_names_warn_before_saving(client, admin, login_as):
    make_subscriber(name="Дубов Сергей")
    login_as()
    data = _individual(name="Дупоф Сергей")
    data.pop("confirm_similar")
    response = client.post("/admin/subscribers/new", data=data)
    page = response.get_data(as_text=True)
    assert "Дубов Сергей" in page and "Сохранить всё равно" in page
    assert not Subscriber.select().where(Subscriber.name == "Дупоф Сергей").exists()
    data["confirm_similar"] = "1"
    assert client.post("/admin/subscribers/new", data=data).status_code == 302
    assert Subscriber.select().where(Subscriber.name == "Дупоф Сергей").exists()


def test_class_and_category_are_fixed_and_stale_form_is_refused(client, admin, login_as):
    subscriber = make_subscriber(name="Версия")
    login_as()
    page = client.get(f"/admin/subscribers/{subscriber.id}").get_data(as_text=True)
    assert 'name="kind"' not in page
    form = {"version": str(subscriber.version), "name": "Версия 2", "kind": "legal", "category": "dealer",
            "director": "X"}
    assert client.post(f"/admin/subscribers/{subscriber.id}", data=form).status_code == 302
    fresh = Subscriber.get_by_id(subscriber.id)
    assert (fresh.kind, fresh.category, fresh.name, fresh.director) == ("individual", "subscriber", "Версия 2", "")
    stale = client.post(f"/admin/subscribers/{subscriber.id}", data=dict(form, name="Версия 3"))
    assert stale.status_code == 409
    assert ru("Someone else changed this record meanwhile; reload and try again.") in stale.get_data(as_text=True)
    assert Subscriber.get_by_id(subscriber.id).name == "Версия 2"


def test_create_from_template_prefills_the_form(client, admin, login_as):
    group = make_group("Шаблонная")
    template = make_subscriber(name="Шаблон ЮЛ", kind="legal", bank_name="Сбербанк", is_template=True,
                               groups=[group])
    login_as()
    page = client.get("/admin/subscribers?templates=1").get_data(as_text=True)
    assert "Шаблон ЮЛ" in page
    page = client.get(f"/admin/subscribers/new?template={template.id}").get_data(as_text=True)
    assert 'value="Сбербанк"' in page
    assert re.search(rf'<input checked[^>]*value="{group.id}"', page)


def test_system_group_cannot_be_left_other_groups_can(client, admin, login_as):
    from lanbill.customers.subscribers import system_group

    group = make_group("Офис")
    subscriber = make_subscriber(name="Групповой", groups=[group])
    login_as()
    page = client.post(f"/admin/subscribers/{subscriber.id}/groups/{system_group().id}/remove",
                       follow_redirects=True).get_data(as_text=True)
    assert ru('Nobody can leave the group "All subscribers".') in page
    assert client.post(f"/admin/subscribers/{subscriber.id}/groups/{group.id}/remove").status_code == 302
    groups = [m.group_id for m in SubscriberGroup.select().where(SubscriberGroup.subscriber == subscriber.id)]
    assert groups == [system_group().id]
    client.post(f"/admin/subscribers/{subscriber.id}/groups", data={"g-group": group.id})
    assert SubscriberGroup.select().where(SubscriberGroup.subscriber == subscriber.id).count() == 2


def test_deleting_a_subscriber_with_accounts_is_refused_with_the_reason(client, admin, login_as):
    account = make_account()
    login_as()
    page = client.post(f"/admin/subscribers/{account.subscriber_id}/delete",
                       follow_redirects=True).get_data(as_text=True)
    assert ru("The subscriber has accounts; delete them or move them to another subscriber first.") in page
    assert Subscriber.get_or_none(Subscriber.id == account.subscriber_id) is not None
    lonely = make_subscriber(name="Одинокий")
    assert client.post(f"/admin/subscribers/{lonely.id}/delete").status_code == 302
    assert Subscriber.get_or_none(Subscriber.id == lonely.id) is None


def test_passport_is_shown_only_with_the_permission_and_logged(client, app, admin, login_as):
    subscriber = make_subscriber(name="Паспортный", passport_number="777888")
    login_as()
    assert "777888" not in client.get(f"/admin/subscribers/{subscriber.id}").get_data(as_text=True)
    assert "777888" in client.get(f"/admin/subscribers/{subscriber.id}?passport=1").get_data(as_text=True)
    assert AuditLog.select().where((AuditLog.action == "personal_data.view")
                                   & (AuditLog.object_id == str(subscriber.id))).count() == 1
    make_manager("clerk", permissions=["subscribers.view", "subscribers.edit"])
    client.get("/logout")
    login_as("clerk", PASSWORD)
    page = client.get(f"/admin/subscribers/{subscriber.id}?passport=1").get_data(as_text=True)
    assert "777888" not in page and "Паспортный" in page
    # saving the form without the passport section keeps the passport
    client.post(f"/admin/subscribers/{subscriber.id}", data={"version": "1", "name": "Паспортный 2"})
    assert Subscriber.get_by_id(subscriber.id).passport_number == "777888"


def test_agreements_table_links_balance_to_the_payments_form(client, admin, login_as):
    agreement = make_agreement(number="B-1")
    login_as()
    page = client.get(f"/admin/subscribers/{agreement.subscriber_id}").get_data(as_text=True)
    assert f'href="/admin/payments?agreement={agreement.id}" class="balance-link"' in page


def test_agreement_created_from_the_subscriber_page(client, admin, login_as):
    subscriber = make_subscriber(name="С договором")
    login_as()
    bad = client.post(f"/admin/subscribers/{subscriber.id}/agreements/new",
                      data={"number": "", "operator": 1, "currency": "RUB", "credit_limit": "abc"})
    assert bad.status_code == 422
    assert ru("Amount must be a number, for example 650,50.") in bad.get_data(as_text=True)
    ok = client.post(f"/admin/subscribers/{subscriber.id}/agreements/new",
                     data={"number": "A-100", "operator": 1, "currency": "RUB", "credit_limit": "100,50"})
    assert ok.status_code == 302
    assert subscriber.agreements.get().credit_limit == __import__("decimal").Decimal("100.50")


def test_address_picker_adds_a_missing_street_in_place(client, admin, login_as):
    from lanbill.customers import addresses
    from tests.factories import ACTOR

    region = addresses.add_entry("region", None, "Калужская обл.", actor=ACTOR)
    city = addresses.add_entry("city", region.id, "Калуга", actor=ACTOR)
    login_as()
    response = client.post("/admin/subscribers/address-add", data={"level": "street", "parent": city.id,
                                                                    "name": "Ленина"})
    street_id = response.get_json()["id"]
    building = client.post("/admin/subscribers/address-add",
                           data={"level": "building", "parent": street_id, "name": "5"}).get_json()
    rows = client.get(f"/admin/subscribers/address-lookup?level=street&parent={city.id}").get_json()
    assert [r["name"] for r in rows] == ["Ленина"]
    data = _individual(name="Адресный", main_building=str(building["id"]), main_flat="12")
    assert client.post("/admin/subscribers/new", data=data).status_code == 302
    subscriber = Subscriber.get(Subscriber.name == "Адресный")
    assert "Ленина" in addresses.address_text(subscriber.main_address)


def test_limited_manager_sees_only_their_groups(client, admin, login_as):
    mine, theirs = make_group("Мои"), make_group("Чужие")
    visible = make_subscriber(name="Видимый Абонент", groups=[mine])
    hidden = make_subscriber(name="Скрытый Абонент", groups=[theirs])
    make_account(make_agreement(hidden), login="hiddenlogin")
    make_manager("limited", groups=[mine])
    login_as("limited", PASSWORD)
    page = client.get("/admin/subscribers?q=Абонент").get_data(as_text=True)
    assert "Видимый Абонент" in page and "Скрытый Абонент" not in page
    assert "Скрытый" not in client.get("/admin/subscribers?format=csv").get_data(as_text=True)
    assert client.get(f"/admin/subscribers/{hidden.id}").status_code == 404
    assert client.get(f"/admin/subscribers/{visible.id}").status_code == 200
    assert "hiddenlogin" not in client.get("/admin/accounts").get_data(as_text=True)
    assert "Скрытый" not in client.get("/admin/payments?by=name&q=Абонент").get_data(as_text=True)


def test_language_switch_is_saved_per_manager(client, admin, login_as):
    from flask_babel import refresh

    from lanbill.models import Manager

    login_as()
    assert "Абоненты" in client.get("/admin/subscribers").get_data(as_text=True)
    response = client.post("/admin/language", data={"language": "en", "next": "/admin/subscribers"})
    assert response.status_code == 302 and response.location.endswith("/admin/subscribers")
    assert Manager.get(Manager.login == "admin").language == "en"
    refresh()  # the test app context is shared by requests; a real request has its own
    page = client.get("/admin/subscribers").get_data(as_text=True)
    assert "Create subscriber" in page and "Создать пользователя" not in page
    client.post("/admin/language", data={"language": "xx"})
    assert Manager.get(Manager.login == "admin").language == "en"
    assert client.post("/admin/language", data={"language": "ru", "next": "//evil.example/"}).location == "/admin/"


def test_subscriber_list_runs_a_fixed_number_of_queries(client, admin, login_as):
    """No query per row: 5 or 40 subscribers with agreements, same count."""
    from lanbill.db import database

    login_as()

    def count_queries():
        executed = []
        original = database.obj.execute_sql

        def spy(sql, params=None, *args, **kwargs):
            executed.append(sql)
            return original(sql, params, *args, **kwargs)

        database.obj.execute_sql = spy
        try:
            assert client.get("/admin/subscribers?per_page=50").status_code == 200
        finally:
            database.obj.execute_sql = original
        return len(executed)

    for _ in range(5):
        make_agreement(make_subscriber())
    few = count_queries()
    for _ in range(35):
        make_agreement(make_subscriber())
    assert count_queries() == few


def test_search_index_follows_changes_made_anywhere(client, admin, login_as):
    """The index is refreshed from the data (new ids, updated_at), so
    changes made by billing functions — not by these screens — are found."""
    from lanbill.customers import subscribers as service
    from tests.factories import ACTOR

    subscriber = make_subscriber(name="Старое Имя")
    login_as()
    assert "Старое Имя" in client.get("/admin/subscribers?q=старое").get_data(as_text=True)
    service.update_subscriber(subscriber, {"name": "Новое Имя"}, actor=ACTOR)
    make_account(make_agreement(subscriber, number="IDX-42"), login="fresh-login", ips=["192.0.2.77/32"])
    for by, text in [("name", "НОВОЕ"), ("agreement", "idx-42"), ("login", "FRESH"), ("ip", "2.77")]:
        page = client.get(f"/admin/subscribers?by={by}&q={text}").get_data(as_text=True)
        assert "Новое Имя" in page, (by, text)
    assert "Новое Имя" not in client.get("/admin/subscribers?q=старое").get_data(as_text=True)


def test_group_membership_is_set_with_the_rendered_checkboxes(client, admin, login_as):
    """The groups are real checkboxes: the subscriber ends up in exactly the
    checked ones; the system group stays; a group outside the manager's
    reach cannot be forged in."""
    from lanbill.customers.subscribers import system_group
    from tests.rendered_forms import form_values

    office, home = make_group("Офис"), make_group("Дом")
    subscriber = make_subscriber(name="Флажков", groups=[office])
    login_as()

    def members():
        return {m.group_id for m in SubscriberGroup.select().where(SubscriberGroup.subscriber == subscriber.id)}

    page = client.get(f"/admin/subscribers/{subscriber.id}").get_data(as_text=True)
    fields = form_values(page, "group")
    assert fields["group"] == str(office.id)  # checked
    response = client.post(f"/admin/subscribers/{subscriber.id}/groups/set",
                           data={"csrf_token": fields.get("csrf_token", ""), "group": [str(home.id)]})
    assert response.status_code == 302
    assert members() == {system_group().id, home.id}
    client.post(f"/admin/subscribers/{subscriber.id}/groups/set", data={"group": ["999999", str(system_group().id)]})
    assert members() == {system_group().id}


def test_passport_dates_are_date_inputs_showing_old_typed_dates(client, admin, login_as):
    """A date typed as 25.03.2010 before the date inputs still shows in
    them (as ISO), and the division code has its own field."""
    subscriber = make_subscriber(name="Старых С.")
    Subscriber.update(passport_issued_on="25.03.2010", passport_division_code="400-012").where(
        Subscriber.id == subscriber.id).execute()
    login_as()
    page = client.get(f"/admin/subscribers/{subscriber.id}?passport=1").get_data(as_text=True)
    issued = re.search(r'<input[^>]*id="passport_issued_on"[^>]*>', page).group(0)
    assert 'type="date"' in issued and 'value="2010-03-25"' in issued
    assert re.search(r'<input[^>]*id="passport_division_code"[^>]*value="400-012"', page)


def test_search_results_show_the_count_states_balances_and_phone_links(client, admin, login_as):
    first = make_account(login="found-1")
    Subscriber.update(phone="+7 900 000-00-01", name="Искомый Первый").where(
        Subscriber.id == first.subscriber_id).execute()
    from lanbill.billing import blocks

    blocks.block_by_staff(first, actor="system", reason="тест")
    make_subscriber(name="Искомый Второй")
    make_subscriber(name="Другой")
    login_as()
    page = client.get("/admin/subscribers?q=Искомый").get_data(as_text=True)
    assert ru("Found: %(count)s", count=2) in page
    assert 'href="tel:+7900000-00-01"' in page
    row = page[page.index("Искомый Первый"):]
    row = row[:row.index("</tr>")]
    assert "state-admin" in row


def test_subscriber_card_offers_a_new_ticket_to_helpdesk_staff(client, admin, login_as):
    subscriber = make_subscriber(name="С Заявкой")
    login_as()
    page = client.get(f"/admin/subscribers/{subscriber.id}").get_data(as_text=True)
    link = re.search(r'<a[^>]*id="quick-ticket"[^>]*>', page).group(0)
    assert f"/admin/helpdesk/new?subscriber={subscriber.id}" in link
    assert client.get(f"/admin/helpdesk/new?subscriber={subscriber.id}").status_code == 200
