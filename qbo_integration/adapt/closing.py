"""The company's closing date (docs/quickbooks/next.md#closing-date): QuickBooks refuses to create, change, void or
delete a transaction dated on or before it (the date itself is closed), or to move one into or out of the closed
period. Kadouri refuses such a push before sending anything, in plain words with the dates; a refusal QuickBooks
makes anyway (the date moved since the profile was read) reads the profile again and says the same.
"""

from __future__ import annotations

import logging
from datetime import date

from kadouri.display import when
from orders.models import Order

from ..client.errors import QboError, QboValidationError, is_closed_period
from ..connection.profile import connected_profile, profile_for, refresh_profile
from ..models import CompanyProfile

log = logging.getLogger(__name__)

REOPEN = "ask your accountant to reopen the period"


def _profile(realm_id: str | None = None) -> CompanyProfile | None:
    return connected_profile() if realm_id is None else profile_for(realm_id)


def closed_to(realm_id: str | None = None) -> date | None:
    profile = _profile(realm_id)
    return profile.book_close_date if profile is not None else None


def _label(order: Order) -> str:
    return {Order.DocType.ESTIMATE: "estimate", Order.DocType.SALES_RECEIPT: "sales receipt"}.get(
        order.qbo_doc_type, "invoice"
    )


def refusal(order: Order, *, void: bool = False, doc_date: date | None = None, realm_id: str | None = None) -> str:
    """Why QuickBooks would refuse this push, update, conversion (or void, `void`) of the order; "" when it would
    not. `doc_date`: the date of the document QuickBooks has now (an update moving it out of the closed period)."""
    closed = closed_to(realm_id)
    if closed is None:
        return ""
    books = f"QuickBooks' books are closed up to {when(closed)}"
    if doc_date is not None and doc_date <= closed:
        return (
            f"{books}: the {_label(order)} in QuickBooks is dated {when(doc_date)}, so QuickBooks would refuse to "
            f"{'void' if void else 'change'} it. Ask your accountant to reopen the period."
        )
    if order.order_date is None or order.order_date > closed:
        return ""
    if void:
        return (
            f"{books}: this order's {_label(order)} is dated {when(order.order_date)}, so QuickBooks would refuse to "
            "void it. Ask your accountant to reopen the period."
        )
    return (
        f"{books}: this order is dated {when(order.order_date)}, so QuickBooks would refuse it. Change the order "
        f"date or {REOPEN}."
    )


def is_period_closed(error: QboError) -> bool:
    """QuickBooks refused because the period is closed (docs/quickbooks/errors.md#fault-codes: by code or text)."""
    return is_closed_period(error.code, error.detail, error.fault_message)


def period_closed_error(order: Order, error: QboError, *, realm_id: str, void: bool = False) -> QboError:
    """QuickBooks' closed-period refusal in plain words: the profile is read again (the closing date moved since)
    and the order's dates are named; QuickBooks' code and text stay in the details."""
    try:
        refresh_profile(realm_id)
    except QboError:
        log.warning("quickbooks: could not re-read the company profile after a closed-period refusal")
    message = refusal(order, void=void, realm_id=realm_id) or (
        f"QuickBooks' books are closed for this order's date ({when(order.order_date)}), so QuickBooks refused "
        f"it. Change the order date or {REOPEN}."
    )
    return QboValidationError(message, code=error.code, detail=error.detail, status=error.status)
