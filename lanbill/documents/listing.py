"""Which documents a subscriber sees in the cabinet (DESIGN §10: «invoices
and acts to download»): every document of the subscriber's own
agreements, cancelled ones marked as such, newest first."""

from __future__ import annotations

from lanbill.errors import N_, NotFound
from lanbill.models import Agreement, Document, Subscriber


def own_documents(subscriber: Subscriber, limit: int = 500) -> list[Document]:
    own = Agreement.select(Agreement.id).where(Agreement.subscriber == subscriber.id)
    return list(Document.select(Document, Agreement).join(Agreement).where(Document.agreement.in_(own))
                .order_by(Document.date.desc(), Document.id.desc()).limit(limit))


def own_document(subscriber: Subscriber, document_id) -> Document:
    """The subscriber's own document; anyone else's is "not found"."""
    try:
        document_id = int(document_id)
    except (TypeError, ValueError):
        raise NotFound(N_("Document not found.")) from None
    document = (Document.select(Document).join(Agreement)
                .where((Document.id == document_id) & (Agreement.subscriber == subscriber.id)).first())
    if document is None:
        raise NotFound(N_("Document not found."))
    return document
