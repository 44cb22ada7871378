"""The spec's JSON sync API: push, update, void and convert an order's document, sync an account or a product,
read an order's document as QuickBooks has it. Thin: one service call each.

Statuses: 401 not logged in · 404 unknown id · 409 the status table forbids · 422 the order is incomplete, a
company rule refuses its customer or an item (Settings → QuickBooks → Company rules), or it is dated on or before
the company's closing date (the order must change: docs/quickbooks/next.md#closing-date) ·
502 QuickBooks refused (with its reason and code) · 503 QuickBooks unreachable or not connected ·
202 the work was queued (with the job and its retry time; the worker finishes it) · 200 done.
"""

from __future__ import annotations

from functools import wraps

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Account
from kadouri.display import when
from kadouri.http import api_login_required, client_ip, json_error, json_object_body
from orders.models import Order
from products.models import Product

from ..adapt.names import CompanyRuleRefused
from ..client.errors import QboError
from ..models import QboSyncJob
from ..outbound.cash_sales import cash_sale_request
from ..outbound.requests import (
    order_convert_request,
    order_push_request,
    order_qbo_status,
    order_update_request,
    order_void_request,
    ref_sync_request,
)
from ..outbox.jobs import SyncRefused

State = QboSyncJob.State
UNAVAILABLE_KINDS = {"auth", "not_connected", "transient", "throttled"}
CASH_SALE_TYPES = ("salesReceipt", "sales_receipt")  # a cash sale (docs/quickbooks/money.md#cash-sales)


def json_object_or_404(model, label: str):
    """The view gets the object named by the URL's first id (and the URL's other parts by name), or the client
    gets a JSON 404."""

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, **kwargs) -> JsonResponse:
            pk = kwargs.pop(next(iter(kwargs)))
            obj = model.objects.filter(pk=pk).first()
            if obj is None:
                return json_error(404, f"{label} {pk} does not exist.")
            return view(request, obj, **kwargs)

        return wrapper

    return decorator


def job_json(job: QboSyncJob) -> dict:
    return {
        "id": job.pk,
        "action": job.action,
        "state": job.state,
        "requestId": job.request_id,
        "attempts": job.attempts,
        "maxAttempts": job.max_attempts,
        "inDoubt": job.in_doubt,
        "retryAt": job.not_before.isoformat() if job.state == State.PENDING else None,
        "errorKind": job.error_kind or None,
        "errorCode": job.error_code or None,
        "error": job.last_error or None,
        "result": job.result,
    }


def order_qbo_json(order: Order) -> dict:
    return {
        "id": order.pk,
        "number": order.number,
        "status": order.status,
        "qboDocId": order.qbo_doc_id,
        "qboDocNumber": order.qbo_doc_number,
        "qboDocType": order.qbo_doc_type,
        "qboTotal": None if order.qbo_total is None else str(order.qbo_total),
        "qboTaxTotal": None if order.qbo_tax_total is None else str(order.qbo_tax_total),
        "qboBalance": None if order.qbo_balance is None else str(order.qbo_balance),
        "paymentStatus": order.payment_status,
        "changedSinceLastSync": order.changed_since_push,
    }


def job_status(job: QboSyncJob) -> int:
    if job.state == State.DONE:
        return 200
    if job.state in (State.PENDING, State.RUNNING):
        return 202
    if job.error_kind == "refused":
        return 409
    return _failure_status(job.error_kind)


def _failure_status(kind: str) -> int:
    """503 when QuickBooks cannot be reached or Kadouri cannot reach it (retry later, or reconnect); 502 when it
    answered with a refusal; 422 when a company rule refused before the document was sent (adapt/names.py)."""
    if kind == CompanyRuleRefused.kind:
        return 422
    return 503 if kind in UNAVAILABLE_KINDS else 502


def job_body(job: QboSyncJob) -> tuple[dict, int]:
    """{"job"} and the job's status: a queued one says when it is retried, a failed one adds QuickBooks' reason and
    code."""
    body, status = {"job": job_json(job)}, job_status(job)
    if status == 202:
        body["message"] = (
            f"Queued: QuickBooks is busy; retrying at {when(job.not_before)}."
            if job.state == State.PENDING
            else "QuickBooks is already working on this."
        )
    elif status != 200:
        body["error"] = job.last_error
        body["code"] = job.error_code or None
    return body, status


