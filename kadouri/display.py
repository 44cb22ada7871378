"""How Kadouri writes money, numbers and times for people: the same on every page, message and activity entry.

Templates use these as filters (`{{ line.amount|money:order }}`, `{{ event.received_at|when }}`,
`{{ line.quantity|plain }}`, registered for every template in settings.TEMPLATES); Python code that builds text
calls them directly.

Money is written in its currency, one way everywhere: "$1,440.00" only for US dollars in a company whose home
currency is USD; any other currency, and a non-USD home currency, as its ISO code: "CAD 1,440.00", "GBP 12.50"
(a "$" alone would not say which dollar). An order's amounts are in the order's currency (`money(x, order)`, or
`|money:order`); an amount without one (a product's price) is in the QuickBooks company's home currency.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django import template
from django.utils import formats, timezone

NOTHING = "—"
DOLLAR_HOME = "USD"  # the one home currency written with a bare "$"

# Where the home currency comes from: the connected QuickBooks company's profile, registered by the integration
# (qbo_integration/apps.py); USD before that. Read once per request (`one_home_currency`), else per call.
_home_source: list[Callable[[], str]] = [lambda: DOLLAR_HOME]
_home_memo: ContextVar[dict | None] = ContextVar("kadouri_home_currency", default=None)


def use_home_currency(source: Callable[[], str]) -> None:
    _home_source[0] = source


def home_currency() -> str:
    """The QuickBooks company's home currency (ISO code)."""
    memo = _home_memo.get()
    if memo is None:
        return (_home_source[0]() or DOLLAR_HOME).upper()
    if "code" not in memo:
        memo["code"] = (_home_source[0]() or DOLLAR_HOME).upper()
    return memo["code"]


@contextmanager
def one_home_currency() -> Iterator[None]:
    """The home currency is read at most once inside this block (a request, a report run)."""
    token = _home_memo.set({})
    try:
        yield
    finally:
        _home_memo.reset(token)


def currency_code(currency) -> str:
    """An ISO code from a code, or from anything with a `currency_code` (an order); blank: the home currency."""
    code = getattr(currency, "currency_code", currency)
    return str(code or "").strip().upper() or home_currency()


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def money(value, currency="") -> str:
    """$1,440.00 · -$5.00 (US dollars, USD home) · CAD 1,440.00 · CAD -5.00 · — for no value. `currency`: an ISO
    code or an order (its currency); blank: the home currency."""
    amount = _decimal(value)
    if amount is None:
        return NOTHING
    code = currency_code(currency)
    sign = "-" if amount < 0 else ""
    if code == DOLLAR_HOME and home_currency() == DOLLAR_HOME:
        return f"{sign}${abs(amount):,.2f}"
    return f"{code} {sign}{abs(amount):,.2f}"


def plain(value) -> str:
    """A quantity or a rate without trailing zeros or exponent: 12.000 → 12, 4.50 → 4.5, 1E+2 → 100."""
    number = _decimal(value)
    if number is None:
        return NOTHING if value in (None, "") else str(value)
    text = f"{number.normalize():f}"
    return "0" if text in ("-0", "") else text


def when(value) -> str:
    """Dec 6, 2026, 5:41 PM in the site's time zone (a date alone: Dec 6, 2026)."""
    if value in (None, ""):
        return NOTHING
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return formats.date_format(value, "DATETIME_FORMAT")
    if isinstance(value, date):
        return formats.date_format(value, "DATE_FORMAT")
    return str(value)


register = template.Library()
register.filter("money", money)
register.filter("plain", plain)
register.filter("when", when)
