"""The helpdesk migration (0075): on a database whose helpdesk tables have
the first schema's shape it adds what is missing and turns `state` into
`status`, keeping the rows; on a current database it changes nothing."""

from __future__ import annotations

import peewee

from lanbill.models.base import utcnow
from tests.test_migrations import empty_app, empty_database_url  # noqa: F401  (fixtures)


def _first_schema(db):
    """The helpdesk tables as the first schema created them."""

    class Base(peewee.Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Ticket(Base):
        subscriber_id = peewee.IntegerField(null=True)
        subject = peewee.CharField(max_length=255)
        state = peewee.CharField(max_length=16, default="open", index=True)
        assigned_manager_id = peewee.IntegerField(null=True)
        created_at = peewee.DateTimeField(default=utcnow)
        updated_at = peewee.DateTimeField(default=utcnow)

    class Message(Base):
        ticket = peewee.ForeignKeyField(Ticket, on_delete="CASCADE")
        author = peewee.CharField(max_length=128)
        body = peewee.TextField()
        created_at = peewee.DateTimeField(default=utcnow)

    class Attachment(Base):
        message = peewee.ForeignKeyField(Message, on_delete="CASCADE")
        filename = peewee.CharField(max_length=255)
        path = peewee.CharField(max_length=512)
        size = peewee.IntegerField(default=0)

    class KnowledgeArticle(Base):
        title = peewee.CharField(max_length=255)
        body = peewee.TextField()
        published = peewee.BooleanField(default=True)
        created_at = peewee.DateTimeField(default=utcnow)

    return Ticket, Message, Attachment, KnowledgeArticle


def test_upgrade_from_the_first_helpdesk_schema_keeps_rows_and_maps_states(empty_app):  # noqa: F811
    from lanbill.db import database
    from lanbill.migrations import SchemaMigration, upgrade_database
    from lanbill.models import Attachment, KnowledgeArticle, Message, Ticket, TicketClass

    upgrade_database()
    database.drop_tables([Attachment, Message, Ticket, KnowledgeArticle, TicketClass])
    old_ticket, old_message, _, old_article = _first_schema(database)
    database.create_tables(_first_schema(database))
    answered = old_ticket.create(subject="Старый", state="answered")
    old_ticket.create(subject="Закрытый", state="closed")
    old_message.create(ticket=answered, author="subscriber:1", body="Текст")
    old_article.create(title="Статья о РОУТЕРЕ", body="Тело")
    SchemaMigration.delete().where(SchemaMigration.name == "0075_helpdesk").execute()

    assert upgrade_database() == ["0075_helpdesk"]
    for model in (Ticket, Message, Attachment, KnowledgeArticle, TicketClass):
        columns = {c.name for c in database.get_columns(model._meta.table_name)}
        assert {f.column_name for f in model._meta.sorted_fields} <= columns, model
    assert "state" not in {c.name for c in database.get_columns("ticket")}
    assert {t.subject: t.status for t in Ticket.select()} == {"Старый": "waiting", "Закрытый": "closed"}
    message = Message.get()
    assert message.body == "Текст" and not message.by_staff
    from lanbill.helpdesk import knowledge

    assert [a.title for a in knowledge.search("роутере")] == ["Статья о РОУТЕРЕ"]
    # the upgraded tables work for the current code
    TicketClass.create(name="Оплата")
    Ticket.create(subject="Новый")
    assert Ticket.get(Ticket.subject == "Новый").status == "new"


def test_on_a_current_database_the_migration_changes_nothing(empty_app):  # noqa: F811
    import importlib

    from lanbill.db import database
    from lanbill.migrations import upgrade_database

    upgrade_database()
    before = {t: [(c.name, c.data_type) for c in database.get_columns(t)]
              for t in ("ticket", "message", "attachment", "knowledge_article", "ticket_class")}
    indexes = {i.name for i in database.get_indexes("ticket")}
    importlib.import_module("lanbill.migrations.0075_helpdesk").upgrade(database)
    after = {t: [(c.name, c.data_type) for c in database.get_columns(t)] for t in before}
    assert after == before and {i.name for i in database.get_indexes("ticket")} == indexes
