"""The registries screens: upload → dry run with every row → post; the
control total refused with a clear message; hand matching; annulling;
the same file again; group scope; the CLI `flask registry import`."""

from __future__ import annotations

import io
from decimal import Decimal

from lanbill.models import Agreement, AuditLog, Payment
from lanbill.models.registries import RegistryImport, RegistryRow
from tests.admin_helpers import PASSWORD, make_group, make_manager, ru
from tests.factories import make_agreement, make_subscriber
from tests.paysys.helpers import SBER_LAYOUT, make_numbered_agreements, make_registry_system, sample


def _upload(client, system, name, content=None):
    content = sample(name) if content is None else content
    return client.post("/admin/registries", data={"system": system.code, "file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def test_upload_shows_the_dry_run_then_post_books_the_matched_rows(client, admin, login_as):
    agreements = make_numbered_agreements("R-1001", "R-1002", "R-1003")
    system = make_registry_system(name="Сбербанк, реестр")
    login_as()
    page = client.get("/admin/registries").get_data(as_text=True)
    assert "Сбербанк, реестр" in page and 'enctype="multipart/form-data"' in page
    response = _upload(client, system, "lanbill_cp1251.txt")
    assert response.status_code == 302
    registry = RegistryImport.get()
    assert response.headers["Location"].endswith(f"/admin/registries/{registry.id}")
    page = client.get(f"/admin/registries/{registry.id}").get_data(as_text=True)
    assert ru("Dry run") in page and 'id="registry-rows"' in page
    assert ru("No agreement with this number.") in page and "R-9999" in page
    assert ru("Repeats an earlier line of this file.") in page
    assert ru("Post %(count)s payments", count=3) in page
    assert Payment.select().count() == 0
    response = client.post(f"/admin/registries/{registry.id}/post")
    assert response.status_code == 302
    assert RegistryImport.get_by_id(registry.id).status == "posted"
    assert Agreement.get_by_id(agreements["R-1002"].id).balance == Decimal("1000.50")
    page = client.get(f"/admin/registries/{registry.id}").get_data(as_text=True)
    assert ru("The registry is posted: %(count)s payments booked.", count=3) in page
    assert AuditLog.select().where(AuditLog.action == "registry.post").count() == 1
    listing = client.get("/admin/registries").get_data(as_text=True)
    assert "lanbill_cp1251.txt" in listing and ru("Posted") in listing


def test_wrong_control_total_is_shown_and_posting_is_refused(client, admin, login_as):
    make_numbered_agreements("R-1001", "R-1002", "R-1003")
    system = make_registry_system(layout=SBER_LAYOUT)
    login_as()
    _upload(client, system, "sber_utf8_wrong_total.csv")
    registry = RegistryImport.get()
    page = client.get(f"/admin/registries/{registry.id}").get_data(as_text=True)
    assert 'id="control-problem"' in page and "2100.50" in page
    assert f"/admin/registries/{registry.id}/post" not in page
    client.post(f"/admin/registries/{registry.id}/post")
    page = client.get(f"/admin/registries/{registry.id}").get_data(as_text=True)
    assert "2100.50" in page and Payment.select().count() == 0
    assert RegistryImport.get_by_id(registry.id).status == "dry_run"


def test_an_unmatched_row_is_matched_by_hand_and_then_annul_reverses_all(client, admin, login_as):
    agreements = make_numbered_agreements("R-1001", "R-1002", "R-1003", "R-7777")
    system = make_registry_system()
    login_as()
    _upload(client, system, "lanbill_cp1251.txt")
    registry = RegistryImport.get()
    client.post(f"/admin/registries/{registry.id}/post")
    row = RegistryRow.get((RegistryRow.registry == registry.id) & (RegistryRow.line == 4))
    page = client.get(f"/admin/registries/{registry.id}?status=unmatched").get_data(as_text=True)
    assert f"/admin/registries/rows/{row.id}/match" in page
    response = client.post(f"/admin/registries/rows/{row.id}/match", data={"match-agreement": "R-0000"})
    assert ru("No agreement with this number.") in client.get(response.headers["Location"]).get_data(as_text=True)
    client.post(f"/admin/registries/rows/{row.id}/match", data={"match-agreement": "R-7777"})
    assert Agreement.get_by_id(agreements["R-7777"].id).balance == Decimal("300.00")
    response = client.post(f"/admin/registries/{registry.id}/annul", data={"annul-reason": ""})
    assert RegistryImport.get_by_id(registry.id).status == "posted"
    client.post(f"/admin/registries/{registry.id}/annul", data={"annul-reason": "Не тот банк"})
    assert RegistryImport.get_by_id(registry.id).status == "annulled"
    assert all(Agreement.get_by_id(a.id).balance == Decimal("0.00") for a in agreements.values())


def test_the_same_file_again_is_recognised_on_the_page(client, admin, login_as):
    make_numbered_agreements("R-1001", "R-1002", "R-1003")
    system = make_registry_system()
    login_as()
    _upload(client, system, "lanbill_cp1251.txt")
    first = RegistryImport.get()
    client.post(f"/admin/registries/{first.id}/post")
    _upload(client, system, "lanbill_cp1251.txt")
    second = RegistryImport.select().order_by(RegistryImport.id.desc()).get()
    page = client.get(f"/admin/registries/{second.id}").get_data(as_text=True)
    assert 'id="same-file"' in page and second.duplicate_count == 4
    assert ru("Already booked by this payment system.") in page


def test_upload_refuses_a_missing_file_or_a_non_registry_system(client, admin, login_as):
    make_registry_system()
    other = make_registry_system(code="osmp1", kind="osmp")
    login_as()
    response = client.post("/admin/registries", data={"system": "bank"}, content_type="multipart/form-data")
    assert response.status_code == 422 and ru("Choose the file.") in response.get_data(as_text=True)
    response = _upload(client, other, "lanbill_cp1251.txt")
    assert response.status_code == 422 and RegistryImport.select().count() == 0


def test_screens_need_payments_create_and_annul_needs_cancel(client, app, login_as):
    make_manager("viewer", permissions=["subscribers.view"])
    make_manager("cashier", permissions=["payments.create"])
    make_registry_system()
    login_as("viewer", PASSWORD)
    assert client.get("/admin/registries").status_code == 403
    assert client.get("/admin/receipts").status_code == 403
    client.post("/logout")
    login_as("cashier", PASSWORD)
    assert client.get("/admin/registries").status_code == 200
    assert client.post("/admin/registries/1/annul", data={"annul-reason": "x"}).status_code == 403


def test_agreements_outside_the_managers_groups_are_not_shown_and_block_posting(client, app, login_as):
    north = make_group("Север")
    mine = make_agreement(make_subscriber(groups=[north.id]), number="R-1001")
    make_agreement(make_subscriber(), number="R-1002")
    make_manager("north", permissions=["payments.create", "payments.cancel"], groups=[north])
    system = make_registry_system()
    login_as("north", PASSWORD)
    _upload(client, system, "lanbill_cp1251.txt")
    registry = RegistryImport.get()
    page = client.get(f"/admin/registries/{registry.id}").get_data(as_text=True)
    assert mine.number in page and ru("outside your groups") in page
    assert ">R-1002<" not in page
    assert client.post(f"/admin/registries/{registry.id}/post").status_code == 403
    row = RegistryRow.get((RegistryRow.registry == registry.id) & (RegistryRow.line == 4))
    client.post(f"/admin/registries/rows/{row.id}/match", data={"match-agreement": "R-1002"})
    assert RegistryRow.get_by_id(row.id).status == "unmatched"


def test_rows_download_as_csv(client, admin, login_as):
    make_numbered_agreements("R-1001", "R-1002", "R-1003")
    system = make_registry_system()
    login_as()
    _upload(client, system, "lanbill_cp1251.txt")
    registry = RegistryImport.get()
    response = client.get(f"/admin/registries/{registry.id}/rows.csv")
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and text.count("\n") == 7 and "TX-0002" in text


def test_progress_answers_the_state_of_the_dry_run(client, admin, login_as):
    make_numbered_agreements("R-1001")
    system = make_registry_system()
    login_as()
    _upload(client, system, "lanbill_cp1251.txt")
    registry = RegistryImport.get()
    assert client.get(f"/admin/registries/{registry.id}/progress").get_json() == {
        "status": "dry_run", "done": 6, "total": 6}


def test_cli_registry_import_dry_run_then_post(app, runner, tmp_path):
    agreements = make_numbered_agreements("R-1001", "R-1002", "R-1003")
    make_registry_system(code="sber", layout=SBER_LAYOUT)
    path = tmp_path / "reestr.csv"
    path.write_bytes(sample("sber_cp1251.csv"))
    result = runner.invoke(args=["registry", "import", str(path), "--system", "sber", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run, nothing booked" in result.output and "matched 3" in result.output
    assert Payment.select().count() == 0
    result = runner.invoke(args=["registry", "import", str(path), "--system", "sber"])
    assert result.exit_code == 0, result.output
    assert "posted, 3 payments" in result.output and "uploaded before" in result.output
    assert Agreement.get_by_id(agreements["R-1003"].id).balance == Decimal("750.50")
    wrong = tmp_path / "wrong.csv"
    wrong.write_bytes(sample("sber_utf8_wrong_total.csv"))
    result = runner.invoke(args=["registry", "import", str(wrong), "--system", "sber"])
    assert result.exit_code == 1 and "2100.50" in result.output
    result = runner.invoke(args=["registry", "import", str(wrong), "--system", "nope"])
    assert result.exit_code != 0 and "no payment system" in result.output


def test_a_long_file_shows_its_progress_until_the_worker_has_read_it(client, admin, login_as):
    """The upload is stored first and read by the worker: meanwhile the
    page refreshes itself and shows how many rows are checked."""
    from lanbill.actor import Actor
    from lanbill.paysys import registry_booking

    system = make_registry_system()
    lines = ["40702810900000000001"] + [f"Z-{n};T{n};2026-11-20;10,00;;;;" for n in range(1200)]
    registry = registry_booking.start_import(system, "long.txt", "\n".join(lines).encode(), actor=Actor("test"))
    login_as()
    page = client.get(f"/admin/registries/{registry.id}").get_data(as_text=True)
    assert 'http-equiv="refresh"' in page and 'id="registry-progress"' in page and "<progress" in page
    assert client.get(f"/admin/registries/{registry.id}/progress").get_json()["status"] == "reading"
    seen = []
    registry_booking.read_import(registry.id, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(500, 1200), (1000, 1200), (1200, 1200)]
    page = client.get(f"/admin/registries/{registry.id}").get_data(as_text=True)
    assert 'http-equiv="refresh"' not in page and 'id="unmatched-count">1200' in page
