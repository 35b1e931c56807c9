"""The knowledge base's staff screens («Знания», DESIGN §10): the list of
articles (drafts and published), a new article, editing with a preview
of the rendered, sanitised HTML, publishing and taking back.  Needs
`helpdesk.use`."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from lanbill.admin import bp
from lanbill.admin.common import apply_errors, current_actor, requires
from lanbill.errors import BillingError, NotFound
from lanbill.helpdesk import knowledge


class ArticleForm(FlaskForm):
    version = HiddenField()
    title = StringField(_l("Title"), validators=[DataRequired(message=_l("Required.")), Length(max=255)])
    body = TextAreaField(_l("Text (Markdown)"), validators=[DataRequired(message=_l("Write the text of the article."))])
    published = BooleanField(_l("Published in the cabinet"))


@bp.route("/knowledge", endpoint="knowledge")
@requires("helpdesk.use")
def knowledge_base():
    search = (request.args.get("q") or "").strip()
    articles = list(knowledge.search(search, published_only=False).limit(500))
    return render_template("admin/helpdesk/articles.html", articles=articles, search=search)


def _save(article):
    initial = None
    if article is not None and request.method == "GET":
        initial = {"title": article.title, "body": article.body, "published": article.published,
                   "version": article.version}
    form = ArticleForm(data=initial)
    status = 200
    if form.validate_on_submit():
        data = {"title": form.title.data, "body": form.body.data, "published": form.published.data}
        try:
            if article is None:
                article = knowledge.create_article(data, actor=current_actor())
            else:
                version = int(form.version.data) if (form.version.data or "").isdigit() else None
                article = knowledge.update_article(article.id, data, actor=current_actor(), version=version)
        except BillingError as exc:
            apply_errors(form, exc)
            status = exc.status
        else:
            flash(_("The article is saved."), "success")
            return redirect(url_for("admin.knowledge_edit", article_id=article.id))
    elif request.method == "POST":
        status = 422
    preview = Markup(knowledge.render(article.body)) if article is not None else None  # noqa: S704 - sanitised
    return render_template("admin/helpdesk/article.html", form=form, article=article, preview=preview), status


@bp.route("/knowledge/new", methods=["GET", "POST"])
@requires("helpdesk.use")
def knowledge_new():
    return _save(None)


@bp.route("/knowledge/<int:article_id>", methods=["GET", "POST"])
@requires("helpdesk.use")
def knowledge_edit(article_id):
    try:
        article = knowledge.get_article(article_id)
    except NotFound:
        abort(404)
    return _save(article)
