"""The JSON API of an order's payments (docs/quickbooks/money.md#payments): list them, record one, delete one
(admins). Thin: one service call each, the answers and statuses of the sync API.

Statuses: 200 done · 202 queued (the job with its retry time) · 401 · 403 not an admin (delete) · 404 · 409 the
status table forbids it, or the order is busy · 422 bad input {"error", "field"} · 502 QuickBooks refused
{"error", "code"} · 503 QuickBooks unreachable or not connected. `Idempotency-Key: <token>` on a POST or DELETE
makes a repeat of the same request join the first one's job.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_http_methods

from kadouri.http import api_login_required, client_ip, json_error, json_object_body
from orders.models import Order

from ..client.errors import QboError
from ..context_processors import can_manage_quickbooks
from ..models import QboMoney, QboSyncJob
from ..outbound.payments import payment_delete_request, payment_record_request
from ..outbox.jobs import SyncRefused
from ..selectors.money import order_money, order_payments_json, payment_json
from .sync_api import job_json, job_status, json_object_or_404

State = QboSyncJob.State
ADMINS_ONLY = "Only admins can delete a payment."


def _refused(e: Exception) -> JsonResponse:
    if isinstance(e, SyncRefused):
        return json_error(e.status, e.message, **({"field": e.field} if e.field else {}))
    status = 503 if e.kind in {"auth", "not_connected", "transient", "throttled"} else 502
    return json_error(status, e.message, code=e.code or None)


def _body(request: HttpRequest) -> dict:
    try:
        return json_object_body(request)
    except ValueError as e:
        raise SyncRefused(str(e), status=400) from None


def _token(request: HttpRequest) -> str:
    return request.headers.get("Idempotency-Key", "").strip()[:64]


def _answer(job: QboSyncJob, order: Order, payment_id: str) -> JsonResponse:
    status = job_status(job)
    order.refresh_from_db()
    row = order.qbo_money.filter(entity=QboMoney.Entity.PAYMENT, qbo_id=payment_id).first() if payment_id else None
    body = {"job": job_json(job), "payment": payment_json(row) if row else None, "money": order_money(order).as_json()}
    if status == 202:
        body["message"] = "Queued: QuickBooks is busy; the payment is recorded when it answers."
    elif status != 200:
        body |= {"error": job.last_error, "code": job.error_code or None}
    return JsonResponse(body, status=status)


@api_login_required
@require_http_methods(["GET", "POST"])
@json_object_or_404(Order, "Order")
def api_order_payments(request: HttpRequest, order: Order) -> JsonResponse:
    if request.method == "GET":
        return JsonResponse(order_payments_json(order))
    try:
        body = _body(request)
        job = payment_record_request(
            order=order,
            amount=body.get("amount"),
            date=body.get("date"),
            method=body.get("method"),
            reference=body.get("reference"),
            deposit_to=body.get("depositTo"),
            currency=body.get("currency"),
            token=_token(request),
            by=request.user,
            ip=client_ip(request),
        )
    except (SyncRefused, QboError) as e:
        return _refused(e)
    return _answer(job, order, str((job.result or {}).get("paymentId") or ""))


@api_login_required
@require_http_methods(["DELETE"])
def api_order_payment_delete(request: HttpRequest, order_id: int, payment_id: str) -> JsonResponse:
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return json_error(404, f"Order {order_id} does not exist.")
    if not can_manage_quickbooks(request.user):
        return json_error(403, ADMINS_ONLY)
    try:
        job = payment_delete_request(
            order=order,
            payment_id=payment_id,
            reason=_body(request).get("reason"),
            token=_token(request),
            by=request.user,
            ip=client_ip(request),
        )
    except (SyncRefused, QboError) as e:
        return _refused(e)
    return _answer(job, order, payment_id)
