"""Template helpers for the broker's own books (docs/quickbooks/beyond.md#the-brokers-own-books): the order page's
card and the digest the QuickBooks panel carries so its poll brings the card's news."""

import hashlib
import re

from django import template
from django.template.loader import render_to_string

from ..selectors.broker import order_broker
from ..views.broker_pages import broker_books_form

register = template.Library()
CARD = "orders/_broker_document.html"
_CSRF = re.compile(r'<input type="hidden" name="csrfmiddlewaretoken" value="[^"]*">')  # masked afresh each render


@register.simple_tag
def qbo_order_broker(order):
    return order_broker(order)


@register.simple_tag(takes_context=True)
def qbo_broker_stamp(context, order) -> str:
    """A digest of the order's broker card as it renders now: the QuickBooks panel carries it, so the panel's poll
    answers (swapping the card in out of band) when only the card has news — the seller paid in QuickBooks."""
    html = render_to_string(CARD, {"order": order}, request=context.get("request"))
    return hashlib.sha256(_CSRF.sub("", html).encode()).hexdigest()[:16]


@register.simple_tag(takes_context=True)
def qbo_broker_form(context):
    """The Settings card's form: the one the admin just sent with its errors, else a fresh one."""
    return context.get("broker_form") or broker_books_form(context["conn"])
