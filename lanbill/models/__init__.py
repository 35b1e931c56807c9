"""Peewee models, one module per area (DESIGN §2)."""

from lanbill.models.accounts import (  # noqa: F401
    Account,
    AccountIp,
    AccountService,
    AccountStateChange,
    TariffChange,
)
from lanbill.models.addresses import Address, Building, City, Region, Street  # noqa: F401
from lanbill.models.agents import Agent, Nas  # noqa: F401
from lanbill.models.agreements import (  # noqa: F401
    Agreement,
    LedgerEntry,
    Payment,
    PromisedPayment,
)
from lanbill.models.base import BaseModel, utcnow  # noqa: F401
from lanbill.models.cabinet import CabinetResetCode, SelectableTariff  # noqa: F401
from lanbill.models.cards import CardSeries, PaymentCard  # noqa: F401
from lanbill.models.documents import Document, DocumentRun, DocumentTemplate  # noqa: F401
from lanbill.models.helpdesk import Attachment, KnowledgeArticle, Message, Ticket, TicketClass  # noqa: F401
from lanbill.models.notify import (  # noqa: F401
    GroupNotifyRule,
    NotifyChoice,
    NotifyContact,
    NotifyTemplate,
    OutboxMessage,
)
from lanbill.models.online_payments import AutoPayment, OnlinePayment  # noqa: F401
from lanbill.models.operators import Counter, Currency, CurrencyRate, Operator, Setting  # noqa: F401
from lanbill.models.payment_numbering import PaymentNumbering  # noqa: F401
from lanbill.models.paysys import PaymentSystem  # noqa: F401
from lanbill.models.receipts import FiscalReceipt, FiscalSettings  # noqa: F401
from lanbill.models.registries import RegistryImport, RegistryRow  # noqa: F401
from lanbill.models.report_totals import (  # noqa: F401
    ReportAgreementCell,
    ReportCell,
    ReportDirty,
    ReportLedgerMonth,
    ReportPaymentDay,
    ReportTotalsState,
)
from lanbill.models.staff import ApiToken, AuditLog, Manager, Role, RoleGroup  # noqa: F401
from lanbill.models.subscribers import Group, SavedSearch, Subscriber, SubscriberGroup  # noqa: F401
from lanbill.models.tariffs import Service, Tariff, TrafficCategory  # noqa: F401
from lanbill.models.traffic import TrafficDetail, TrafficHourly  # noqa: F401
