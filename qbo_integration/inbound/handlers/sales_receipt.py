"""A sales receipt changed in QuickBooks: applied to the cash-sale order that follows it — voided or deleted cancels
the order, changed amounts are followed, Kadouri's own write coming back changes nothing
(docs/quickbooks/money.md#cash-sales)."""

from __future__ import annotations

from orders.models import Order

from ...documents.apply import Outcome, receipt_apply
from ...models import QboWebhookEvent
from .common import Ignored, event_cause, fetch


def handle(event: QboWebhookEvent, fresh: bool) -> Outcome:
    orders = list(Order.objects.linked_to(Order.DocType.SALES_RECEIPT, [event.entity_id]).order_by("pk"))
    if not orders:
        raise Ignored(f"Sales receipt {event.entity_id} is not linked to any Kadouri order; nothing was changed.")
    receipt = fetch(event, "SalesReceipt", event.entity_id, fresh=fresh)
    cause = event_cause(event)
    results = [
        receipt_apply(
            order_id=o.pk, doc_id=event.entity_id, receipt=receipt, cause=cause, void_hint=event.operation == "Void"
        )
        for o in orders
    ]
    return Outcome(any(r.changed for r in results), " ".join(r.text for r in results))
