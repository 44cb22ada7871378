"""Reading a QuickBooks document: amounts in cents, payment status, state, version and times. Pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from orders.models import Order
from orders.models import read_cents as money  # QuickBooks amounts in cents; None when missing or unreadable

ZERO = Decimal("0.00")


GONE_STATES = ("Voided", "Deleted")
# The marker a money transaction Kadouri writes carries in its private note (outbound/money_jobs.py writes it).
MONEY_MARKER = re.compile(r"\[kadouri-money:([0-9a-f-]{36})\]")


def money_marker(doc: dict | None) -> str:
    """The marker of the Kadouri job that wrote a payment, credit memo or refund; "" when it carries none."""
    found = MONEY_MARKER.search(str((doc or {}).get("PrivateNote") or ""))
    return found.group(1) if found else ""


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
    PrivateNote (docs/quickbooks/api.md#void); `void_hint` (a Void operation) stands in for the note."""
    if not doc:
        return False
    zero = money(doc.get("TotalAmt")) == ZERO and money(doc.get("Balance")) in (ZERO, None)
    note = str(doc.get("PrivateNote") or "").lower().startswith("voided")
    return zero and (note or void_hint)


def document_balance(entity: str, doc: dict | None) -> Decimal | None:
    """What is still owed on a document: an invoice's Balance; a sales receipt is paid the moment it exists
    (docs/quickbooks/money.md#cash-sales), so 0 even when QuickBooks leaves Balance out."""
    if entity == "SalesReceipt":
        return money((doc or {}).get("Balance")) or ZERO
    return money((doc or {}).get("Balance"))


def doc_state(entity: str, doc: dict | None, *, void_hint: bool = False) -> str:
    """The document's state as Kadouri shows it: Deleted, Voided, Paid, Partially paid, Open; an
    estimate's own TxnStatus (Pending, Accepted, Closed, Rejected)."""
    if doc is None:
        return "Deleted"
    if entity == "Estimate":
        return str(doc.get("TxnStatus") or "Pending")[:20]
    if is_voided(doc, void_hint=void_hint):
        return "Voided"
    status = payment_status(money(doc.get("TotalAmt")), document_balance(entity, doc))
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


def converting_invoice_id(estimate: dict | None) -> str | None:
    """The invoice an estimate was converted to (QuickBooks closes it and links the invoice), or None."""
    if not estimate or doc_state("Estimate", estimate) != "Closed":
        return None
    linked = [str(link.get("TxnId")) for link in estimate.get("LinkedTxn") or [] if link.get("TxnType") == "Invoice"]
    return linked[0] if linked else None


def paid_amount(total: Decimal | None, balance: Decimal | None) -> Decimal:
    return (total or ZERO) - (balance if balance is not None else (total or ZERO))


def parse_time(value) -> datetime | None:
    """ISO-8601 in the shapes Intuit uses: offset without colon, `Z`, milliseconds or nanoseconds
    (docs/quickbooks/webhooks.md#legacy-payload, docs/quickbooks/webhooks.md#cloudevents-payload)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # Python keeps microseconds at most
    try:
        moment = parse_datetime(text)
    except ValueError:
        return None
    if moment is None:
        return None
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


def payment_invoice_ids(payment: dict | None) -> list[str]:
    ids = []
    for line in (payment or {}).get("Line") or []:
        for link in (line or {}).get("LinkedTxn") or []:
            if link.get("TxnType") == "Invoice" and str(link.get("TxnId")) not in ids:
                ids.append(str(link.get("TxnId")))
    return ids


def txn_date(doc: dict | None) -> date | None:
    """A document's TxnDate (YYYY-MM-DD), or None."""
    try:
        return date.fromisoformat(str((doc or {}).get("TxnDate"))[:10])
    except ValueError:
        return None
