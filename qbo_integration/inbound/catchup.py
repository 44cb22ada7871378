"""CDC catch-up: what webhooks missed, found by asking QuickBooks what changed since a stored watermark.

Intuit says webhooks get lost and recommends change-data-capture to catch up (docs/quickbooks/webhooks.md#delivery).
Each run, per company: CDC for Invoice, Payment, SalesReceipt, Estimate, Customer, Item, CreditMemo,
RefundReceipt, and the broker's own Vendor, Bill and BillPayment (docs/quickbooks/beyond.md#the-brokers-own-books)
from the last clean run's watermark minus an overlap, every object stored in the same inbox as webhooks
(source `cdc`, deduplicated by version) and processed by the same handlers. The watermark advances only after a clean
pass. CDC looks back 30 days at most (docs/quickbooks/api.md#change-data-capture); a watermark older than 29 days (a
day's margin, as Invoice Ninja
keeps) re-reads every linked document instead. CDC answers 1,000 objects at most (the oldest,
docs/quickbooks/api.md#change-data-capture): a full page is followed by another request from the newest change seen.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from accounts.models import Account
from orders.models import Order, OrderActivity
from products.models import Product

from ..client.errors import QboError
from ..connection import calls
from ..connection.profile import refresh_profile
from ..documents.apply import Cause
from ..documents.broker_store import active_broker_ids
from ..documents.payments import payment_store
from ..documents.reading import parse_time, payment_invoice_ids
from ..documents.stock import all_quantities_refresh
from ..models import QboCatchUp, QboConnection, QboWebhookEvent
from ..reads import read_many
from .inbox import inbox_process_realm

log = logging.getLogger(__name__)

ENTITIES = (
    "Customer",
    "Item",
    "Estimate",
    "Invoice",
    "CreditMemo",
    "Payment",
    "SalesReceipt",
    "RefundReceipt",
    "Vendor",
    "Bill",
    "BillPayment",
)
OVERLAP = timedelta(minutes=2)
CDC_MAX_AGE = timedelta(days=29)
CDC_PAGE = 1000
MAX_PAGES = 20
FIRST_RUN_LOOKBACK = timedelta(days=1)


class CatchUpError(Exception):
    pass


def catchup_watermark(*, realm_id: str) -> datetime | None:
    """Where the next run starts: the last clean run's watermark (before the overlap is taken off)."""
    clean = QboCatchUp.objects.filter(realm_id=realm_id, error="", watermark__isnull=False)
    last = clean.order_by("-started_at", "-id").first()
    return last.watermark if last else None


def _start_point(conn: QboConnection, now: datetime) -> datetime:
    watermark = catchup_watermark(realm_id=conn.realm_id)
    if watermark is None:  # first run: everything since the company was connected
        watermark = conn.connected_at or now - FIRST_RUN_LOOKBACK
    return watermark - OVERLAP


def _cdc_objects(realm_id: str, since: datetime) -> tuple[dict[str, list[dict]], datetime | None]:
    """Every changed object since `since`, paging past CDC's 1,000-object cap. Returns the objects per
    entity and QuickBooks' own clock at the first answer (the next watermark)."""
    found: dict[str, dict[tuple, dict]] = {entity: {} for entity in ENTITIES}
    server_time, cursor = None, since
    for _ in range(MAX_PAGES):
        response = calls.cdc(list(ENTITIES), cursor, realm_id=realm_id)
        server_time = server_time or parse_time(response.get("time"))
        page = []
        for block in response.get("CDCResponse") or []:
            for group in block.get("QueryResponse") or []:
                for entity in ENTITIES:
                    page += [(entity, obj) for obj in group.get(entity) or []]
        for entity, obj in page:
            found[entity][(str(obj.get("Id")), str(obj.get("SyncToken")), obj.get("status"))] = obj
        if len(page) < CDC_PAGE:
            break
        newest = max(
            (parse_time((obj.get("MetaData") or {}).get("LastUpdatedTime")) for _, obj in page),
            default=None,
            key=lambda t: t or cursor,
        )
        if newest is None or newest <= cursor:
            raise CatchUpError("More than 1,000 changes share one timestamp; run a full catch-up (--full).")
        cursor = newest  # the overlap between pages is deduplicated by version
    else:
        raise CatchUpError(f"More than {MAX_PAGES * CDC_PAGE} changes; run a full catch-up (--full).")
    return {entity: list(objs.values()) for entity, objs in found.items()}, server_time


