"""JSON API for orders. Login by session; 401/404/409 bodies are JSON with an "error"."""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET, require_http_methods

from kadouri.display import currency_code
from kadouri.http import api_login_required, client_ip, json_error, json_object_body
from kadouri.text import refuse_control_characters
from products.stock import StockLine
from qbo_integration.adapt.classes import class_id_problem, class_options, known_class_name
from qbo_integration.adapt.currency import exchange_rate_problem

from . import services
from .models import Order, validate_order_date
from .selectors import order_lines_with_stock, order_stock_warnings

ACTIVITIES_DEFAULT_LIMIT = 500
ACTIVITIES_MAX_LIMIT = 5000
EDITABLE_API_FIELDS = {
    "notes",
    "terms",
    "order_date",
    "commission_rate",
    "ready_to_push",
    "exchange_rate",
    "qbo_class_id",
}


class Unprocessable(ValueError):
    """A well-formed value the order can't take (an exchange rate for a home-currency buyer, an inactive class):
    422 with the reason."""


def _decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _rate_text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"


def order_json(order: Order) -> dict:
    lines = order_lines_with_stock(order)
    return {
        "id": order.pk,
        "number": order.number,
        "sellerId": order.seller_id,
        "buyerId": order.buyer_id,
        "orderDate": order.order_date.isoformat(),
        "terms": order.terms,
        "notes": order.notes,
        "status": order.status,
        "paymentStatus": order.payment_status,
        "commissionRate": str(order.commission_rate),
        "subtotal": str(order.subtotal),
        "commissionAmount": str(order.commission_amount),
        "total": str(order.total),
        "qboDocId": order.qbo_doc_id,
        "qboDocNumber": order.qbo_doc_number,
        "qboDocType": order.qbo_doc_type,
        "qboBalance": None if order.qbo_balance is None else str(order.qbo_balance),
        # The order's currency (its buyer's, or QuickBooks' once the document has one), the rate entered on the
        # order (null: QuickBooks' rate for the order date) and the class chosen on it (blank: the seller's or the
        # Settings default); then what QuickBooks booked: currency, rate, tax and the total in the home currency.
        "currency": currency_code(order),
        "exchangeRate": _rate_text(order.exchange_rate),
        "qboClassId": order.qbo_class_id,
        "qboClassName": known_class_name(order.qbo_class_id),  # never asks QuickBooks
        "qboTotal": _decimal_text(order.qbo_total),
        "qboCurrency": order.qbo_currency,
        "qboExchangeRate": _rate_text(order.qbo_exchange_rate),
        "qboTaxTotal": _decimal_text(order.qbo_tax_total),
        "qboHomeTotal": _decimal_text(order.qbo_home_total),
        "changedSinceLastSync": order.changed_since_push,
        "version": order.version,
        "lines": [
            {
                "productId": line.product_id,
                "product": line.product.name,
                "quantity": str(line.quantity),
                "unitPrice": str(line.unit_price),
                "size": line.size,
                "grade": line.grade,
                "amount": str(line.amount),
                "stock": _stock_json(stock),
            }
            for line, stock in lines
        ],
        # A warning, never a refusal (docs/quickbooks/beyond.md#stock): QuickBooks lets stock go below zero.
        "stockWarnings": order_stock_warnings(order, lines),
    }


def _stock_json(stock: StockLine | None) -> dict | None:
    """A product that tracks stock: QuickBooks' quantity on hand as last read, and whether this order asks for more."""
    if stock is None:
        return None
    return {
        "qtyOnHand": _decimal_text(stock.on_hand),
        "readAt": stock.read_at.isoformat() if stock.read_at else None,
        "orderAsks": str(stock.asked),
        "short": stock.short,
    }


# GET answers in camelCase; PATCH takes the same names (and the snake_case ones the pages use).
CAMEL_CASE_FIELDS = {
    "orderDate": "order_date",
    "commissionRate": "commission_rate",
    "readyToPush": "ready_to_push",
    "exchangeRate": "exchange_rate",
    "qboClassId": "qbo_class_id",
    "classId": "qbo_class_id",
}


