"""Template helper for the order page's money card (selectors/money.py)."""

from django import template

from ..outbound.payments import may_record_payment
from ..selectors.money import order_money

register = template.Library()


@register.simple_tag
def qbo_order_money(order):
    return order_money(order)


@register.filter
def payment_allowed(order) -> bool:
    """Whether the order page offers "Record payment" (the status table of outbound/payments.py)."""
    return may_record_payment(order)
