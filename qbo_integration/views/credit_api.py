"""The JSON API of credits and refunds (docs/quickbooks/money.md#credits): an order's credits, issuing one, applying
a credit to another open order of the buyer, refunding it. Thin: one service call each.

Statuses as the sync API's: 200 done · 202 queued · 401 · 404 · 409 the status table forbids or the order is busy ·
422 bad input {"error", "field"} · 502 QuickBooks refused {"error", "code"} · 503 unreachable or not connected.
`Idempotency-Key: <token>` makes a repeated POST join the first one's job."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_http_methods, require_POST

from kadouri.http import api_login_required, client_ip
from orders.models import Order

from ..adapt.money_input import MoneyInputError
from ..client.errors import QboError
from ..models import QboMoney, QboSyncJob
from ..outbound.credits import credit_apply_request, credit_issue_request, credit_refund_request
from ..outbox.jobs import SyncRefused
from ..selectors.money import credit_json, order_credits, order_money
from .sync_api import idempotency_token, job_body, json_object_or_404, refused_json, request_body


def _is_id(value) -> bool:
    text = str(value)
    return text.isascii() and text.isdigit()


def _credit_of(job: QboSyncJob) -> QboMoney | None:
    memo_id = (job.result or {}).get("memoId")
    if not memo_id:
        return None
    return QboMoney.objects.filter(realm_id=job.realm_id, entity=QboMoney.Entity.CREDIT_MEMO, qbo_id=memo_id).first()


def credit_job_response(job: QboSyncJob, order: Order | None) -> JsonResponse:
    """{"job", "credit", "money"} with the job's status (sync_api.job_body); "money" is null for a credit of no
    Kadouri order."""
    job.refresh_from_db()
    body, status = job_body(job)
    credit = _credit_of(job)
    body["credit"] = credit_json(credit) if credit is not None else None
    body["money"] = None
    if order is not None:
        order.refresh_from_db()
        body["money"] = order_money(order).as_json()
    return JsonResponse(body, status=status)


@api_login_required
@require_http_methods(["GET", "POST"])
@json_object_or_404(Order, "Order")
def api_order_credits(request: HttpRequest, order: Order) -> JsonResponse:
    if request.method == "GET":
        return JsonResponse(
            {
                "orderId": order.pk,
                "money": order_money(order).as_json(),
                "credits": [credit_json(row) for row in order_credits(order)],
            }
        )
    try:
        body = request_body(request)
        job = credit_issue_request(
            order=order,
            reason=body.get("reason"),
            lines=body.get("lines"),
            amount=body.get("amount"),
            note=body.get("note", ""),
            date=body.get("date"),
            currency=body.get("currency"),
            token=idempotency_token(request),
            by=request.user,
            ip=client_ip(request),
        )
    except (SyncRefused, QboError) as e:
        return refused_json(e)
    return credit_job_response(job, order)


@api_login_required
@require_POST
def api_credit_apply(request: HttpRequest, credit_id: str) -> JsonResponse:
    try:
        body = request_body(request)
        target = Order.objects.filter(pk=body.get("orderId")).first() if _is_id(body.get("orderId", "")) else None
        if target is None:
            raise MoneyInputError("Choose the order to apply the credit to (orderId).", field="orderId")
        job = credit_apply_request(
            credit_qbo_id=credit_id,
            target_order=target,
            amount=body.get("amount"),
            token=idempotency_token(request),
            by=request.user,
            ip=client_ip(request),
        )
    except (SyncRefused, QboError) as e:
        return refused_json(e)
    return credit_job_response(job, target)


@api_login_required
@require_POST
def api_credit_refund(request: HttpRequest, credit_id: str) -> JsonResponse:
    try:
        body = request_body(request)
        job = credit_refund_request(
            credit_qbo_id=credit_id,
            amount=body.get("amount"),
            account=body.get("account"),
            method=body.get("method"),
            reference=body.get("reference", ""),
            date=body.get("date"),
            token=idempotency_token(request),
            by=request.user,
            ip=client_ip(request),
        )
    except (SyncRefused, QboError) as e:
        return refused_json(e)
    return credit_job_response(job, job.order)
