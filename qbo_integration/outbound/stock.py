"""After Kadouri writes a document that moves stock — an invoice or a cash sale created, updated, voided or
converted from an estimate, a credit memo of returned goods — the quantities of its Inventory items are read again
in one query and stored (docs/quickbooks/beyond.md#stock): the order page's lines show QuickBooks' new quantity by
themselves, without waiting for a webhook QuickBooks does not send for a sale."""

from __future__ import annotations

from orders.models import Order

from ..documents.stock import order_item_ids, quantities_refresh_quietly, tracked_item_ids
from ..models import QboSyncJob

Action = QboSyncJob.Action
MOVES_STOCK = {
    Action.CREATE_INVOICE,
    Action.CREATE_SALES_RECEIPT,
    Action.UPDATE_DOCUMENT,
    Action.VOID_DOCUMENT,
    Action.CONVERT_ESTIMATE,
    Action.ISSUE_CREDIT,
}
ITEMS_BEFORE = "itemsBefore"  # a job's result: the items of the document as it was before an update


def quantities_after_job(job: QboSyncJob, result: dict) -> None:
    """The quantities of the order's Inventory items (and of those an update took off the document) read again."""
    if job.action not in MOVES_STOCK or job.order_id is None:
        return
    order = Order.objects.filter(pk=job.order_id).first()
    if order is None or order.qbo_doc_type == Order.DocType.ESTIMATE:
        return  # an estimate moves no stock
    ids = order_item_ids([order]) + tracked_item_ids((result or {}).get(ITEMS_BEFORE) or [])
    quantities_refresh_quietly(ids, realm_id=job.realm_id, after=f"job {job.pk} ({job.action})")


def quantities_after_push(orders: list[Order], *, realm_id: str | None = None) -> None:
    """After a bulk push: the Inventory items of every order it sent, in as few queries as they need."""
    documents = [order for order in orders if order.qbo_doc_type != Order.DocType.ESTIMATE]
    quantities_refresh_quietly(order_item_ids(documents), realm_id=realm_id, after="a bulk push")
