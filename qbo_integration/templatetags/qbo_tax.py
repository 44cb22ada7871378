"""Template helper for the order page's totals: QuickBooks' tax as it computed it (adapt/tax.py)."""

from decimal import Decimal, InvalidOperation

from django import template

from ..adapt.tax import AUTOMATED, GLOBAL, tax_context, tax_rows

register = template.Library()


@register.simple_tag
def qbo_order_tax(order) -> dict:
    """What the lines table shows under Kadouri's subtotal: `shown` — QuickBooks' tax rows (`rows`), a sum row
    only when it says more than the one row (`sum_row`), then QuickBooks' total; `pending` — the company taxes
    but QuickBooks has not computed this order's tax yet."""
    ctx = tax_context()
    taxes = ctx.mode in (AUTOMATED, GLOBAL)
    in_qbo = order.is_in_quickbooks
    if not (in_qbo and (taxes or order.qbo_tax_total or order.qbo_tax_lines)):
        return {"shown": False, "pending": taxes and not in_qbo}
    rows = tax_rows(order, ctx)
    return {"shown": True, "rows": rows, "sum_row": len(rows) != 1 or _amount(rows[0]) != order.qbo_tax_total}


def _amount(row: dict) -> Decimal | None:
    try:
        return Decimal(str(row["amount"]))
    except (InvalidOperation, KeyError):
        return None
