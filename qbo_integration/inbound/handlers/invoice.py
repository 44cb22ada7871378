"""An invoice changed in QuickBooks: applied to every order linked to it — or, when it is a seller's commission
invoice (docs/quickbooks/beyond.md#the-brokers-own-books), to that broker document."""

from __future__ import annotations

from orders.models import Order

from ...documents.apply import Outcome
from ...models import QboWebhookEvent
from ..prefetch import Reads
from .broker import commission_invoice
from .common import paid_document_handler

_order_invoice = paid_document_handler("Invoice", Order.DocType.INVOICE)


def handle(event: QboWebhookEvent, reads: Reads) -> Outcome:
    return commission_invoice(event, reads) or _order_invoice(event, reads)
