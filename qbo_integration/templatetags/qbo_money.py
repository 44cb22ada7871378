"""Template helper for the order page's money card (selectors/money.py)."""

import hashlib

from django import template
from django.template.loader import render_to_string

from ..outbound.payments import may_record_payment
from ..selectors.money import buyer_open_credits, credit_json, money_fate, order_credits, order_money

register = template.Library()


@register.simple_tag
def qbo_order_money(order):
    return order_money(order)


@register.filter
def payment_allowed(order) -> bool:
    """Whether the order page offers "Record payment" (the status table of outbound/payments.py)."""
    return may_record_payment(order)


@register.filter(name="money_fate")
def money_fate_filter(row) -> str:
    """What happened to a deleted or voided payment or credit (selectors/money.py), "" for an active one."""
    return money_fate(row)


@register.simple_tag
def qbo_order_credits(order):
    """The order's credits with what each has left, was applied and refunded (credit_json's figures)."""
    return [{"row": row, **credit_json(row)} for row in order_credits(order)]


@register.simple_tag
def qbo_buyer_credits(account):
    """The buyer's credits with credit left (the account page lists them with Apply and Refund)."""
    return [{"row": row, **credit_json(row)} for row in buyer_open_credits(account)]


@register.simple_tag(takes_context=True)
def qbo_money_stamp(context, order) -> str:
    """A digest of the order's Money card as it renders now. The QuickBooks panel carries it, so the panel's poll
    answers (swapping the card in out of band) when only the card has news: a credit refunded in QuickBooks while
    the invoice stays paid, a payment's reference changed there."""
    html = render_to_string("orders/_money.html", {"order": order}, request=context.get("request"))
    return hashlib.sha256(html.encode()).hexdigest()[:16]
