"""The initial schema: DESIGN §3's object model."""

from lanbill.models import (
    Account,
    AccountIp,
    AccountService,
    AccountStateChange,
    Address,
    Agent,
    Agreement,
    ApiToken,
    Attachment,
    AuditLog,
    Building,
    City,
    Counter,
    Currency,
    CurrencyRate,
    Document,
    DocumentTemplate,
    Group,
    KnowledgeArticle,
    LedgerEntry,
    Manager,
    Message,
    Nas,
    Operator,
    Payment,
    PromisedPayment,
    Region,
    Role,
    RoleGroup,
    SavedSearch,
    Service,
    Setting,
    Street,
    Subscriber,
    SubscriberGroup,
    Tariff,
    TariffChange,
    Ticket,
    TrafficCategory,
    TrafficDetail,
    TrafficHourly,
)

MODELS = [
    Operator, Currency, CurrencyRate, Setting, Counter,
    Region, City, Street, Building, Address,
    Subscriber, Group, SubscriberGroup, SavedSearch,
    Tariff, TrafficCategory, Service,
    Agent, Nas,
    Agreement, LedgerEntry, Payment, PromisedPayment,
    Account, AccountIp, AccountStateChange, TariffChange, AccountService,
    Role, RoleGroup, Manager, ApiToken, AuditLog,
    Ticket, Message, Attachment, KnowledgeArticle,
    DocumentTemplate, Document,
    TrafficHourly, TrafficDetail,
]  # fmt: skip


def upgrade(db):
    db.create_tables(MODELS)
    # A login is unique among the live accounts of one agent (seed 002);
    # a deleted account keeps its login in history without blocking reuse.
    db.execute_sql(
        "CREATE UNIQUE INDEX account_agent_login_live ON account (agent_id, login) "
        "WHERE NOT deleted"
    )
