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

from kadouri.http import api_login_required, client_ip, json_error
from orders.models import Order

from ..client.errors import QboError
from ..context_processors import can_manage_quickbooks
from ..models import QboMoney, QboSyncJob
from ..outbound.payments import payment_delete_request, payment_record_request
from ..outbox.jobs import SyncRefused
from ..selectors.money import order_money, order_payments_json, payment_json
from .sync_api import idempotency_token, job_body, json_object_or_404, refused_json, request_body

ADMINS_ONLY = "Only admins can delete a payment."


def _answer(job: QboSyncJob, order: Order, payment_id: str) -> JsonResponse:
    body, status = job_body(job)
    order.refresh_from_db()
    row = order.qbo_money.filter(entity=QboMoney.Entity.PAYMENT, qbo_id=payment_id).first() if payment_id else None
    body |= {"payment": payment_json(row) if row else None, "money": order_money(order).as_json()}
    return JsonResponse(body, status=status)


@api_login_required
@require_http_methods(["GET", "POST"])
@json_object_or_404(Order, "Order")
def api_order_payments(request: HttpRequest, order: Order) -> JsonResponse:
    if request.method == "GET":
        return JsonResponse(order_payments_json(order))
    try:
        body = request_body(request)
        job = payment_record_request(
            order=order,
            amount=body.get("amount"),
            date=body.get("date"),
            method=body.get("method"),
            reference=body.get("reference"),
            deposit_to=body.get("depositTo"),
            currency=body.get("currency"),
            token=idempotency_token(request),
            by=request.user,
            ip=client_ip(request),
        )
    except (SyncRefused, QboError) as e:
        return refused_json(e)
    return _answer(job, order, str((job.result or {}).get("paymentId") or ""))


@api_login_required
@require_http_methods(["DELETE"])
@json_object_or_404(Order, "Order")
def api_order_payment_delete(request: HttpRequest, order: Order, payment_id: str) -> JsonResponse:
    if not can_manage_quickbooks(request.user):
        return json_error(403, ADMINS_ONLY)
    try:
        job = payment_delete_request(
            order=order,
            payment_id=payment_id,
            reason=request_body(request).get("reason"),
            token=idempotency_token(request),
            by=request.user,
            ip=client_ip(request),
        )
    except (SyncRefused, QboError) as e:
        return refused_json(e)
    return _answer(job, order, payment_id)