def _linked_documents(realm_id: str) -> dict[str, list[dict]]:
    """The 30-day fallback: every linked document, read again (one query per 100 ids, 610 = deleted)."""
    orders = Order.objects.linked().exclude(
        Q(status=Order.Status.CANCELLED) & Q(qbo_doc_state__in=["Voided", "Deleted"])
    )
    wanted = {
        "Invoice": orders.filter(qbo_doc_type=Order.DocType.INVOICE).values_list("qbo_doc_id", flat=True),
        "Estimate": orders.filter(qbo_doc_type=Order.DocType.ESTIMATE).values_list("qbo_doc_id", flat=True),
        "SalesReceipt": orders.filter(qbo_doc_type=Order.DocType.SALES_RECEIPT).values_list("qbo_doc_id", flat=True),
        "Customer": Account.objects.exclude(qbo_customer_id__isnull=True)
        .exclude(qbo_customer_id="")
        .values_list("qbo_customer_id", flat=True),
        "Item": Product.objects.exclude(qbo_item_id__isnull=True)
        .exclude(qbo_item_id="")
        .values_list("qbo_item_id", flat=True),
    }
    # The broker's own documents: its commission invoices with the orders' invoices, its bills
    wanted["Invoice"] = [*wanted["Invoice"], *active_broker_ids("Invoice")]
    wanted["Bill"] = active_broker_ids("Bill")
    found: dict[str, list[dict]] = {"Payment": []}
    for entity, ids in wanted.items():
        docs = read_many(entity, sorted(set(ids)), realm_id=realm_id)
        found[entity] = [
            doc if doc is not None else {"Id": doc_id, "status": "Deleted"} for doc_id, doc in docs.items()
        ]
    return found


def _event_for(run: QboCatchUp, entity: str, obj: dict, *, covered: bool) -> QboWebhookEvent:
    deleted = obj.get("status") == "Deleted"
    updated = (obj.get("MetaData") or {}).get("LastUpdatedTime") or ""
    version = f"deleted:{updated}" if deleted else f"{obj.get('SyncToken')}:{updated}"
    # Keyed by version, so the overlap and a webhook-then-CDC pair never apply the same version twice;
    # a full re-read keys by run, so every linked document is looked at again.
    scope = f"run{run.pk}" if run.mode == "full" else "v"
    key = f"cdc:{run.realm_id}:{entity}:{obj.get('Id')}:{scope}:{version}"[:200]
    event = QboWebhookEvent(
        dedupe_key=key,
        source=QboWebhookEvent.Source.CDC,
        realm_id=run.realm_id,
        entity=entity,
        entity_id=str(obj.get("Id"))[:32],
        operation="Delete" if deleted else "Update",
        occurred_at=parse_time(updated),
        raw=obj,
        invoice_ids=payment_invoice_ids(obj) if entity == "Payment" else [],
    )
    if covered:
        event.status, event.processed_at = QboWebhookEvent.Status.IGNORED, timezone.now()
        event.result = "Covered by the invoices read in the same catch-up; nothing else to read."
    return event


def _store(run: QboCatchUp, objects: dict[str, list[dict]]) -> int:
    invoices = {str(obj.get("Id")) for obj in objects.get("Invoice", [])}
    events = []
    for entity in ENTITIES:
        for obj in objects.get(entity, []):
            # A payment whose invoices are all in this catch-up needs no reads: the invoices carry the balance.
            covered = (
                entity == "Payment"
                and obj.get("status") != "Deleted"
                and bool(payment_invoice_ids(obj))
                and set(payment_invoice_ids(obj)) <= invoices
            )
            events.append(_event_for(run, entity, obj, covered=covered))
    existing = set(
        QboWebhookEvent.objects.filter(dedupe_key__in=[e.dedupe_key for e in events]).values_list(
            "dedupe_key", flat=True
        )
    )
    new = [e for e in events if e.dedupe_key not in existing]
    QboWebhookEvent.objects.bulk_create(new, ignore_conflicts=True)
    for event in new:
        if event.entity == "Payment" and event.status == QboWebhookEvent.Status.IGNORED:
            # Covered: its invoices are applied by their own events, and its rows are stored from the object
            # CDC brought (docs/quickbooks/money.md#payments), still without a read.
            payment_store(event.raw, realm_id=run.realm_id)
    return len(new)


