"""The knowledge base's staff screens (/admin/knowledge): write a draft in
Markdown, preview the sanitised HTML, publish, take back; bad input in
Russian, nothing saved."""

from __future__ import annotations

from lanbill.models import KnowledgeArticle
from tests.admin_helpers import ru
from tests.cabinet.helpers import text_of
from tests.factories import table_counts
from tests.helpdesk.web import submit_files


def test_write_preview_publish_and_take_back(client, admin, login_as):
    login_as()
    response = submit_files(client, "/admin/knowledge/new",
                            {"title": "Настройка роутера", "body": "# Шаги\n\n**Откройте** 192.168.0.1\n\n"
                                                                   "<script>alert(1)</script>"},
                            action="/admin/knowledge/new")
    assert response.status_code == 302
    article = KnowledgeArticle.get()
    assert not article.published
    page = client.get(f"/admin/knowledge/{article.id}").get_data(as_text=True)
    assert "<h1>Шаги</h1>" in page and "<strong>Откройте</strong>" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    listing = text_of(client.get("/admin/knowledge"))
    assert "Настройка роутера" in listing and ru("draft") in listing
    published = submit_files(client, f"/admin/knowledge/{article.id}", {"published": "y"},
                             action=f"/admin/knowledge/{article.id}")
    assert published.status_code == 302
    assert KnowledgeArticle.get_by_id(article.id).published
    assert ru("published") in text_of(client.get("/admin/knowledge?q=РОУТЕРА"))
    back = submit_files(client, f"/admin/knowledge/{article.id}", {}, action=f"/admin/knowledge/{article.id}")
    assert back.status_code == 302 and not KnowledgeArticle.get_by_id(article.id).published


def test_empty_article_is_refused_in_russian(client, admin, login_as):
    login_as()
    before = table_counts()
    response = submit_files(client, "/admin/knowledge/new", {"title": "", "body": " "},
                            action="/admin/knowledge/new")
    assert response.status_code == 422
    page = text_of(response)
    assert ru("Required.") in page and ru("Write the text of the article.") in page
    assert table_counts() == before
    assert client.get("/admin/knowledge/999999").status_code == 404
