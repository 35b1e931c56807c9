"""The subscriber's card beside a ticket (DESIGN §10: "the subscriber's card
at hand"): what support needs to answer without leaving the ticket — each
agreement's balance and available funds, each live account's state and
tariff, and the open RADIUS sessions."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from lanbill.billing.blocks import available_funds
from lanbill.models import Account, Agreement, Subscriber, Tariff
from lanbill.models.radius import RadiusSession


@dataclass
class SubscriberCard:
    subscriber: Subscriber
    agreements: list = field(default_factory=list)  # (Agreement, available funds)
    accounts: list = field(default_factory=list)
    sessions: list = field(default_factory=list)

    @property
    def total_balance(self) -> Decimal:
        return sum((a.balance for a, _ in self.agreements), Decimal("0.00"))


def subscriber_card(subscriber: Subscriber | None) -> SubscriberCard | None:
    """The card of the ticket's subscriber (the caller has checked that the
    manager may see the ticket, and so the subscriber); None when the
    subscriber is gone.  A fixed number of queries."""
    if subscriber is None:
        return None
    agreements = list(Agreement.select().where(Agreement.subscriber == subscriber.id).order_by(Agreement.id))
    accounts = list(Account.select(Account, Tariff).join(Tariff)
                    .where((Account.subscriber == subscriber.id) & (Account.deleted == False))  # noqa: E712
                    .order_by(Account.id))
    sessions = []
    if accounts:
        sessions = list(RadiusSession.select()
                        .where(RadiusSession.account_id.in_([a.id for a in accounts])
                               & RadiusSession.stopped_at.is_null())
                        .order_by(RadiusSession.started_at.desc()).limit(50))
    return SubscriberCard(subscriber, [(a, available_funds(a)) for a in agreements], accounts, sessions)