def _changes(run: QboCatchUp) -> list[str]:
    """What the run changed, for the Settings card: order activity it wrote, accounts and products it touched."""
    orders = [
        f"{a.order_number}: {a.description}"
        for a in OrderActivity.objects.filter(
            user_name=Cause(source=QboWebhookEvent.Source.CDC).user_name,
            created_at__gte=run.started_at,
        )
        .exclude(activity_type=OrderActivity.Type.STATUS_CHANGED)
        .order_by("id")
    ]
    names = [
        e.result
        for e in QboWebhookEvent.objects.filter(
            source=QboWebhookEvent.Source.CDC,
            realm_id=run.realm_id,
            processed_at__gte=run.started_at,
            entity__in=["Customer", "Item"],
            status=QboWebhookEvent.Status.DONE,
            changed=True,
        ).order_by("id")
    ]
    return [text[:200] for text in orders + names][:50]


def _read_profile(realm_id: str) -> list[str]:
    """Preferences and CompanyInfo are not in CDC: every catch-up reads them again. A failure is logged and the
    documents are caught up all the same; the next run reads the profile."""
    try:
        return refresh_profile(realm_id)[1]
    except QboError as e:
        log.warning("quickbooks catch-up realm=%s could not read the company's settings: %s", realm_id, e.message)
        return [f"The company's settings could not be read ({e.message}); the next catch-up reads them."]


def _read_quantities(realm_id: str) -> list[str]:
    """A sale made in QuickBooks changes an item's quantity without a new version of the item, so CDC does not
    bring it (docs/quickbooks/beyond.md#stock): every catch-up reads the quantities of the products that track
    stock again. A failure is logged; the next run reads them."""
    try:
        changed = all_quantities_refresh(realm_id=realm_id)
    except QboError as e:
        log.warning("quickbooks catch-up realm=%s could not read quantities on hand: %s", realm_id, e.message)
        return [f"Quantities on hand could not be read ({e.message}); the next catch-up reads them."]
    return [f"Quantities on hand changed in QuickBooks for {changed} product(s)."] if changed else []


def catchup_run(*, realm_id: str, full: bool = False) -> QboCatchUp:
    """One catch-up for one company. Never raises for QuickBooks errors: they are recorded on the run."""
    conn = QboConnection.objects.get(realm_id=realm_id)
    now = timezone.now()
    since = _start_point(conn, now)
    mode = "full" if full or since < now - CDC_MAX_AGE else "cdc"
    run = QboCatchUp.objects.create(realm_id=realm_id, changed_since=since, mode=mode)
    profile_changes = _read_profile(realm_id)
    try:
        if mode == "cdc":
            objects, server_time = _cdc_objects(realm_id, since)
        else:
            objects, server_time = _linked_documents(realm_id), None
        stored = _store(run, objects)
        processed = inbox_process_realm(realm_id=realm_id)
    except (QboError, CatchUpError) as e:
        run.error = (getattr(e, "message", "") or str(e))[:500]
        log.warning("quickbooks catch-up realm=%s failed: %s", realm_id, run.error)
    else:
        # QuickBooks' clock when it answered, else ours at the start: the next run starts there (minus overlap).
        run.watermark = server_time or now
        run.found = {entity: len(objects.get(entity, [])) for entity in ENTITIES} | {
            "new_events": stored,
            "processed": processed,
            "changes": profile_changes + _changes(run) + _read_quantities(realm_id),
        }
    run.finished_at = timezone.now()
    run.save()
    return run


def catchup_all(*, full: bool = False) -> list[QboCatchUp]:
    """The scheduled task: every connected company."""
    return [
        catchup_run(realm_id=realm_id, full=full)
        for realm_id in QboConnection.objects.filter(state=QboConnection.State.CONNECTED).values_list(
            "realm_id", flat=True
        )
    ]
