"""An estimate changed in QuickBooks (edited, voided, deleted, or converted to an invoice there)."""

from __future__ import annotations

from orders.models import Order

from ...documents.apply import Outcome, converting_invoice, estimate_apply
from ...models import QboWebhookEvent
from ...outbox.broker import broker_follow
from ..prefetch import Reads
from .common import Ignored, event_cause, fetch


def handle(event: QboWebhookEvent, reads: Reads) -> Outcome:
    orders = list(Order.objects.linked_to(Order.DocType.ESTIMATE, [event.entity_id]))
    if not orders:
        raise Ignored(f"Estimate {event.entity_id} is not linked to any Kadouri order; nothing was changed.")
    estimate = fetch(event, "Estimate", event.entity_id, reads)
    invoice = converting_invoice(estimate, realm_id=event.realm_id)
    cause = event_cause(event)
    results = [
        estimate_apply(order_id=o.pk, doc_id=event.entity_id, estimate=estimate, cause=cause, invoice=invoice)
        for o in orders
    ]
    for order in orders:  # converted in QuickBooks: the new invoice's broker document (docs/quickbooks/beyond.md)
        broker_follow(order)
    return Outcome.of(results)
