"""Quantities on hand as QuickBooks has them, stored on the products that track stock
(docs/quickbooks/beyond.md#stock). QuickBooks keeps the quantity; Kadouri keeps what it last read and when.

A sale made in QuickBooks changes an item's quantity without a new version of the item, and Intuit documents no
webhook for it: Kadouri reads quantities again itself — after each of its own writes that move stock, when a
document of an order changes in QuickBooks, at every catch-up and every reconciliation — many items in one query
(`select * from Item where Id in (...)`, 100 ids a query), never one read per item.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db.models import Q
from django.utils import timezone

from orders.models import Order
from products.models import Product

from ..client.errors import QboError
from ..connection import calls
from ..reads import in_queries

log = logging.getLogger(__name__)
QUANTITY = Decimal("0.001")  # Product.qbo_qty_on_hand keeps 3 decimals


def item_quantity(item: dict) -> Decimal | None:
    """An Inventory item's quantity on hand; None for an item that does not track one."""
    if item.get("TrackQtyOnHand") is not True:
        return None
    try:
        quantity = Decimal(str(item.get("QtyOnHand") or 0))
    except InvalidOperation:
        return None
    return quantity.quantize(QUANTITY) if quantity.is_finite() else None


def quantity_store(item: dict, read_at: datetime) -> list[tuple[Product, Decimal | None]]:
    """Store the item's quantity on the products linked to it, unless a later read is stored already. Returns the
    products whose stored quantity changed, each with the quantity it had."""
    quantity = item_quantity(item)
    if quantity is None or not item.get("Id"):
        return []
    newer_or_equal = Q(qbo_qty_read_at__isnull=True) | Q(qbo_qty_read_at__lte=read_at)
    linked = Product.objects.filter(newer_or_equal, qbo_item_id=str(item["Id"]))
    changed = [(p, p.qbo_qty_on_hand) for p in linked.exclude(qbo_qty_on_hand=quantity)]
    linked.update(qbo_qty_on_hand=quantity, qbo_qty_read_at=read_at)
    return changed


def quantities_refresh(item_ids: Iterable[str], *, realm_id: str | None = None) -> int:
    """Read the items' quantities again (one query per 100 ids) and store them; returns how many products'
    quantities changed. QboError when QuickBooks could not be read."""
    ids = sorted({str(i) for i in item_ids if i})
    read_at = timezone.now()  # before the query: a sale made after it is newer than this read
    changed = 0
    for sql in in_queries("Item", "Id", ids):
        for item in calls.query(sql, realm_id=realm_id).get("Item", []):
            changed += len(quantity_store(item, read_at))
    return changed


def quantities_refresh_quietly(item_ids: Iterable[str], *, realm_id: str | None = None, after: str) -> None:
    """The same, where the work it follows is done already (a document written, an event applied): a failure is
    logged and left to the next catch-up, which reads every quantity again; the pages say how old a quantity is."""
    ids = list(item_ids)
    if not ids:
        return
    try:
        quantities_refresh(ids, realm_id=realm_id)
    except QboError as e:
        log.warning("quickbooks stock: quantities not read again after %s: %s", after, e.message)


def tracked_products() -> Iterable[Product]:
    return Product.objects.filter(tracks_inventory=True).exclude(qbo_item_id__isnull=True).exclude(qbo_item_id="")


def order_item_ids(orders: Iterable[Order]) -> list[str]:
    """The Inventory items on the orders' lines."""
    order_ids = [order.pk for order in orders]
    return list(tracked_products().filter(order_lines__order_id__in=order_ids).values_list("qbo_item_id", flat=True))


def document_item_ids(doc: dict | None) -> list[str]:
    """The items on a QuickBooks document's lines (which of them track stock, the query answers)."""
    ids = []
    for line in (doc or {}).get("Line") or []:
        ref = (line.get("SalesItemLineDetail") or {}).get("ItemRef") if isinstance(line, dict) else None
        if isinstance(ref, dict) and ref.get("value"):
            ids.append(str(ref["value"]))
    return ids


def tracked_item_ids(item_ids: Iterable[str]) -> list[str]:
    """Those of `item_ids` that are Inventory items of products tracking stock."""
    wanted = {str(i) for i in item_ids if i}
    if not wanted:
        return []
    return list(tracked_products().filter(qbo_item_id__in=wanted).values_list("qbo_item_id", flat=True))


def all_quantities_refresh(*, realm_id: str) -> int:
    """Every product that tracks stock, read again (the catch-up and reconciliation). QboError when QuickBooks
    could not be read."""
    return quantities_refresh(tracked_products().values_list("qbo_item_id", flat=True), realm_id=realm_id)
