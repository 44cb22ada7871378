"""What every entity handler shares: the "nothing to do" outcome, the cause it records, the read it makes, and the
handler of a document an order is paid by (an invoice, a cash sale's sales receipt)."""

from __future__ import annotations

from orders.models import Order

from ...documents.apply import Cause, Outcome, paid_document_apply
from ...documents.stock import document_item_ids, order_item_ids, quantities_refresh_quietly, tracked_item_ids
from ...documents.store import label_of
from ...models import QboWebhookEvent
from ...outbox.broker import broker_follow
from ..prefetch import Reads


class Ignored(Exception):
    """Nothing in Kadouri is concerned; the event is marked `ignored` with this reason."""


def event_cause(event: QboWebhookEvent, **extra) -> Cause:
    return Cause(source=event.source, event_id=event.pk, operation=event.operation, **extra)


def fetch(event: QboWebhookEvent, entity: str, entity_id: str, reads: Reads) -> dict | None:
    """The entity as QuickBooks has it now; None when it no longer exists (610). A CDC event already carries the
    full object (deleted ones as {"Id", "status": "Deleted"}), so it costs no read; otherwise the object comes from
    the batch's read when it holds it (`inbound/prefetch.py`), else from a read of its own."""
    if (
        event.source == QboWebhookEvent.Source.CDC
        and not reads.fresh
        and event.entity == entity
        and event.entity_id == entity_id
        and event.raw.get("Id")
    ):
        return None if event.raw.get("status") == "Deleted" else event.raw
    return reads.one(entity, entity_id)


def invoice_orders(ids) -> list[Order]:
    return list(Order.objects.linked_to(Order.DocType.INVOICE, ids).order_by("pk"))


def paid_document_handler(entity: str, doc_type: str):
    """The handler of a document an order is paid by: applied to every order linked to it — voided or deleted
    cancels the order, changed amounts are followed, Kadouri's own write coming back changes nothing
    (docs/quickbooks/money.md#cash-sales)."""

    def handle(event: QboWebhookEvent, reads: Reads) -> Outcome:
        orders = list(Order.objects.linked_to(doc_type, [event.entity_id]).order_by("pk"))
        if not orders:
            raise Ignored(
                f"{label_of(entity).capitalize()} {event.entity_id} is not linked to any Kadouri order; "
                "nothing was changed."
            )
        doc = fetch(event, entity, event.entity_id, reads)
        cause = event_cause(event)
        void_hint = event.operation == "Void"
        results = [
            paid_document_apply(
                entity, order_id=o.pk, doc_id=event.entity_id, doc=doc, cause=cause, void_hint=void_hint
            )
            for o in orders
        ]
        # Its lines may have moved stock in QuickBooks (voided there, quantities changed there): read them again.
        items = order_item_ids(orders) + tracked_item_ids(document_item_ids(doc))
        quantities_refresh_quietly(items, realm_id=event.realm_id, after=f"{entity} {event.entity_id} changed")
        for order in orders:  # cancelled in QuickBooks: its broker document follows (docs/quickbooks/beyond.md)
            broker_follow(order)
        return Outcome(any(r.changed for r in results), " ".join(r.text for r in results))

    return handle
