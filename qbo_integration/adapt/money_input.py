"""What a person asks of a money action, checked before anything is sent (docs/quickbooks/money.md#credits): an
amount in cents, a date QuickBooks accepts, a payment method or account the company has, the order's currency.
Each refusal is a MoneyInputError: status 422 and the field it names (adapt sits below the outbox, so it cannot raise
the outbox's SyncRefused; views answer both the same way)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.core.cache import cache
from django.utils import timezone

from kadouri.display import when
from orders.models import Order

from ..connection import calls
from ..connection.vault import usable_connection
from ..reads import QUERY_MAX_RESULTS
from .closing import closed_to
from .currency import home_currency_code

CENTS = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999.99")
FAR_FUTURE = timedelta(days=365)
LIST_SECONDS = 60  # the company's lists, cached briefly: a form and its submit read them once
DEPOSIT_TYPES = ("Bank", "Other Current Asset")


class MoneyInputError(Exception):
    """Bad input, refused before anything is sent: a 422 that names the field, so a form shows the message beside
    it and the JSON API answers {"error", "field"}."""

    status = 422

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.message, self.field = message, field


def parse_amount(value, *, field: str) -> Decimal:
    """A positive amount with at most two decimals (money is in cents)."""
    text = str(value).strip() if value is not None and not isinstance(value, bool) else ""
    try:
        amount = Decimal(text.replace(",", "")) if text else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise MoneyInputError(f"Enter the {field} as a number, e.g. 40.00.", field=field)
    if amount <= 0:
        raise MoneyInputError(f"The {field} must be more than zero.", field=field)
    if amount != amount.quantize(CENTS):
        raise MoneyInputError(f"The {field} can have at most two decimals (cents).", field=field)
    if amount > MAX_AMOUNT:
        raise MoneyInputError(f"The {field} is too large.", field=field)
    return amount.quantize(CENTS)


def parse_txn_date(value, *, realm_id: str) -> date | None:
    """The transaction's date (None: today, QuickBooks' default): after the company's closing date and no more
    than a year ahead."""
    text = str(value or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise MoneyInputError("Enter the date as YYYY-MM-DD.", field="date") from None
    closed = closed_to(realm_id)
    if closed is not None and day <= closed:
        raise MoneyInputError(
            f"QuickBooks' books are closed up to {when(closed)}; choose a later date or ask your accountant to "
            "reopen the period.",
            field="date",
        )
    if day > timezone.localdate() + FAR_FUTURE:
        raise MoneyInputError("The date is more than a year in the future.", field="date")
    return day


def _company_list(kind: str, sql: str, entity: str) -> list[dict]:
    realm_id = usable_connection().realm_id
    key = f"qbo-money-list:{kind}:{realm_id}"
    rows = cache.get(key)
    if rows is None:
        rows = calls.query(f"{sql} MAXRESULTS {QUERY_MAX_RESULTS}").get(entity, [])
        cache.set(key, rows, LIST_SECONDS)
    return rows


def payment_methods() -> list[dict]:
    """The company's active payment methods: [{"id", "name"}]."""
    rows = _company_list("methods", "select * from PaymentMethod where Active = true", "PaymentMethod")
    return [{"id": str(r["Id"]), "name": str(r.get("Name", ""))} for r in rows]


def deposit_accounts() -> list[dict]:
    """The company's accounts money can go to or come from: [{"id", "name", "type"}] (Bank, Other Current Asset)."""
    rows = _company_list("accounts", "select * from Account where Active = true", "Account")
    return [
        {"id": str(r["Id"]), "name": str(r.get("Name", "")), "type": str(r.get("AccountType", ""))}
        for r in rows
        if r.get("AccountType") in DEPOSIT_TYPES
    ]


def check_currency(order: Order, currency) -> None:
    """A currency given with an amount must be the order's."""
    code = str(currency or "").strip().upper()
    mine = order.currency_code
    if code and mine and code != mine:
        raise MoneyInputError(
            f"Order {order.number} is in {mine}; an amount in {code} cannot be recorded on it.", field="currency"
        )
    if code and not mine and code != home_currency_code():
        raise MoneyInputError(f"Order {order.number} is not in {code}.", field="currency")
