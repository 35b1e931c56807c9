"""Uploaded payment registries and their rows; the operators' fiscal
settings and the 54-FZ receipt outbox.

A database created from the current models by 0001 has all of this
already; each step checks before it changes anything."""

from lanbill.models.receipts import FiscalReceipt, FiscalSettings
from lanbill.models.registries import RegistryImport, RegistryRow


def upgrade(db):
    db.create_tables([RegistryImport, RegistryRow, FiscalSettings, FiscalReceipt], safe=True)
