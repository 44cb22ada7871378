"""Quantity on hand (docs/quickbooks/beyond.md#stock): what Inventory items need, and how sales forms move their
``QtyOnHand``. Invoices and sales receipts lower it, credit memos and refund receipts raise it; a change of a
document moves it by the difference, and a void or a delete gives it back. Negative quantities are allowed.

A sale changes the item's quantity, not the item: no new SyncToken, no Item webhook, no CDC entry (see the README's
Decisions). Only a change of the item itself (a bookkeeper's adjustment, an update through the API) is a new
version with its webhook.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ..errors import QboFault, business, required
from ..ledger import Ledger
from ..values import Obj, ref_value, to_bool, to_date, to_decimal
from .preferences import tracks_inventory

# How a line's quantity moves its item's stock, per sales form; an estimate moves nothing.
SIGN = {"Invoice": -1, "SalesReceipt": -1, "CreditMemo": 1, "RefundReceipt": 1}
# Forms whose inventory lines must say how many (docs/quickbooks/beyond.md#stock: 6520 is documented for invoices;
# a credit or refund line without a quantity is money only, see the README's Decisions).
QTY_REQUIRED = ("Invoice", "SalesReceipt")


def check_tracking(books: Ledger, old: Obj | None) -> None:
    """A new Inventory item needs the company to track quantities (QuickBooks Plus and Advanced)."""
    if old is None and not tracks_inventory(books):
        raise business(
            "When you create an item, if Track quantity on hand is turned off, the item cannot be of type Inventory."
        )


def inventory_fields(books: Ledger, obj: Obj, old: Obj | None) -> None:
    """An Inventory item's accounts, start date and quantity, checked as QuickBooks does on create; an update keeps
    the start date (a date sent with a new quantity dates the adjustment and is not stored)."""
    if "IncomeAccountRef" not in obj:
        raise required("IncomeAccountRef")
    if "AssetAccountRef" not in obj:
        raise QboFault(
            400,
            "2020",
            "Required Param Missing",
            "Required parameter is missing in the request. An inventory assetaccount is required if you are "
            "tracking inventory quantities for this product.",
            "AssetAccountRef",
        )
    if "ExpenseAccountRef" not in obj:
        raise required("ExpenseAccountRef")
    if not to_bool(obj.get("TrackQtyOnHand"), "TrackQtyOnHand", True):
        raise business("An Inventory item tracks its quantity on hand: TrackQtyOnHand can't be false.")
    obj["TrackQtyOnHand"] = True
    obj["InvStartDate"] = _start_date(obj, old)
    quantity = to_decimal(obj.get("QtyOnHand"), "QtyOnHand")
    if quantity is None:
        if old is None:
            raise required("QtyOnHand")
        quantity = old["QtyOnHand"]
    obj["QtyOnHand"] = quantity


def _start_date(obj: Obj, old: Obj | None) -> str:
    if old is not None:
        return old["InvStartDate"]
    start: date | None = to_date(obj.get("InvStartDate"), "InvStartDate")
    if start is None:
        raise business("As of date for initial quantity on hand is required", "InvStartDate")
    return start.isoformat()


def tracked_item(books: Ledger, item_id: str | None) -> Obj | None:
    item = books.table("Item").get(item_id or "")
    return item if item is not None and item.get("TrackQtyOnHand") is True else None


def require_quantities(books: Ledger, entity: str, lines: list[Obj]) -> None:
    """An invoice or sales receipt line of an Inventory item must say how many (6520)."""
    if entity not in QTY_REQUIRED:
        return
    for line in lines:
        detail = line.get("SalesItemLineDetail")
        if isinstance(detail, dict) and "Qty" not in detail and tracked_item(books, ref_value(detail, "ItemRef")):
            raise QboFault(
                400, "6520", "Missing Inventory Item Quantity", "Quantity required for inventory item", "Line.Qty"
            )


def stock_moves(books: Ledger, entity: str, obj: Obj | None) -> dict[str, Decimal]:
    """What ``obj`` does to each tracked item's quantity on hand. A refund receipt that pays out a credit memo moves
    nothing: the memo took the goods back already."""
    sign = SIGN.get(entity)
    if obj is None or sign is None or (entity == "RefundReceipt" and obj.get("LinkedTxn")):
        return {}
    moves: dict[str, Decimal] = {}
    for line in obj.get("Line", []):
        detail = line.get("SalesItemLineDetail")
        item_id = ref_value(detail, "ItemRef") if isinstance(detail, dict) else None
        quantity = to_decimal(detail.get("Qty"), "Qty") if isinstance(detail, dict) else None
        if quantity and tracked_item(books, item_id):
            moves[item_id] = moves.get(item_id, Decimal(0)) + sign * quantity
    return moves


def move_stock(books: Ledger, entity: str, old: Obj | None, new: Obj | None) -> None:
    """Apply the difference between the old and new version of a document to its items' quantities."""
    before, after = stock_moves(books, entity, old), stock_moves(books, entity, new)
    for item_id in sorted(before.keys() | after.keys()):
        change = after.get(item_id, Decimal(0)) - before.get(item_id, Decimal(0))
        item = books.table("Item").get(item_id)
        if change and item is not None:
            item["QtyOnHand"] = item.get("QtyOnHand", Decimal(0)) + change
