"""The cabinet's tables: tariffs a subscriber may choose from a tariff,
one-time codes for a forgotten cabinet password, payment card series and
cards.  New tables only; a database created from the current models by
0001 has none of them, so each is created only when missing."""

from lanbill.models.cabinet import CabinetResetCode, SelectableTariff
from lanbill.models.cards import CardSeries, PaymentCard


def upgrade(db):
    db.create_tables([SelectableTariff, CabinetResetCode, CardSeries, PaymentCard], safe=True)