def _exchange_rate(value, order: Order) -> Decimal | None:
    """null clears it; else a number the order form would take (adapt/currency.py exchange_rate_problem)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise Unprocessable("exchangeRate must be a number, e.g. 0.73 (null: QuickBooks' rate for the order date).")
    try:
        rate = Decimal(str(value).strip())
    except InvalidOperation:
        raise Unprocessable("exchangeRate must be a number, e.g. 0.73.") from None
    problem = exchange_rate_problem(rate, order.buyer)
    if problem:
        raise Unprocessable(problem)
    return rate


def _class_id(value, order: Order) -> str:
    """One of the company's active classes, where it tracks classes; "" or null: the seller's class, else the
    Settings default (adapt/classes.py)."""
    if value is None or value == "":
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise Unprocessable('classId must be the id of a QuickBooks class, e.g. "3".')
    class_id, options = str(value).strip(), class_options(keeps_choice=False)
    if not options.tracked:
        raise Unprocessable("The QuickBooks company does not track classes: leave classId out.")
    if class_id == order.qbo_class_id or class_id in dict(options.choices):
        return class_id
    if options.problem:
        raise Unprocessable(options.problem)
    raise Unprocessable(class_id_problem(class_id, "choose another class") or f"Unknown class {class_id}.")


def _parse_patch(body: dict, order: Order) -> dict:
    body = {CAMEL_CASE_FIELDS.get(key, key): value for key, value in body.items()}
    unknown = set(body) - EDITABLE_API_FIELDS - {"version"}
    if unknown:
        raise ValueError(f"Unknown or read-only field(s): {', '.join(sorted(unknown))}.")
    fields = {}
    if "notes" in body:
        if not isinstance(body["notes"], str) or len(body["notes"]) > 10_000:
            raise ValueError("notes must be a string of at most 10,000 characters.")
        fields["notes"] = refuse_control_characters(body["notes"], "notes")
    if "terms" in body:
        if body["terms"] not in Order.Terms.values:
            raise ValueError(f"terms must be one of: {', '.join(Order.Terms.values)}.")
        fields["terms"] = body["terms"]
    if "order_date" in body:
        try:
            fields["order_date"] = date.fromisoformat(str(body["order_date"]))
        except ValueError:
            raise ValueError("order_date must be a date like 2026-11-25.") from None
        try:
            validate_order_date(fields["order_date"])
        except ValidationError as e:
            raise ValueError(" ".join(e.messages)) from None
    if "commission_rate" in body:
        try:
            rate = Decimal(str(body["commission_rate"]))
        except InvalidOperation:
            raise ValueError("commission_rate must be a number.") from None
        if not rate.is_finite() or not (0 <= rate <= 100):
            raise ValueError("commission_rate must be between 0 and 100.")
        fields["commission_rate"] = rate.quantize(Decimal("0.01"))
    if "ready_to_push" in body:
        if not isinstance(body["ready_to_push"], bool):
            raise ValueError("ready_to_push must be true or false.")
        fields["ready_to_push"] = body["ready_to_push"]
    if "exchange_rate" in body:
        fields["exchange_rate"] = _exchange_rate(body["exchange_rate"], order)
    if "qbo_class_id" in body:
        fields["qbo_class_id"] = _class_id(body["qbo_class_id"], order)
    return fields


@api_login_required
@require_http_methods(["GET", "PATCH", "DELETE"])
def order_resource(request: HttpRequest, order_id: int) -> JsonResponse:
    order = (
        Order.objects.filter(pk=order_id).select_related("seller", "buyer").prefetch_related("lines__product").first()
    )
    if order is None:
        return json_error(404, f"Order {order_id} does not exist.")
    if request.method == "GET":
        return JsonResponse(order_json(order))
    if request.method == "DELETE":
        try:
            number = services.order_delete(order_id=order.pk, by=request.user, ip=client_ip(request))
        except services.OrderError as e:
            return json_error(409, str(e))
        return JsonResponse({"deleted": number})
    try:
        body = json_object_body(request)
        fields = _parse_patch(body, order)
        version = body.get("version")
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            raise ValueError("version must be an integer.")
    except Unprocessable as e:
        return json_error(422, str(e))
    except ValueError as e:
        return json_error(400, str(e))
    try:
        if version is None:
            services.order_refuse_unless_editable(order)
            return json_error(
                400,
                "version is required: send the version you read (GET /api/orders/<id>) so "
                "that someone else's edit in between is not overwritten.",
            )
        order = services.order_update(
            order_id=order.pk,
            fields=fields,
            lines=None,
            by=request.user,
            ip=client_ip(request),
            expected_version=version,
        )
    except services.OrderError as e:
        return json_error(409, str(e))
    return JsonResponse(order_json(order))


@api_login_required
@require_GET
def order_activities(request: HttpRequest, order_id: int) -> JsonResponse:
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return json_error(404, f"Order {order_id} does not exist.")
    limit = request.GET.get("limit", str(ACTIVITIES_DEFAULT_LIMIT))
    if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= ACTIVITIES_MAX_LIMIT:
        return json_error(400, f"limit must be a whole number from 1 to {ACTIVITIES_MAX_LIMIT}.")
    activities = order.activities.all()
    response = JsonResponse([a.as_json() for a in activities[: int(limit)]], safe=False)  # the spec: a list
    response["X-Total-Count"] = str(activities.count())
    return response
