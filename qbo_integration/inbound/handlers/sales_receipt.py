"""A sales receipt changed in QuickBooks: applied to the cash-sale order that follows it like an invoice
(docs/quickbooks/money.md#cash-sales)."""

from __future__ import annotations

from orders.models import Order

from .common import paid_document_handler

handle = paid_document_handler("SalesReceipt", Order.DocType.SALES_RECEIPT)
