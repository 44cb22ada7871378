"""A QuickBooks sales document (invoice or estimate) applied to its order: the one place that reads
QuickBooks' amounts, state and version, and moves the order to paid, back to posted, or to cancelled.

Used after every outbound write (sync.py), by the inbound handlers (webhooks, CDC catch-up) and by
reconciliation, so the three never disagree about what a document means.
Facts: ../shared/reference/qbo-api.md §3.5 (a voided invoice keeps its number; every amount is 0 and its
PrivateNote starts with "Voided").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from orders.models import Order, OrderActivity, to_cents
from orders.services import order_activity_log, order_set_status

from .inbound import parse_time

ZERO = Decimal("0.00")
PAID_TEXT = "Payment received in QuickBooks - Invoice marked as PAID"
VOIDED_TEXT = "Invoice voided in QuickBooks"
GONE_STATES = ("Voided", "Deleted")


def money(value) -> Decimal | None:
    """QuickBooks amounts (JSON numbers or strings) in cents; None when missing or unreadable."""
    try:
        return None if value is None or value == "" else to_cents(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None


def payment_status(total: Decimal | None, balance: Decimal | None) -> str:
    """unpaid / partial / paid. An overpaid invoice (balance below 0) is paid."""
    if total is None or balance is None:
        return Order.PaymentStatus.UNPAID
    if balance <= ZERO and total > ZERO:
        return Order.PaymentStatus.PAID
    if ZERO < balance < total:
        return Order.PaymentStatus.PARTIAL
    return Order.PaymentStatus.UNPAID


def is_voided(doc: dict | None, *, void_hint: bool = False) -> bool:
    """A voided invoice or payment stays in QuickBooks with every amount 0 and "Voided" before its
    PrivateNote (§3.5); `void_hint` (a Void operation) stands in for the note."""
    if not doc:
        return False
    zero = money(doc.get("TotalAmt")) == ZERO and money(doc.get("Balance")) in (ZERO, None)
    note = str(doc.get("PrivateNote") or "").lower().startswith("voided")
    return zero and (note or void_hint)


def doc_state(entity: str, doc: dict | None, *, void_hint: bool = False) -> str:
    """The document's state as Kadouri shows it: Deleted, Voided, Paid, Partially paid, Open; an
    estimate's own TxnStatus (Pending, Accepted, Closed, Rejected)."""
    if doc is None:
        return "Deleted"
    if entity == "Estimate":
        return str(doc.get("TxnStatus") or "Pending")[:20]
    if is_voided(doc, void_hint=void_hint):
        return "Voided"
    status = payment_status(money(doc.get("TotalAmt")), money(doc.get("Balance")))
    return {Order.PaymentStatus.PAID: "Paid", Order.PaymentStatus.PARTIAL: "Partially paid"}.get(status, "Open")


def _token(value) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Version:
    """A QuickBooks object's version: SyncToken, then LastUpdatedTime. One definition for the inbound handlers
    and the outbound sync, so neither ever moves an order backwards."""

    sync_token: int | None
    last_updated: datetime | None

    @classmethod
    def of(cls, obj: dict) -> Version:
        return cls(_token(obj.get("SyncToken")), parse_time((obj.get("MetaData") or {}).get("LastUpdatedTime")))

    def compare(self, known_token: str, known_time: datetime | None) -> int:
        """-1 older than what Kadouri saw, 0 the same version, 1 newer (or nothing known)."""
        known = _token(known_token)
        if self.sync_token is not None and known is not None and self.sync_token != known:
            return -1 if self.sync_token < known else 1
        if self.last_updated and known_time:
            if self.last_updated != known_time:
                return -1 if self.last_updated < known_time else 1
        return 0 if known is not None else 1


def older_than_stored(order: Order, doc: dict, *, entity: str) -> bool:
    """True when `doc` is an older version of the very document the (locked) order follows: a webhook stored a
    newer one between QuickBooks' answer and the lock. Another document (an estimate's invoice) is never older."""
    same = (entity == "Invoice") == (order.qbo_doc_type != Order.DocType.ESTIMATE) \
        and str(doc.get("Id") or "") == str(order.qbo_doc_id or "")
    return same and Version.of(doc).compare(order.qbo_sync_token, order.qbo_last_updated) < 0


def converting_invoice_id(estimate: dict | None) -> str | None:
    """The invoice an estimate was converted to (QuickBooks closes it and links the invoice), or None."""
    if not estimate or doc_state("Estimate", estimate) != "Closed":
        return None
    linked = [str(link.get("TxnId")) for link in estimate.get("LinkedTxn") or [] if link.get("TxnType") == "Invoice"]
    return linked[0] if linked else None


@dataclass(frozen=True)
class Actor:
    """Who applies the document, for the status change and activity entries."""

    user_name: str
    user: object = None
    ip: str | None = None
    details: dict = field(default_factory=dict)


