"""The knowledge base («Знания», seed 002 «Поддержка»; DESIGN §10): articles
staff write in Markdown, draft or published; the cabinet shows the
published ones and searches them.

Rules:
- an article has a title (required, at most 255 characters) and a body
  in Markdown (required, at most 100,000 characters);
- a draft is seen by staff only; publishing stamps `published_at`;
- Markdown is rendered by markdown-it-py with raw HTML off (written HTML
  shows as text) and the result is sanitised by nh3 against an allow-list:
  no script, style, iframe, form or event-handler attribute survives, and
  links and images keep only http, https and mailto addresses — the app's
  Content-Security-Policy forbids inline scripts, and an article must not
  carry one in any disguise;
- search: the words typed, case-insensitive (Cyrillic too, on SQLite and
  PostgreSQL alike), each found in the title or the body.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from peewee import fn

from lanbill.clock import now_utc
from lanbill.db import is_sqlite, transaction
from lanbill.errors import N_, NotFound
from lanbill.models.helpdesk import KnowledgeArticle
from lanbill.records import check_version, clean_text, raise_if_any
from lanbill.staff import audit

BODY_MAX = 100_000
QUERY_MAX = 100

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "s", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
    "code": {"class"},
}
URL_SCHEMES = {"http", "https", "mailto"}

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"])


def render(body: str) -> str:
    """An article's Markdown as safe HTML (see the module's rules)."""
    html = _markdown.render(body or "")
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
                     link_rel="noopener noreferrer nofollow", strip_comments=True)


def _search_text(title: str, body: str) -> str:
    return f"{title}\n{body}".casefold()


def _clean(data: dict) -> dict:
    errors: dict = {}
    out = {
        "title": clean_text(data, "title", errors, required=True, limit=255),
        "body": (data.get("body") or "").strip() if isinstance(data.get("body"), str) else "",
        "published": bool(data.get("published")),
    }
    if not out["body"]:
        errors["body"] = N_("Write the text of the article.")
    elif len(out["body"]) > BODY_MAX:
        errors["body"] = N_("The article is too long (at most 100000 characters).")
    raise_if_any(errors)
    return out


def create_article(data: dict, *, actor) -> KnowledgeArticle:
    """A new article, a draft unless `published` is set."""
    fields = _clean(data)
    now = now_utc()
    with transaction():
        article = KnowledgeArticle.create(**fields, search_text=_search_text(fields["title"], fields["body"]),
                                          created_at=now, updated_at=now,
                                          published_at=now if fields["published"] else None)
        audit.record(actor, "article.create", "article", article.id,
                     after={"title": fields["title"], "published": fields["published"]})
    return article


def update_article(article_id, data: dict, *, actor, version=None) -> KnowledgeArticle:
    """Edit an article; publishing it (draft → published) stamps the time,
    taking it back to a draft hides it from the cabinet.  A form older than
    the article's last change is refused."""
    fields = _clean(data)
    with transaction():
        current = get_article(article_id)
        check_version(current, version)
        now = now_utc()
        published_at = current.published_at
        if fields["published"] and not current.published:
            published_at = now
        elif not fields["published"]:
            published_at = None
        old, new = audit.diff({"title": current.title, "published": current.published,
                               "body_length": len(current.body)},
                              {"title": fields["title"], "published": fields["published"],
                               "body_length": len(fields["body"])})
        KnowledgeArticle.update(version=KnowledgeArticle.version + 1, updated_at=now, published_at=published_at,
                                search_text=_search_text(fields["title"], fields["body"]), **fields
                                ).where(KnowledgeArticle.id == current.id).execute()
        audit.record(actor, "article.update", "article", current.id, before=old, after=new)
    return KnowledgeArticle.get_by_id(current.id)


def get_article(article_id, *, published_only: bool = False) -> KnowledgeArticle:
    """An article by id; a draft is "not found" where only published ones are shown."""
    try:
        query = KnowledgeArticle.select().where(KnowledgeArticle.id == int(article_id))
    except (TypeError, ValueError):
        raise NotFound(N_("Article not found.")) from None
    if published_only:
        query = query.where(KnowledgeArticle.published == True)  # noqa: E712
    found = query.first()
    if found is None:
        raise NotFound(N_("Article not found."))
    return found


def _contains(column, needle: str):
    """A literal substring test (no LIKE wildcards) on both databases."""
    return fn.instr(column, needle) > 0 if is_sqlite() else fn.strpos(column, needle) > 0


def search(text: str = "", *, published_only: bool = True):
    """Articles whose title or body holds every word of `text`
    (case-insensitive), the newest first; all of them for an empty text."""
    query = KnowledgeArticle.select()
    if published_only:
        query = query.where(KnowledgeArticle.published == True)  # noqa: E712
    words = (text or "")[:QUERY_MAX].casefold().split()
    for word in words[:10]:
        query = query.where(_contains(KnowledgeArticle.search_text, word))
    order = KnowledgeArticle.published_at if published_only else KnowledgeArticle.updated_at
    return query.order_by(order.desc(), KnowledgeArticle.id.desc())
