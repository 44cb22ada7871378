"""An invoice changed in QuickBooks: applied to every order linked to it."""

from __future__ import annotations

from orders.models import Order

from .common import paid_document_handler

handle = paid_document_handler("Invoice", Order.DocType.INVOICE)
