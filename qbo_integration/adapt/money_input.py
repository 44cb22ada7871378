"""What a person types for a money action (a payment, a credit, a refund), checked before anything is sent
(docs/quickbooks/money.md#payments): amounts in cents, a date QuickBooks will take, a payment method and a deposit
account from the company's own lists, the order's currency. Each refusal is SyncRefused(status=422) with the field
it concerns, in words the person can act on."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.core.cache import cache
from django.utils import timezone

from kadouri.display import when
from orders.models import Order

from ..client.errors import SyncRefused
from ..connection import calls
from ..connection.vault import usable_connection
from .closing import closed_to
from .currency import buyer_currency

LISTS_CACHE_SECONDS = 5 * 60  # the company's payment methods and deposit accounts: read at most every 5 minutes
MAX_AHEAD = timedelta(days=365)
MAX_AMOUNT = Decimal("9999999999.99")  # QboMoney keeps 14 digits, 2 after the point
DEPOSIT_TYPES = ("Bank", "Other Current Asset")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
UNDEPOSITED_SUBTYPE = "UndepositedFunds"
_DEPOSIT_SQL = "select * from Account where AccountType in ({}) MAXRESULTS 1000".format(
    ", ".join(f"'{t}'" for t in DEPOSIT_TYPES)
)


class MoneyInputError(SyncRefused):
    """Bad input for a money action: 422, with the form field it concerns."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, status=422, field=field)


def _refused(message: str, *, field: str) -> SyncRefused:
    return MoneyInputError(message, field=field)


def parse_amount(value, *, field: str = "amount") -> Decimal:
    """A positive amount with at most two decimals (money is in cents); a comma only between thousands."""
    text = str(value if value is not None else "").strip()
    if not text:
        raise _refused("Enter an amount.", field=field)
    if "," in text:
        if not _THOUSANDS.fullmatch(text):  # "12,50" is not read as 1250
            raise _refused(
                f"“{text[:30]}” is not an amount: use a point for cents (12.50), a comma only between thousands "
                "(1,250.00).",
                field=field,
            )
        text = text.replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise _refused(f"“{text[:30]}” is not an amount: enter a number such as 125.00.", field=field) from None
    if not amount.is_finite():
        raise _refused(f"“{text[:30]}” is not an amount: enter a number such as 125.00.", field=field)
    if amount <= 0:
        raise _refused("The amount must be more than zero.", field=field)
    if amount.as_tuple().exponent < -2 and amount != amount.quantize(Decimal("0.01")):
        raise _refused("Money is in cents: enter at most two decimals (e.g. 125.25).", field=field)
    if amount > MAX_AMOUNT:
        raise _refused("That amount is too large.", field=field)
    return amount.quantize(Decimal("0.01"))


def parse_txn_date(value, *, realm_id: str | None = None, field: str = "date") -> date:
    """The transaction's date (today when left empty): after the company's closing date, at most a year ahead."""
    text = str(value or "").strip()
    today = timezone.localdate()
    if not text:
        day = today
    else:
        try:
            day = date.fromisoformat(text[:10]) if len(text) == 10 else None
        except ValueError:
            day = None
        if day is None:
            raise _refused(f"“{text[:30]}” is not a date: use YYYY-MM-DD.", field=field)
    closed = closed_to(realm_id)
    if closed is not None and day <= closed:
        raise _refused(
            f"QuickBooks' books are closed up to {when(closed)}: choose a later date, or ask your accountant to "
            "reopen the period.",
            field=field,
        )
    if day > today + MAX_AHEAD:
        raise _refused(f"{when(day)} is more than a year ahead: check the date.", field=field)
    return day


def _cached_list(kind: str, sql: str, entity: str) -> list[dict]:
    realm_id = usable_connection().realm_id
    key = f"qbo:money-lists:{realm_id}:{kind}"
    rows = cache.get(key)
    if rows is None:
        rows = calls.query(sql, realm_id=realm_id).get(entity, [])
        cache.set(key, rows, LISTS_CACHE_SECONDS)
    return rows


def payment_methods() -> list[tuple[str, str]]:
    """The company's active payment methods, (id, name), as QuickBooks lists them."""
    rows = _cached_list("methods", "select * from PaymentMethod where Active = true MAXRESULTS 1000", "PaymentMethod")
    return [(str(r["Id"]), str(r.get("Name") or r["Id"])) for r in rows if r.get("Active", True)]


def deposit_accounts() -> list[tuple[str, str]]:
    """Where money may be deposited, (id, name): Undeposited Funds first, then the bank accounts and the other
    current-asset accounts."""
    rows = _cached_list("deposit", _DEPOSIT_SQL, "Account")
    active = [r for r in rows if r.get("Active", True)]
    active.sort(key=lambda r: (r.get("AccountSubType") != UNDEPOSITED_SUBTYPE, r.get("AccountType") != "Bank"))
    return [(str(r["Id"]), str(r.get("Name") or r["Id"])) for r in active]


def bank_accounts() -> list[tuple[str, str]]:
    """The company's bank accounts, (id, name): where a refund is paid from."""
    rows = _cached_list("deposit", _DEPOSIT_SQL, "Account")
    return [
        (str(r["Id"]), str(r.get("Name") or r["Id"]))
        for r in rows
        if r.get("Active", True) and r.get("AccountType") == "Bank"
    ]


def undeposited_funds_id() -> str:
    accounts = deposit_accounts()
    return accounts[0][0] if accounts else ""


def method_name(method_id, *, field: str = "method") -> str:
    """The name of a payment method the company has ("" for none given); refused when it has no such method."""
    return _name_in(payment_methods(), method_id, field, "payment method")


def bank_account_id(account_id, *, field: str = "account") -> str:
    """A bank account of the company, required: where a refund is paid from."""
    wanted = str(account_id or "").strip()
    if not wanted:
        raise _refused("Choose the bank account the refund is paid from.", field=field)
    _name_in(bank_accounts(), wanted, field, "bank account")
    return wanted


def deposit_account_name(account_id, *, field: str = "depositTo") -> str:
    return _name_in(deposit_accounts(), account_id, field, "bank or deposit account")


def _name_in(choices: list[tuple[str, str]], wanted, field: str, what: str) -> str:
    wanted = str(wanted or "").strip()
    if not wanted:
        return ""
    for choice_id, name in choices:
        if choice_id == wanted:
            return name
    raise _refused(f"QuickBooks has no active {what} with id {wanted[:32]}: choose one from the list.", field=field)


def check_currency(order: Order, currency) -> None:
    """A currency given with the amount must be the order's own: QuickBooks records money in the invoice's
    currency."""
    given = str(currency or "").strip().upper()
    if not given:
        return
    own = (order.qbo_currency or (buyer_currency(order.buyer) if order.buyer_id else "")).upper()
    if own and given != own:
        raise _refused(
            f"Order {order.number} is in {own}; an amount in {given[:3]} cannot be recorded on it.", field="currency"
        )


def check_reference(value, *, field: str = "reference") -> str:
    text = str(value or "").strip()
    if len(text) > 21:  # PaymentRefNum holds 21 characters
        raise _refused("The reference can be at most 21 characters.", field=field)
    return text
