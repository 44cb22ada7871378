"""One handler per QuickBooks entity Kadouri follows, each `handle(event, fresh) -> Outcome`.

A webhook is a doorbell: a handler reads the entity from QuickBooks (or uses the full object a CDC catch-up
already fetched) and applies it. It raises `Ignored` when nothing in Kadouri is concerned. An entity missing
from `HANDLERS` is stored as ignored by the intake and never processed.
"""

from __future__ import annotations

from collections.abc import Callable

from ...documents.apply import Outcome
from ...models import QboWebhookEvent
from . import company, customer, estimate, invoice, item, payment, sales_receipt
from .common import Ignored

Handler = Callable[[QboWebhookEvent, bool], Outcome]

HANDLERS: dict[str, Handler] = {
    "Invoice": invoice.handle,
    "Payment": payment.handle,
    "Estimate": estimate.handle,
    "SalesReceipt": sales_receipt.handle,
    "Customer": customer.handle,
    "Item": item.handle,
    "Preferences": company.handle,
    "CompanyInfo": company.handle,
}

__all__ = ["HANDLERS", "Handler", "Ignored"]
