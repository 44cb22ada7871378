from django.db.models import Q, QuerySet, Sum

from .models import Order

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
