"""How Kadouri writes money, numbers and times for people: the same on every page, message and activity entry.

Templates use these as filters (`{{ order.total|money }}`, `{{ event.received_at|when }}`, `{{ line.quantity|plain }}`,
registered for every template in settings.TEMPLATES); Python code that builds text calls them directly.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django import template
from django.utils import formats, timezone

NOTHING = "—"


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def money(value) -> str:
    """$1,440.00 · -$5.00 · — for no value."""
    amount = _decimal(value)
    if amount is None:
        return NOTHING
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


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
