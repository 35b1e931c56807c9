"""Code run in other processes by the document tests (spawned: a clean
interpreter with its own database connection)."""

from __future__ import annotations


def issue_invoices(database_url: str, data_key: str, instance_path: str, agreement_id: int, count: int,
                   start) -> list[int]:
    """Wait for `start`, then issue `count` invoices; the numbers taken."""
    from lanbill.db import bind_database, configure_encryption, database
    from lanbill.documents.issue import issue_document

    bind_database(database_url)
    configure_encryption(data_key)
    database.connect()
    start.wait(30)
    numbers = []
    for _ in range(count):
        document, _ = issue_document(agreement_id, "invoice", actor="test", instance_path=instance_path,
                                     amount="1.00", store=False)
        numbers.append(document.seq)
    database.close()
    return numbers
