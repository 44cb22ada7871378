"""Stock on the pages (docs/quickbooks/beyond.md#stock): the Settings card, each order line's quantity on hand, and
the digest that lets the order page's QuickBooks panel swap the lines in when a quantity changed."""

import hashlib

from django import template
from django.template.loader import render_to_string

from orders.selectors import order_lines_with_stock
from products.models import Product

from ..adapt.stock import stock_settings, unavailable_reason
from ..stock_forms import StockAccountsForm

register = template.Library()


@register.simple_tag(takes_context=True)
def qbo_stock_card(context) -> str:
    """The Settings card: why stock is unavailable, or the accounts Inventory items use (admins choose them)."""
    settings = stock_settings()
    card = {
        "stock": settings,
        "reason": unavailable_reason(settings) if not settings.tracking else "",
        "stock_form": StockAccountsForm(conn=context["conn"]) if settings.tracking else None,
        "can_manage": context.get("can_manage", False),
        "tracked": Product.objects.filter(tracks_inventory=True).count(),
    }
    return render_to_string("qbo_integration/_stock_card.html", card, request=context.get("request"))


@register.simple_tag
def qbo_order_lines(order) -> list:
    """The order's lines, each with its product's stock or None (orders/selectors.py)."""
    return order_lines_with_stock(order)


@register.simple_tag(takes_context=True)
def qbo_stock_stamp(context, order) -> str:
    """A digest of the order's lines as they render now (with QuickBooks' quantities). The QuickBooks panel carries
    it, so its poll answers — swapping the lines in out of band — when only a quantity on hand changed."""
    html = render_to_string("orders/_order_lines.html", {"order": order}, request=context.get("request"))
    return hashlib.sha256(html.encode()).hexdigest()[:16]


@register.simple_tag
def line_stock(line_form, product_info: dict) -> dict:
    """The order form's line: its product's quantity on hand, from the form's product data (no query)."""
    value = line_form["product"].value() if "product" in line_form.fields else None
    return (product_info or {}).get(str(value or ""), {})
