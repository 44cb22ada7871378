"""Reconciliation of the broker's own documents (docs/quickbooks/beyond.md#the-brokers-own-books): each order's bill
to the seller or commission invoice compared with QuickBooks — missing (its create never landed), deleted or voided
there while the order still has its invoice, left active though the order is cancelled, an amount that is not the
order's (its total less the commission, or the commission), a balance Kadouri did not hear of (the seller paid).

Read with one query per 100 documents of each kind. Fixes: push Kadouri's (the broker document's job, made again
at a person's request: it creates, updates or removes what is needed) or take QuickBooks' values (the document as
QuickBooks has it, stored on the row).
"""

from __future__ import annotations

from django.db.models import Q

from kadouri.display import money as display_money
from orders.models import Order

from .client.errors import QboNotFoundError
from .connection import calls
from .documents.broker import broker_amount, wanted
from .documents.broker_store import broker_apply
from .documents.reading import money
from .models import BrokerDocument, QboSyncJob
from .outbox.broker import broker_sync_enqueue
from .reads import read_many
from .reconcile_money import Drift

BROKER_FIELD = "broker document"
State = BrokerDocument.State
JobState = QboSyncJob.State

# order id -> (its broker document, QuickBooks' version of it: None when QuickBooks no longer has it)
Broker = dict[int, tuple[BrokerDocument, dict | None]]


def _latest_rows(orders: list[Order], realm_id: str) -> dict[int, BrokerDocument]:
    """Each order's broker document (its active one first), in one query."""
    rows: dict[int, BrokerDocument] = {}
    found = BrokerDocument.objects.filter(realm_id=realm_id, order__in=[o.pk for o in orders]).order_by("pk")
    for row in found:
        kept = rows.get(row.order_id)
        if kept is None or kept.state != State.ACTIVE or row.state == State.ACTIVE:
            rows[row.order_id] = row
    return rows


def broker_read(orders: list[Order], realm_id: str) -> Broker:
    rows = _latest_rows(orders, realm_id)
    docs: dict[tuple[str, str], dict | None] = {}
    for entity in ("Bill", "Invoice"):
        ids = [r.qbo_id for r in rows.values() if r.entity == entity and r.qbo_id and r.state == State.ACTIVE]
        if ids:
            docs |= {(entity, i): d for i, d in read_many(entity, ids, realm_id=realm_id).items()}
    return {order_id: (row, docs.get((row.entity, row.qbo_id))) for order_id, row in rows.items()}


def _failed_without_row(orders: list[Order], broker: Broker) -> set[int]:
    """Orders whose broker document's last job failed before any document was recorded: it is missing."""
    ids = [o.pk for o in orders if o.pk not in broker]
    jobs = QboSyncJob.objects.filter(order_id__in=ids, action=QboSyncJob.Action.SYNC_BROKER_DOCUMENT)
    latest: dict[int, str] = {}
    for order_id, state in jobs.order_by("pk").values_list("order_id", "state"):
        latest[order_id] = state
    return {order_id for order_id, state in latest.items() if state == JobState.FAILED}


def _busy(order: Order) -> bool:
    return order.qbo_jobs.filter(
        action=QboSyncJob.Action.SYNC_BROKER_DOCUMENT, state__in=[JobState.PENDING, JobState.RUNNING]
    ).exists()


def _row_drift(order: Order, row: BrokerDocument, doc: dict | None) -> list[Drift]:
    what = "bill to the seller" if row.kind == BrokerDocument.Kind.SELLER_BILL else "commission invoice"
    expected = broker_amount(order, row.kind)
    if row.state != State.ACTIVE:
        if wanted(order):
            return [Drift(BROKER_FIELD, f"{what} of {display_money(expected, order)}", f"{row.get_state_display()}")]
        return []
    if not row.qbo_id:
        return [] if _busy(order) else [Drift(BROKER_FIELD, f"{what} of {display_money(expected, order)}", "Missing")]
    if doc is None:
        return [Drift(BROKER_FIELD, f"{what} #{row.doc_number or row.qbo_id}", "Deleted")] if wanted(order) else []
    total, balance = money(doc.get("TotalAmt")), money(doc.get("Balance"))
    if not wanted(order):  # one the seller was paid on is kept on purpose: the order says so
        kept = total is not None and balance is not None and balance < total
        shown = f"{what} #{row.doc_number or row.qbo_id} open"
        return [] if kept else [Drift(BROKER_FIELD, "Removed with the order's invoice", shown)]
    drift = []
    if total != expected:
        drift.append(Drift(f"{BROKER_FIELD} amount", display_money(expected, order), display_money(total, order)))
    if balance != row.balance:
        drift.append(Drift(f"{BROKER_FIELD} balance", display_money(row.balance, order), display_money(balance, order)))
    return drift


def broker_drift(order: Order, broker: Broker, failed: set[int]) -> list[Drift]:
    if order.pk in broker:
        return _row_drift(order, *broker[order.pk])
    if order.pk in failed and wanted(order):
        return [Drift(BROKER_FIELD, "A bill or commission invoice", "Missing (its job failed)")]
    return []


def broker_drifts(orders: list[Order], realm_id: str, *, keeps_books: bool) -> dict[int, list[Drift]]:
    """Order id -> its broker document's drift (only orders with some). `keeps_books`: the company keeps the
    broker's books now (else an order without a document has none missing)."""
    broker = broker_read(orders, realm_id)
    failed = _failed_without_row(orders, broker) if keeps_books else set()
    drifts = {order.pk: broker_drift(order, broker, failed) for order in orders}
    return {order_id: drift for order_id, drift in drifts.items() if drift}


def broker_drifted(fields: set[str]) -> bool:
    return any(name.startswith(BROKER_FIELD) for name in fields)


def broker_push_kadouri(order: Order, by=None) -> str:
    """Kadouri's broker document is the truth: its job, made again (it creates, updates or removes)."""
    job = broker_sync_enqueue(order, by=by, again=True)
    if job is None:
        return "Could not push the broker document: QuickBooks is not connected."
    return f"Pushed Kadouri's broker document (sync job {job.pk})."


def broker_take_quickbooks(order: Order) -> str:
    """QuickBooks' version of the order's broker document stored on its row ("" when it has none)."""
    row = (
        BrokerDocument.objects.filter(order=order)
        .exclude(qbo_id="")
        .filter(Q(state=State.ACTIVE) | Q(entity="Invoice"))
        .order_by("-pk")
        .first()
    )
    if row is None:
        return ""
    try:
        doc = calls.read(row.entity, row.qbo_id, realm_id=row.realm_id)
    except QboNotFoundError:
        doc = None
    return broker_apply(row.pk, doc, source="manual", force=True).text