def document_store(order: Order, doc: dict | None, *, entity: str, void_hint: bool = False) -> None:
    """QuickBooks' values on the (locked) order, saved: id, number, total, balance, payment status, state,
    SyncToken and last-updated time. None (deleted) changes only the state."""
    order.qbo_doc_state = doc_state(entity, doc, void_hint=void_hint)
    fields = ["qbo_doc_state", "updated_at"]
    if doc is not None:
        order.qbo_doc_id = str(doc.get("Id") or order.qbo_doc_id)
        order.qbo_doc_number = str(doc.get("DocNumber") or order.qbo_doc_number or "")[:21]
        if doc.get("SyncToken") is not None:
            order.qbo_sync_token = str(doc["SyncToken"])
        order.qbo_last_updated = parse_time((doc.get("MetaData") or {}).get("LastUpdatedTime")) or order.qbo_last_updated
        order.qbo_total = money(doc.get("TotalAmt"))
        fields += ["qbo_doc_id", "qbo_doc_number", "qbo_sync_token", "qbo_last_updated", "qbo_total"]
        if entity == "Invoice":
            voided = order.qbo_doc_state == "Voided"
            order.qbo_balance = ZERO if voided else money(doc.get("Balance"))
            order.payment_status = payment_status(order.qbo_total, order.qbo_balance)
            fields += ["qbo_balance", "payment_status"]
    order.save(update_fields=fields)


def document_apply(*, order: Order, doc: dict | None, entity: str, actor: Actor, void_hint: bool = False,
                   voided_text: str = "", reopened_because: str = "") -> str:
    """Applies QuickBooks' document (None = deleted) to the locked order: its values, then the status change
    they imply, each with its activity entry — voided or deleted → cancelled; balance 0 → paid; a paid order
    whose balance opens again → posted. Returns what changed: "cancelled", "paid", "reopened" or ""."""
    old_state = order.qbo_doc_state
    document_store(order, doc, entity=entity, void_hint=void_hint)
    if entity != "Invoice":
        return ""
    ref = f"#{order.qbo_doc_number or order.qbo_doc_id}"
    who = {"by": actor.user, "user_name": actor.user_name, "ip": actor.ip}
    log_kw = {"order": order, "user": actor.user, "user_name": actor.user_name, "ip": actor.ip,
              "details": actor.details | {"invoice_id": order.qbo_doc_id, "total": str(order.qbo_total),
                                          "balance": str(order.qbo_balance), "payment_status": order.payment_status,
                                          "state": order.qbo_doc_state}}
    if order.qbo_doc_state in GONE_STATES:
        if order.status == Order.Status.CANCELLED and old_state == order.qbo_doc_state:
            return ""
        how = order.qbo_doc_state.lower()
        if order.status != Order.Status.CANCELLED:
            order_set_status(order=order, status=Order.Status.CANCELLED, reason=f"invoice {ref} was {how} in QuickBooks",
                             **who)
        text = voided_text or VOIDED_TEXT + ("" if how == "voided" else f" (invoice {ref} was deleted)")
        order_activity_log(activity_type=OrderActivity.Type.INVOICE_VOIDED, description=text, **log_kw)
        return "cancelled"
    paid = order.payment_status == Order.PaymentStatus.PAID
    if paid and order.status in (Order.Status.DRAFT, Order.Status.POSTED_TO_QB):
        order_set_status(order=order, status=Order.Status.PAID, reason=f"invoice {ref} balance reached $0.00 in QuickBooks",
                         **who)
        order_activity_log(activity_type=OrderActivity.Type.PAYMENT_RECEIVED, description=PAID_TEXT, **log_kw)
        return "paid"
    if not paid and order.status == Order.Status.PAID:
        order_set_status(order=order, status=Order.Status.POSTED_TO_QB,
                         reason=f"invoice {ref} has an open balance again in QuickBooks", **who)
        order_activity_log(activity_type=OrderActivity.Type.SYNCED_FROM_QB,
                           description=reopened_text(order, reopened_because), **log_kw)
        return "reopened"
    return ""


def follow_invoice(*, order: Order, invoice: dict, actor: Actor) -> str:
    """The (locked) estimate's order now follows the invoice made from it — by Kadouri's Convert to Invoice or
    by a bookkeeper in QuickBooks: its type switches, the invoice's own version starts here, and the invoice
    is applied (a payment already recorded on it makes the order paid). Returns what document_apply changed."""
    order.qbo_doc_type = Order.DocType.INVOICE
    order.qbo_sync_token, order.qbo_last_updated = "", None
    order.version += 1  # a new document: later sync jobs must not be taken for ones done on the estimate
    order.save(update_fields=["qbo_doc_type", "qbo_sync_token", "qbo_last_updated", "version", "updated_at"])
    return document_apply(order=order, doc=invoice, entity="Invoice", actor=actor)


def reopened_text(order: Order, because: str) -> str:
    return (f"{because or 'Invoice balance went up in QuickBooks'} - invoice #{order.qbo_doc_number or order.qbo_doc_id} "
            f"balance is ${order.qbo_balance} of ${order.qbo_total}; the order is "
            f"{order.get_payment_status_display().lower()} again")
