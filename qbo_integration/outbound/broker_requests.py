"""A person asks for an order's broker document (docs/quickbooks/beyond.md#the-brokers-own-books): the order card's
"Send to QuickBooks again" and `POST /api/quickbooks/sync/order/<id>/broker-document`. Refused first, in plain
words, when nothing may be sent (409: not invoiced, commission kept in Kadouri, nothing owed; 422: a foreign
currency, no expense account chosen); otherwise the job (joined while one is queued) and its one attempt."""

from __future__ import annotations

from orders.models import Order

from ..connection.vault import usable_connection
from ..documents.broker import Kind, currency_problem, invoiced, live_document, order_kind, owed
from ..models import BrokerDocument, QboSyncJob
from ..outbox.broker import broker_sync_enqueue
from ..outbox.jobs import SyncRefused, is_due
from ..refs.broker_refs import BROKER_PLACE
from .runners import qbo_job_run


def broker_refusal(order: Order) -> SyncRefused | None:
    """Why nothing may be sent for the order's broker document now (None: it may)."""
    conn = usable_connection()
    row = live_document(order)
    active = row is not None and row.state == BrokerDocument.State.ACTIVE and bool(row.qbo_id or row.request_id)
    if active:
        return None  # an update, or its removal with a cancelled order
    kind = order_kind(row, conn)
    if not kind:
        return SyncRefused(
            f"The company keeps the commission in Kadouri only: choose a bill or a commission invoice in "
            f"{BROKER_PLACE} first.",
            status=409,
        )
    if not invoiced(order) or order.status == Order.Status.CANCELLED:
        return SyncRefused(
            f"Order {order.number} has no open invoice in QuickBooks: its broker document is made when it is "
            "invoiced, and removed when it is cancelled.",
            status=409,
        )
    problem = currency_problem(order)
    if problem:
        return SyncRefused(problem, status=422)
    if kind == Kind.SELLER_BILL and not conn.seller_bill_account_id:
        return SyncRefused(
            f"Choose the expense account the seller bills are booked to in {BROKER_PLACE} first.",
            status=422,
            field="sellerBillAccount",
        )
    if not owed(order, kind):
        return SyncRefused(f"Nothing is owed on order {order.number}: there is no broker document to make.")
    return None


def broker_send_request(*, order: Order, by, ip: str | None = None) -> QboSyncJob:
    """The order's broker document sent (again) to QuickBooks: refused, or its job and one attempt."""
    order = Order.objects.select_related("buyer", "seller").get(pk=order.pk)
    refusal = broker_refusal(order)
    if refusal is not None:
        raise refusal
    active = order.qbo_jobs.filter(
        action=QboSyncJob.Action.SYNC_BROKER_DOCUMENT, state__in=[QboSyncJob.State.PENDING, QboSyncJob.State.RUNNING]
    ).first()
    job = active or broker_sync_enqueue(order, by=by, ip=ip, again=True)
    return qbo_job_run(job_id=job.pk) if is_due(job) else job
