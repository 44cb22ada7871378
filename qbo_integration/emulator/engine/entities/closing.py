"""The closing date (docs/quickbooks/next.md#closing-date): with ``AccountingInfoPrefs.BookCloseDate`` set, a
transaction dated on or before it cannot be created, changed, voided or deleted, nor moved into or out of the
closed period: fault 6210 "Account Period Closed". The date itself is closed (see the README's Decisions)."""

from __future__ import annotations

from datetime import date

from ..errors import QboFault
from ..ledger import Ledger
from ..values import Obj
from .preferences import book_close_date

TRANSACTIONS = frozenset(
    {"Invoice", "Estimate", "Payment", "CreditMemo", "SalesReceipt", "RefundReceipt", "Bill", "BillPayment"}
)


def check_period(books: Ledger, entity: str, old: Obj | None, new: Obj | None) -> None:
    """Refuse a write that touches the closed period: ``old`` is the stored version (None on a create), ``new``
    the version to store (None on a delete or void)."""
    closed_to = book_close_date(books)
    if closed_to is None or entity not in TRANSACTIONS:
        return
    for obj in (old, new):
        day = _txn_date(obj)
        if day is not None and day <= closed_to:
            raise period_closed(entity, day, closed_to)


def _txn_date(obj: Obj | None) -> date | None:
    value = (obj or {}).get("TxnDate")
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def period_closed(entity: str, day: date, closed_to: date) -> QboFault:
    return QboFault(
        400,
        "6210",
        "Account Period Closed",
        "Account Period Closed, cannot update through Services API: The account period has closed and "
        f"cannot be updated through the QBO Services API ({entity} dated {day.isoformat()}, books closed to "
        f"{closed_to.isoformat()}). Please use the QBO user interface to update this transaction.",
        "TxnDate",
    )
