"""The knowledge base in the cabinet («Знания»): published articles only,
search by title and text (case-insensitive, Cyrillic), Markdown shown as
sanitised HTML without any script, handler or javascript: link."""

from __future__ import annotations

import re

import pytest

from lanbill.helpdesk import knowledge
from tests.cabinet.helpers import log_in, make_cabinet_subscriber, text_of
from tests.factories import ACTOR
from tests.helpdesk.test_knowledge import elements_of


@pytest.fixture
def me(client):
    subscriber, agreement, _ = make_cabinet_subscriber()
    log_in(client, agreement.number)
    return subscriber


def test_only_published_articles_are_listed_and_opened(client, me):
    shown = knowledge.create_article({"title": "Как оплатить", "body": "Картой", "published": True}, actor=ACTOR)
    draft = knowledge.create_article({"title": "Черновик статьи", "body": "Секрет"}, actor=ACTOR)
    listing = text_of(client.get("/knowledge"))
    assert "Как оплатить" in listing and "Черновик статьи" not in listing
    assert client.get(f"/knowledge/{shown.id}").status_code == 200
    hidden = client.get(f"/knowledge/{draft.id}")
    assert hidden.status_code == 404 and "Секрет" not in hidden.get_data(as_text=True)


def test_search_finds_title_and_body_words_whatever_their_case(client, me):
    knowledge.create_article({"title": "Настройка РОУТЕРА", "body": "Откройте браузер", "published": True},
                             actor=ACTOR)
    knowledge.create_article({"title": "Оплата", "body": "Банковской картой через СБЕРБАНК", "published": True},
                             actor=ACTOR)
    assert "Настройка РОУТЕРА" in text_of(client.get("/knowledge?q=роутера"))
    found = text_of(client.get("/knowledge?q=сбербанк"))
    assert "Оплата" in found and "Настройка" not in found
    nothing = text_of(client.get("/knowledge?q=телевидение"))
    assert 'id="nothing-found"' in nothing and "Оплата" not in nothing


def test_an_article_carries_no_script_handler_or_javascript_link(client, me):
    article = knowledge.create_article({"title": "Опасная", "published": True, "body": (
        "<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n[жми](javascript:alert(3))\n\n"
        "<a href=\"javascript:alert(4)\" onclick=\"alert(5)\">ссылка</a>\n\n[сайт](https://example.ru)")},
        actor=ACTOR)
    page = client.get(f"/knowledge/{article.id}")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    body = page.get_data(as_text=True)
    start = body.index('id="article-body"')
    html = body[start:body.index("</div>", start)]
    elements = elements_of(html)
    assert {tag for tag, _ in elements} <= {"div", "p", "a"}
    for _tag, attrs in elements:
        assert not [name for name, _ in attrs if name.startswith("on")]
        assert not [value for name, value in attrs if name == "href" and not value.startswith("https:")]
    assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", html)  # written HTML shows only as text
    assert '<a href="https://example.ru" rel="noopener noreferrer nofollow">сайт</a>' in html
