from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.models import Account
from kadouri.display import home_currency, money, plain, when
from kadouri.http import client_ip
from kadouri.live import render_live
from products.models import Product

from . import selectors, services
from .forms import OrderForm, OrderLineFormSet, initial_lines
from .models import Order

ORDERS_PER_PAGE = 50
ACTIVITIES_PER_PAGE = 20


def _get_order(order_id: int) -> Order:
    try:
        return selectors.order_for_display(order_id=order_id)
    except Order.DoesNotExist:
        raise Http404("No such order.") from None


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    filters = {
        "status": request.GET.get("status", ""),
        "payment_status": request.GET.get("payment_status", ""),
        "search": request.GET.get("q", "").strip()[:100],
        "sort": request.GET.get("sort", "-date"),
    }
    page = Paginator(selectors.order_list(**filters), ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "orders/order_list.html",
        {
            "page": page,
            "filters": filters,
            "query": query.urlencode(),
            "statuses": Order.Status.choices,
            "payment_statuses": Order.PaymentStatus.choices,
        },
    )


@login_required
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _get_order(order_id)
    tab = "activity" if request.GET.get("tab") == "activity" else "lines"
    activities = Paginator(order.activities.all(), ACTIVITIES_PER_PAGE).get_page(request.GET.get("apage"))
    # The QuickBooks panel polls with its stamp: it is swapped only once something it shows has changed.
    panel, _ = render_live(request, "orders/_qbo_panel.html", {"order": order, "tab": tab})
    return render(
        request, "orders/order_detail.html", {"order": order, "tab": tab, "activities": activities, "qbo_panel": panel}
    )


def _render_form(request, form, formset, order=None, status=200):
    # For the form's script: a blank unit price means the product's list price (shown as a placeholder) for a
    # buyer who pays in the home currency, and the unit the product is sold by shows beside the quantity.
    products = {
        str(pk): {"price": str(price), "unit": unit}
        for pk, price, unit in Product.objects.values_list("pk", "unit_price", "unit")
    }
    # QuickBooks' quantity on hand of products that track stock, shown by each line (docs/quickbooks/beyond.md#stock)
    tracked = Product.objects.filter(tracks_inventory=True).values_list("pk", "qbo_qty_on_hand", "qbo_qty_read_at")
    for pk, on_hand, read_at in tracked:
        products[str(pk)] |= {"stock": None if on_hand is None else plain(on_hand), "stockAt": when(read_at)}
    # Amounts are written in the buyer's currency, list prices in the home currency (kadouri/display.py).
    currencies = {
        "home": home_currency(),
        "buyers": {str(pk): code for pk, code in Account.objects.exclude(currency="").values_list("pk", "currency")},
    }
    return render(
        request,
        "orders/order_form.html",
        {
            "form": form,
            "formset": formset,
            "order": order,
            "product_info": products,
            "currency_info": currencies,
            "stock_taken": _stock_taken(order),
            "zero": money(0, order or ""),
        },
        status=status,
    )


def _stock_taken(order: Order | None) -> dict[str, str]:
    """What the order's invoice or cash sale took off QuickBooks' quantities already, per product: the form's
    warning counts it back (a posted order's lines are in the quantity on hand QuickBooks shows)."""
    if order is None:
        return {}
    return {
        str(line.product.pk): str(stock.asked)
        for line, stock in selectors.order_lines_with_stock(order)
        if stock is not None and stock.taken
    }


def _warn_about_stock(request: HttpRequest, order: Order) -> None:
    """A warning, not a refusal: the order asks for more than QuickBooks has on hand (QuickBooks allows it)."""
    for warning in selectors.order_stock_warnings(order):
        messages.warning(request, f"{warning} The order is saved; QuickBooks lets stock go below zero.")


def _priced(form, formset) -> bool:
    """Product prices are in the home currency: each line of a foreign-currency order has its own unit price (else
    the error is on the line's price)."""
    return formset.require_unit_prices(services.unit_price_problem(form.cleaned_data.get("buyer")))


@login_required
@require_http_methods(["GET", "POST"])
def order_create(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        form = OrderForm(initial={"order_date": timezone.localdate()})
        return _render_form(request, form, OrderLineFormSet(prefix="lines"))
    form, formset = OrderForm(request.POST), OrderLineFormSet(request.POST, prefix="lines")
    if not (form.is_valid() and formset.is_valid() and _priced(form, formset)):
        return _render_form(request, form, formset, status=400)
    try:
        order = services.order_create(
            fields=form.header_fields(), lines=formset.line_inputs(), by=request.user, ip=client_ip(request)
        )
    except services.OrderError as e:
        form.add_error(None, str(e))
        return _render_form(request, form, formset, status=409)
    messages.success(request, f"Order {order.number} created.")
    _warn_about_stock(request, order)
    return redirect(order)


@login_required
@require_http_methods(["GET", "POST"])
def order_edit(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _get_order(order_id)
    if not order.is_editable:
        messages.error(request, f"Order {order.number} is {order.get_status_display().lower()} and cannot be edited.")
        return redirect(order)
    if request.method == "GET":
        formset = OrderLineFormSet(initial=initial_lines(order), prefix="lines")
        return _render_form(request, OrderForm(instance=order), formset, order)
    form = OrderForm(request.POST, instance=order)
    formset = OrderLineFormSet(request.POST, initial=initial_lines(order), prefix="lines")
    if not (form.is_valid() and formset.is_valid() and _priced(form, formset)):
        return _render_form(request, form, formset, order, status=400)
    try:
        services.order_update(
            order_id=order.pk,
            fields=form.header_fields(),
            lines=formset.line_inputs(),
            by=request.user,
            ip=client_ip(request),
            expected_version=form.cleaned_data.get("version"),
        )
    except Order.DoesNotExist:
        raise Http404("No such order.") from None
    except services.OrderError as e:
        form.add_error(None, str(e))
        return _render_form(request, form, formset, order, status=409)
    messages.success(request, f"Order {order.number} saved.")
    _warn_about_stock(request, order)
    return redirect(order)


@login_required
@require_http_methods(["GET", "POST"])
def order_delete(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _get_order(order_id)
    if request.method == "GET":
        return render(request, "orders/order_confirm_delete.html", {"order": order})
    try:
        number = services.order_delete(order_id=order.pk, by=request.user, ip=client_ip(request))
    except services.OrderError as e:
        messages.error(request, str(e))
        return redirect(order)
    messages.success(request, f"Order {number} deleted.")
    return redirect("orders:list")
