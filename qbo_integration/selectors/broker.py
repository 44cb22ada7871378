"""What the order page's broker card and the JSON API show of an order's broker document
(docs/quickbooks/beyond.md#the-brokers-own-books): the document as QuickBooks last said, what is paid to (or by) the
seller, why there is none, and the job sending it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from orders.models import Order

from ..connection.vault import current_connection
from ..documents.broker import (
    broker_amount,
    currency_problem,
    invoiced,
    label,
    live_document,
    order_kind,
    owed,
    wanted,
)
from ..documents.broker_store import open_order_problem
from ..documents.reading import ZERO
from ..models import BrokerBooks, BrokerDocument, QboSyncJob

Kind, State = BrokerDocument.Kind, BrokerDocument.State
JobState = QboSyncJob.State


@dataclass
class BrokerView:
    order: Order
    row: BrokerDocument | None
    kind: str
    expected: Decimal | None
    job: QboSyncJob | None
    note: str = ""  # why the order has no document (yet)
    warning: str = ""  # what a person must settle in QuickBooks

    @property
    def shown(self) -> bool:
        """The card shows while the company keeps the broker's books, or the order has a document of them."""
        return bool(self.kind) or self.row is not None

    @property
    def bill(self) -> bool:
        return self.kind == Kind.SELLER_BILL

    @property
    def title(self) -> str:
        return "Bill to the seller" if self.bill else "Commission invoice to the seller"

    @property
    def in_quickbooks(self) -> bool:
        return self.row is not None and bool(self.row.qbo_id)

    @property
    def paid(self) -> Decimal:
        row = self.row
        if row is None or row.total is None or row.balance is None or row.state != State.ACTIVE:
            return ZERO
        return row.total - row.balance

    @property
    def status(self) -> str:
        row = self.row
        if row is None:
            return ""
        if not row.qbo_id:
            return "Being sent to QuickBooks" if row.state == State.ACTIVE else "Never reached QuickBooks"
        if row.state != State.ACTIVE:
            cancelled = self.order.status == Order.Status.CANCELLED
            return f"{row.get_state_display()} in QuickBooks{' with the invoice' if cancelled else ''}"
        whom = "to the seller" if self.bill else "by the seller"
        if row.total and row.balance == 0:
            return f"Paid {whom}"
        if self.paid > 0:
            return f"Partly paid {whom}"
        return "Open: owed to the seller" if self.bill else "Open: owed by the seller"

    @property
    def drift(self) -> bool:
        """QuickBooks' amount is not what the order says now (an update not sent yet, or changed there)."""
        row = self.row
        return row is not None and row.state == State.ACTIVE and bool(row.qbo_id) and self.expected != row.total

    @property
    def busy(self) -> bool:
        return self.job is not None and self.job.state in (JobState.PENDING, JobState.RUNNING)

    @property
    def can_send(self) -> bool:
        """A person may ask for it again: its last job failed, it was removed in QuickBooks while the order still
        wants one, or its amount drifted."""
        if self.busy or not wanted(self.order) or (not self.kind and self.row is None):
            return False
        failed = self.job is not None and self.job.state == JobState.FAILED
        removed = self.row is not None and self.row.state != State.ACTIVE
        return failed or removed or self.drift


def _note(order: Order, kind: str) -> str:
    if not kind:
        return "Commission stays in Kadouri: the company keeps no broker's books in QuickBooks."
    what = label(kind)
    if not invoiced(order):
        return f"The {what} is made when the order's invoice is created in QuickBooks."
    if order.status == Order.Status.CANCELLED:
        return f"The order is cancelled: it has no {what}."
    problem = currency_problem(order)
    if problem:
        return problem
    if not owed(order, kind):
        return f"Nothing is owed: no {what} is made."
    return f"The order was invoiced before the company chose to keep the broker's books: it has no {what}."


def order_broker(order: Order) -> BrokerView:
    conn = current_connection()
    row = live_document(order)
    kind = row.kind if row is not None else order_kind(None, conn)
    job = order.qbo_jobs.filter(action=QboSyncJob.Action.SYNC_BROKER_DOCUMENT).order_by("-created_at", "-id").first()
    view = BrokerView(order, row, kind, broker_amount(order, kind) if kind else None, job)
    if row is None:
        view.note = _note(order, kind)
        if job is not None and view.busy:
            view.note = f"The {label(kind)} is being sent to QuickBooks."
    else:
        view.warning = open_order_problem(row, order)
    return view


def broker_json(view: BrokerView) -> dict:
    row = view.row
    conn = current_connection()

    def text(value) -> str | None:
        return None if value is None else str(value)

    return {
        "orderId": view.order.pk,
        "mode": conn.broker_books if conn else BrokerBooks.KADOURI_ONLY,
        "kind": view.kind or None,
        "entity": row.entity if row else None,
        "qboId": (row.qbo_id or None) if row else None,
        "docNumber": (row.doc_number or None) if row else None,
        "partyId": (row.party_id or None) if row else None,
        "state": row.state if row else None,
        "status": view.status or None,
        "total": text(row.total) if row else None,
        "balance": text(row.balance) if row else None,
        "paid": text(view.paid),
        "paidToSeller": bool(row and view.bill and row.state == State.ACTIVE and row.total and row.balance == 0),
        "expected": text(view.expected),
        "currency": (row.currency or None) if row else None,
        "drift": view.drift,
        "note": view.note or None,
        "warning": view.warning or None,
    }
