from django.db.models import Q, QuerySet, Sum

from products.stock import StockLine, stock_lines

from .models import Order, OrderLine

SORTS = {"date": ("order_date", "id"), "-date": ("-order_date", "-id"), "number": ("number",), "-number": ("-number",)}


def order_list(*, status: str = "", payment_status: str = "", search: str = "", sort: str = "-date") -> QuerySet[Order]:
    orders = Order.objects.select_related("seller", "buyer").annotate(line_total=Sum("lines__amount"))
    if status in Order.Status.values:
        orders = orders.filter(status=status)
    if payment_status in Order.PaymentStatus.values:
        orders = orders.filter(payment_status=payment_status)
    if search:
        orders = orders.filter(
            Q(number__icontains=search) | Q(seller__name__icontains=search) | Q(buyer__name__icontains=search)
        )
    return orders.order_by(*SORTS.get(sort, SORTS["-date"]))


def order_for_display(*, order_id: int) -> Order:
    return (
        Order.objects.select_related("seller", "buyer", "created_by", "updated_by")
        .prefetch_related("lines__product")
        .get(pk=order_id)
    )


def order_lines_with_stock(order: Order) -> list[tuple[OrderLine, StockLine | None]]:
    """The order's lines (one query), each with its product's stock when the product tracks it: what the order's
    lines of it ask for together and QuickBooks' quantity on hand (products/stock.py). Once the order's invoice or
    cash sale is in QuickBooks, its goods are off that quantity already."""
    lines = list(order.lines.select_related("product"))
    taken = order.qbo_doc_type in (Order.DocType.INVOICE, Order.DocType.SALES_RECEIPT) and (
        order.status != Order.Status.CANCELLED
    )
    stock = stock_lines(((line.product, line.quantity) for line in lines), taken=taken)
    return [(line, stock.get(line.product_id)) for line in lines]


def order_stock_warnings(order: Order, rows: list[tuple[OrderLine, StockLine | None]] | None = None) -> list[str]:
    """One warning per product the order asks more of than QuickBooks has (`rows`: order_lines_with_stock's)."""
    rows = order_lines_with_stock(order) if rows is None else rows
    seen = {stock.product.pk: stock for _, stock in rows if stock is not None}
    return [stock.warning for stock in seen.values() if stock.short]
