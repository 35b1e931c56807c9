"""The knowledge base (lanbill.helpdesk.knowledge): drafts and publishing,
Markdown rendered and sanitised (no script reaches the cabinet), search
case-insensitive with Cyrillic on both databases."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from lanbill.errors import Conflict, NotFound, ValidationError
from lanbill.helpdesk import knowledge
from lanbill.models import KnowledgeArticle
from tests.factories import ACTOR, table_counts


def test_markdown_is_rendered():
    html = knowledge.render("# Настройка роутера\n\n1. Откройте **192.168.0.1**\n2. Введите `admin`\n\n"
                            "| a | b |\n|---|---|\n| 1 | 2 |\n\n[Сайт](https://example.ru)")
    assert "<h1>Настройка роутера</h1>" in html and "<strong>192.168.0.1</strong>" in html
    assert "<ol>" in html and "<code>admin</code>" in html and "<table>" in html
    assert '<a href="https://example.ru" rel="noopener noreferrer nofollow">Сайт</a>' in html


@pytest.mark.parametrize("source", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](vbscript:msgbox(1))",
    "![x](javascript:alert(1))",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<iframe src=\"https://evil.example\"></iframe>",
    "<svg onload=alert(1)>",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<style>body{display:none}</style>",
    "<form action=\"https://evil.example\"><button>go</button></form>",
])
def test_sanitised_html_carries_no_script_handler_or_javascript_link(source):
    tags = elements_of(knowledge.render(source))
    names = {tag for tag, _ in tags}
    assert not names & {"script", "iframe", "svg", "style", "form", "button", "object", "embed"}
    for tag, attrs in tags:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            if name in ("href", "src"):
                assert value.split(":", 1)[0].lower() in ("http", "https", "mailto"), (tag, value)


def test_the_sanitiser_cleans_html_even_if_it_came_through():
    import nh3

    html = nh3.clean('<p onclick="x()">a</p><a href="javascript:alert(1)">b</a><script>c()</script>',
                     tags=knowledge.ALLOWED_TAGS, attributes=knowledge.ALLOWED_ATTRIBUTES,
                     url_schemes=knowledge.URL_SCHEMES)
    assert html == "<p>a</p><a rel=\"noopener noreferrer\">b</a>"


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))


def elements_of(html: str) -> list:
    parser = _Elements()
    parser.feed(html)
    return parser.found


def test_a_draft_is_hidden_until_published(app):
    article = knowledge.create_article({"title": "Черновик", "body": "Текст"}, actor=ACTOR)
    assert not article.published and article.published_at is None
    with pytest.raises(NotFound):
        knowledge.get_article(article.id, published_only=True)
    assert list(knowledge.search("")) == []
    updated = knowledge.update_article(article.id, {"title": "Готово", "body": "Текст", "published": True},
                                       actor=ACTOR, version=article.version)
    assert updated.published and updated.published_at is not None
    assert knowledge.get_article(article.id, published_only=True).title == "Готово"
    with pytest.raises(Conflict):  # a stale form
        knowledge.update_article(article.id, {"title": "x", "body": "y"}, actor=ACTOR, version=article.version)
    hidden = knowledge.update_article(article.id, {"title": "Готово", "body": "Текст"}, actor=ACTOR)
    assert not hidden.published and list(knowledge.search("")) == []


def test_title_and_body_are_required(app):
    before = table_counts()
    with pytest.raises(ValidationError) as refused:
        knowledge.create_article({"title": " ", "body": ""}, actor=ACTOR)
    assert set(refused.value.fields) == {"title", "body"}
    assert table_counts() == before


def test_search_is_case_insensitive_for_cyrillic_in_title_and_body(app):
    router = knowledge.create_article({"title": "Настройка РОУТЕРА", "body": "Откройте браузер", "published": True},
                                      actor=ACTOR)
    pay = knowledge.create_article({"title": "Оплата", "body": "Банковской КАРТОЙ через Сбербанк",
                                    "published": True}, actor=ACTOR)
    knowledge.create_article({"title": "Роутер черновик", "body": "x"}, actor=ACTOR)
    assert [a.id for a in knowledge.search("роутер")] == [router.id]
    assert [a.id for a in knowledge.search("картой")] == [pay.id]
    assert [a.id for a in knowledge.search("ОПЛАТА сбербанк")] == [pay.id]
    assert list(knowledge.search("100%_")) == []
    assert {a.id for a in knowledge.search("")} == {router.id, pay.id}
    assert len(list(knowledge.search("роутер", published_only=False))) == 2
    assert KnowledgeArticle.select().count() == 3
