"""One handler per QuickBooks entity Kadouri follows, each `handle(event, reads) -> Outcome`.

A webhook is a doorbell: a handler takes the entity as QuickBooks has it — from the read its batch of events made
at once (`reads`, inbound/prefetch.py), from the full object a CDC catch-up already fetched, or, when neither holds
it, from a read of its own — and applies it. It raises `Ignored` when nothing in Kadouri is concerned. An entity
missing from `HANDLERS` is stored as ignored by the intake and never processed.
"""

from __future__ import annotations

from collections.abc import Callable

from ...documents.apply import Outcome
from ...models import QboWebhookEvent
from ..prefetch import Reads
from . import (
    broker,
    company,
    credit_memo,
    customer,
    estimate,
    invoice,
    item,
    payment,
    refund_receipt,
    sales_receipt,
)
from .common import Ignored

Handler = Callable[[QboWebhookEvent, Reads], Outcome]

HANDLERS: dict[str, Handler] = {
    "Invoice": invoice.handle,
    "Payment": payment.handle,
    "CreditMemo": credit_memo.handle,
    "RefundReceipt": refund_receipt.handle,
    "Estimate": estimate.handle,
    "SalesReceipt": sales_receipt.handle,
    "Customer": customer.handle,
    "Item": item.handle,
    "Preferences": company.handle,
    "CompanyInfo": company.handle,
    # the broker's own books (docs/quickbooks/beyond.md#the-brokers-own-books)
    "Bill": broker.handle_bill,
    "BillPayment": broker.handle_bill_payment,
    "Vendor": broker.handle_vendor,
}

__all__ = ["HANDLERS", "Handler", "Ignored", "Reads"]
