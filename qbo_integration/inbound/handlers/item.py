"""An item changed in QuickBooks: the linked product follows it, unless Kadouri edited the product since its
last push (then a conflict is recorded for an operator); gone or inactive there, the product's link is cleared. An
Inventory item's quantity on hand is stored whatever its version: a sale changes it without a new one
(docs/quickbooks/beyond.md#stock)."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from kadouri.display import plain
from kadouri.text import clean_inbound_line
from products.models import Product

from ...documents.apply import Outcome
from ...documents.reading import Version, money
from ...documents.stock import item_quantity, quantity_store
from ...mapping import product_edited_since_push, product_fingerprint
from ...models import QboWebhookEvent, SyncConflict
from ...refs.accounts import income_account_id
from ..prefetch import Reads
from .common import Ignored, fetch


def _conflict(product: Product, field: str, kadouri_value, quickbooks_value) -> str:
    values = {"kadouri_value": str(kadouri_value)[:500], "quickbooks_value": str(quickbooks_value)[:500]}
    conflict, created = SyncConflict.objects.get_or_create(
        object_type="product", object_id=product.pk, field=field, state=SyncConflict.State.OPEN, defaults=values
    )
    if not created:
        SyncConflict.objects.filter(pk=conflict.pk).update(**values)
    return f"{field}: Kadouri “{kadouri_value}” vs QuickBooks “{quickbooks_value}”"


def _clear_item(product: Product, why: str) -> Outcome:
    """Gone or inactive in QuickBooks: the id is cleared (the spec), and the product is made inactive so it is
    not put on new orders, whose invoices QuickBooks would refuse."""
    old = product.qbo_item_id
    product.qbo_item_id, product.qbo_sync_token, product.qbo_fingerprint = None, "", ""
    product.active = False
    product.save(update_fields=["qbo_item_id", "qbo_sync_token", "qbo_fingerprint", "active", "updated_at"])
    return Outcome(
        True, f"Product “{product.name}”: QuickBooks item id {old} cleared and the product made inactive ({why})."
    )


def _apply_item(product: Product, item: dict, income: str) -> Outcome:
    version = Version.of(item)
    if version.compare(product.qbo_sync_token, None) <= 0:
        return Outcome(
            False, f"Product “{product.name}”: item SyncToken {version.sync_token} already known; nothing changed."
        )
    name = clean_inbound_line(item.get("Name"))[:100] or product.name
    price = money(item.get("UnitPrice"))
    price = product.unit_price if price is None else price
    pairs = (("name", product.name, name), ("unit_price", product.unit_price, price))
    differs = [(f, k, q) for f, k, q in pairs if k != q]
    if differs and product_edited_since_push(product, income_account_id=income):
        listed = "; ".join(_conflict(product, f, k, q) for f, k, q in differs)
        return Outcome(
            True, f"Product “{product.name}” was edited in Kadouri since its last push: conflict recorded ({listed})."
        )
    if name != product.name and Product.objects.filter(name=name).exclude(pk=product.pk).exists():
        recorded = _conflict(product, "name", product.name, name)
        return Outcome(
            True, f"Product “{product.name}”: conflict recorded ({recorded}; another product already has that name)."
        )
    changes = [f"{f} {k} → {q}" for f, k, q in differs]
    product.name, product.unit_price = name, price
    product.qbo_sync_token = str(version.sync_token if version.sync_token is not None else product.qbo_sync_token)
    product.qbo_fingerprint = product_fingerprint(product, income_account_id=income)
    try:
        with transaction.atomic():
            product.save(update_fields=["name", "unit_price", "qbo_sync_token", "qbo_fingerprint", "updated_at"])
    except IntegrityError:
        return Outcome(False, f"Product {product.pk}: the QuickBooks name “{name}” is already used; nothing changed.")
    if changes:
        return Outcome(True, f"Product “{product.name}” follows QuickBooks: {', '.join(changes)}.")
    return Outcome(False, f"Product “{product.name}”: up to date (SyncToken {version.sync_token}).")


def _read_time(event: QboWebhookEvent, fresh: bool) -> datetime:
    """When the item was read: a catch-up's object when it was stored (CDC brought it), else now."""
    carried = event.source == QboWebhookEvent.Source.CDC and not fresh and event.raw.get("Id")
    return event.received_at if carried and event.received_at else timezone.now()


def _store_quantity(item: dict | None, read_at: datetime) -> list[Outcome]:
    if item is None or item_quantity(item) is None:
        return []
    now = item_quantity(item)
    return [
        Outcome(True, f"Product “{p.name}”: quantity on hand in QuickBooks {plain(before)} → {plain(now)}.")
        for p, before in quantity_store(item, read_at)
    ]


def handle(event: QboWebhookEvent, reads: Reads) -> Outcome:
    products = list(Product.objects.filter(qbo_item_id=event.entity_id))
    if not products:
        raise Ignored(f"Item {event.entity_id} is not linked to any Kadouri product; nothing was changed.")
    read_at = _read_time(event, reads.fresh)
    item = fetch(event, "Item", event.entity_id, reads)
    quantities = _store_quantity(item, read_at)
    active = item is not None and item.get("Active") is not False
    income = income_account_id() if active else ""  # HTTP: not under the locks
    texts = []
    with transaction.atomic():
        for product in Product.objects.select_for_update().filter(pk__in=[p.pk for p in products]):
            if item is None:
                texts.append(_clear_item(product, "deleted in QuickBooks"))
            elif item.get("Active") is False:
                texts.append(_clear_item(product, "made inactive in QuickBooks"))
            else:
                texts.append(_apply_item(product, item, income))
    return Outcome.of(quantities + texts)