def _order_job_response(job: QboSyncJob, order: Order) -> JsonResponse:
    body, status = job_body(job)
    order.refresh_from_db()
    return JsonResponse(body | {"order": order_qbo_json(order)}, status=status)


def refused_json(e: SyncRefused | QboError) -> JsonResponse:
    """A refusal before anything was sent (with the input field to fix, when it is about one), or QuickBooks'."""
    if isinstance(e, SyncRefused):
        return json_error(e.status, e.message, **({"field": e.field} if e.field else {}))
    return json_error(_failure_status(e.kind), e.message, code=e.code or None)


def request_body(request: HttpRequest) -> dict:
    try:
        return json_object_body(request)
    except ValueError as e:
        raise SyncRefused(str(e), status=400) from None


def idempotency_token(request: HttpRequest) -> str:
    """`Idempotency-Key`: a repeat of the same request joins the first one's job."""
    return request.headers.get("Idempotency-Key", "").strip()[:64]


@api_login_required
@require_http_methods(["POST", "PUT", "DELETE"])
@json_object_or_404(Order, "Order")
def api_sync_order(request: HttpRequest, order: Order) -> JsonResponse:
    who = {"order": order, "by": request.user, "ip": client_ip(request)}
    try:
        if request.method == "POST":
            body = request_body(request)
            doc_type = str(body.get("docType", "invoice"))
            if doc_type in CASH_SALE_TYPES:
                job = cash_sale_request(
                    method=str(body.get("method") or ""),
                    reference=str(body.get("reference") or ""),
                    deposit_to=str(body.get("depositTo") or ""),
                    **who,
                )
            else:
                job = order_push_request(doc_type=doc_type, **who)
        elif request.method == "PUT":
            job = order_update_request(**who)
        else:
            job = order_void_request(**who)
    except (SyncRefused, QboError) as e:
        return refused_json(e)
    return _order_job_response(job, order)


@api_login_required
@require_POST
@json_object_or_404(Order, "Order")
def api_convert_order(request: HttpRequest, order: Order) -> JsonResponse:
    try:
        job = order_convert_request(order=order, by=request.user, ip=client_ip(request))
    except (SyncRefused, QboError) as e:
        return refused_json(e)
    return _order_job_response(job, order)


def _ref_response(request: HttpRequest, obj: Account | Product) -> JsonResponse:
    try:
        job = ref_sync_request(obj=obj, by=request.user, ip=client_ip(request))
    except (SyncRefused, QboError) as e:
        return refused_json(e)
    body, status = job_body(job)
    obj.refresh_from_db()
    body[obj._meta.model_name] = {
        "id": obj.pk,
        "qboId": obj.qbo_id,
        "qboSyncToken": obj.qbo_sync_token,
    }
    if isinstance(obj, Product) and obj.tracks_inventory:  # docs/quickbooks/beyond.md#stock
        body["product"] |= {
            "tracksInventory": True,
            "qtyOnHand": None if obj.qbo_qty_on_hand is None else str(obj.qbo_qty_on_hand),
            "qtyReadAt": obj.qbo_qty_read_at.isoformat() if obj.qbo_qty_read_at else None,
        }
    return JsonResponse(body, status=status)


@api_login_required
@require_POST
@json_object_or_404(Account, "Account")
def api_sync_account(request: HttpRequest, account: Account) -> JsonResponse:
    return _ref_response(request, account)


@api_login_required
@require_POST
@json_object_or_404(Product, "Product")
def api_sync_product(request: HttpRequest, product: Product) -> JsonResponse:
    return _ref_response(request, product)


@api_login_required
@require_GET
@json_object_or_404(Order, "Order")
def api_order_status(request: HttpRequest, order: Order) -> JsonResponse:
    try:
        return JsonResponse(order_qbo_status(order=order))
    except (SyncRefused, QboError) as e:
        return refused_json(e)
