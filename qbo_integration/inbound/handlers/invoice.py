"""An invoice changed in QuickBooks: applied to every order linked to it."""

from __future__ import annotations

from ...documents.apply import Outcome, invoice_apply
from ...models import QboWebhookEvent
from .common import Ignored, event_cause, fetch, invoice_orders


def handle(event: QboWebhookEvent, fresh: bool) -> Outcome:
    orders = invoice_orders([event.entity_id])
    if not orders:
        raise Ignored(f"Invoice {event.entity_id} is not linked to any Kadouri order; nothing was changed.")
    invoice = fetch(event, "Invoice", event.entity_id, fresh=fresh)
    cause = event_cause(event)
    results = [
        invoice_apply(
            order_id=o.pk, doc_id=event.entity_id, invoice=invoice, cause=cause, void_hint=event.operation == "Void"
        )
        for o in orders
    ]
    return Outcome(any(r.changed for r in results), " ".join(r.text for r in results))
