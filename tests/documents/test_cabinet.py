"""Documents in the cabinet (DESIGN §10): the subscriber lists and
downloads the documents of own agreements, cancelled ones marked; someone
else's document is not found."""

from __future__ import annotations

from lanbill.documents.issue import cancel_document, issue_document
from tests.cabinet.helpers import log_in, make_cabinet_subscriber, text_of
from tests.documents.helpers import pdf_bytes_text, set_requisites
from tests.factories import ACTOR


def test_subscriber_lists_and_downloads_own_documents_only(app, client, tmp_path):
    set_requisites()
    subscriber, agreement, _ = make_cabinet_subscriber(name="Иванов Иван")
    _, others, _ = make_cabinet_subscriber(name="Петров Пётр")
    own, _ = issue_document(agreement, "invoice", actor=ACTOR, instance_path=app.instance_path, amount="600.00")
    old, _ = issue_document(agreement, "prepayment_invoice", actor=ACTOR, instance_path=app.instance_path,
                            amount="50.00")
    cancel_document(old, "Ошибка", actor=ACTOR)
    theirs, _ = issue_document(others, "invoice", actor=ACTOR, instance_path=app.instance_path, amount="1.00")
    log_in(client, agreement.number)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/documents"' in home
    page = text_of(client.get("/documents"))
    assert own.number in page and old.number in page and "аннулирован" in page
    assert theirs.number not in page
    pdf = client.get(f"/documents/{own.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "Шестьсот рублей 00 копеек" in pdf_bytes_text(pdf.data, tmp_path)
    assert client.get(f"/documents/{theirs.id}.pdf").status_code == 404


def test_documents_need_a_cabinet_session(app, client):
    response = client.get("/documents")
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
