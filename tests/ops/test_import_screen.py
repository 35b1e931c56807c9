"""The import screen (admin/imports.py): upload, column mapping (a preset or
guesses from the headers), a dry run listing every row's errors, the
import with its progress, and runs only their uploader may see."""

from __future__ import annotations

import io
import re
from pathlib import Path

from lanbill.models import Account, Manager, Role, Subscriber
from lanbill.staff.managers import hash_password
from tests.factories import make_agent, make_tariff

EXAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "import-examples"


def upload(client, name, data, preset=""):
    return client.post("/admin/imports", data={"file": (io.BytesIO(data), name), "preset": preset},
                       content_type="multipart/form-data")


def test_preset_dry_run_then_import(app, client, admin, login_as):
    make_tariff(name="Домашний 100")
    make_tariff(name="Домашний 200")
    make_agent(name="bras")
    login_as()
    page = client.get("/admin/imports")
    assert page.status_code == 200 and "ubilling-users" in page.get_data(as_text=True)
    response = upload(client, "ubilling-users.csv", (EXAMPLES / "ubilling-users.csv").read_bytes(), "ubilling-users")
    assert response.status_code == 302
    mapping_url = response.headers["Location"]
    token = re.search(r"/imports/([0-9a-f]{32})/mapping", mapping_url).group(1)
    form = client.get(mapping_url).get_data(as_text=True)
    assert '<option selected value="realname">' in form and '<option selected value="Cash">' in form

    data = {"map_subscriber_name": "realname", "map_agreement_number": "contract", "map_account_login": "login",
            "map_account_password": "Password", "map_account_ips": "ip", "map_account_tariff": "Tariff",
            "map_opening_balance": "Cash", "default_kind": "individual", "agent": "", "agent_column": "",
            "values": '{"account.tariff": {"Home100": "Домашний 100", "Home200": "Домашний 200"}}',
            "action": "dry_run"}
    response = client.post(mapping_url, data=data)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/imports/{token}")
    report = client.get(f"/admin/imports/{token}").get_data(as_text=True)
    assert "Проверка: ничего не сохранено" in report and 'value="4"' in report
    assert Subscriber.select().count() == 0

    response = client.post(f"/admin/imports/{token}/start")
    assert response.status_code == 302
    report = client.get(f"/admin/imports/{token}").get_data(as_text=True)
    assert "Импортировано" in report
    assert Account.select().count() == 4
    # the file (personal data, passwords) is not kept once imported
    folder = Path(app.instance_path) / "imports" / token
    assert not (folder / "source").exists()
    assert client.get(mapping_url).status_code == 302
    assert client.post(f"/admin/imports/{token}/start").status_code == 302 and Account.select().count() == 4


def test_dry_run_lists_every_bad_row_and_guesses_columns(app, client, admin, login_as):
    make_tariff(name="Базовый")
    make_agent(name="bras")
    login_as()
    text = "ФИО;Логин;Пароль;Тариф;Баланс\nИванов;ivanov;pw-123456;Базовый;10\nПетров;петров;pw-1;Нет такого;abc\n"
    response = upload(client, "old.csv", text.encode("cp1251"))
    mapping_url = response.headers["Location"]
    form = client.get(mapping_url).get_data(as_text=True)
    for column in ("ФИО", "Логин", "Пароль", "Тариф", "Баланс"):
        assert f'<option selected value="{column}">' in form
    data = {"map_subscriber_name": "ФИО", "map_account_login": "Логин", "map_account_password": "Пароль",
            "map_account_tariff": "Тариф", "map_opening_balance": "Баланс", "default_kind": "individual",
            "agent": "", "agent_column": "", "values": "{}", "action": "import"}
    run = client.post(mapping_url, data=data).headers["Location"]
    page = client.get(run).get_data(as_text=True)
    assert "Ничего не импортировано" in page
    assert page.count("<tr class=\"invalid\">") == 3  # the login, the tariff and the amount of line 3
    assert "Нет такого" in page
    assert Subscriber.select().count() == 0


def test_bad_files_and_other_managers(app, client, admin, login_as):
    login_as()
    response = upload(client, "empty.csv", b"")
    assert response.status_code == 422 and "Выберите файл CSV или XLSX" in response.get_data(as_text=True)
    response = upload(client, "broken.xlsx", b"PK\x03\x04nonsense")
    assert response.status_code == 422 and "XLSX" in response.get_data(as_text=True)
    mapping_url = upload(client, "ok.csv", b"name,login\nA,a1\n").headers["Location"]

    role = Role.create(name="Importer", permissions=["settings.edit"], all_groups=True)
    Manager.create(login="other", role=role, name="Other", password_hash=hash_password("Secret-pass2"))
    client.post("/logout")
    login_as("other", "Secret-pass2")
    assert client.get(mapping_url).status_code == 404
    assert client.get("/admin/imports/" + "0" * 32).status_code == 404
