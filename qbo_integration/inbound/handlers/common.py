"""What every entity handler shares: the "nothing to do" outcome, the cause it records, the read it makes."""

from __future__ import annotations

from orders.models import Order

from ...client.errors import QboNotFoundError
from ...connection import calls
from ...documents.apply import Cause
from ...models import QboWebhookEvent


class Ignored(Exception):
    """Nothing in Kadouri is concerned; the event is marked `ignored` with this reason."""


def event_cause(event: QboWebhookEvent, **extra) -> Cause:
    return Cause(source=event.source, event_id=event.pk, operation=event.operation, **extra)


def fetch(event: QboWebhookEvent, entity: str, entity_id: str, *, fresh: bool) -> dict | None:
    """The entity as QuickBooks has it now; None when it no longer exists (610). A CDC event already
    carries the full object (deleted ones as {"Id", "status": "Deleted"}), so it costs no read."""
    if (
        event.source == QboWebhookEvent.Source.CDC
        and not fresh
        and event.entity == entity
        and event.entity_id == entity_id
        and event.raw.get("Id")
    ):
        return None if event.raw.get("status") == "Deleted" else event.raw
    try:
        return calls.read(entity, entity_id, realm_id=event.realm_id)
    except QboNotFoundError:
        return None


def invoice_orders(ids) -> list[Order]:
    return list(Order.objects.linked_to(Order.DocType.INVOICE, ids).order_by("pk"))
