"""Template helper for the order page's money card (selectors/money.py)."""

from django import template

from ..selectors.money import order_money

register = template.Library()


@register.simple_tag
def qbo_order_money(order):
    return order_money(order)
