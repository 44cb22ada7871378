"""The JSON API of credits and refunds (docs/quickbooks/money.md#credits): an order's credits, issuing one, applying
a credit to another open order of the buyer, refunding it. Thin: one service call each.

Statuses as the sync API's: 200 done · 202 queued · 401 · 404 · 409 the status table forbids or the order is busy ·
422 bad input {"error", "field"} · 502 QuickBooks refused {"error", "code"} · 503 unreachable or not connected.
`Idempotency-Key: <token>` makes a repeated POST join the first one's job."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_http_methods, require_POST

from kadouri.http import api_login_required, client_ip, json_error, json_object_body
from orders.models import Order

from ..adapt.money_input import MoneyInputError
from ..client.errors import QboError
from ..models import QboMoney, QboSyncJob
from ..outbound.credits import credit_apply_request, credit_issue_request, credit_refund_request
from ..outbox.jobs import SyncRefused
from ..selectors.money import credit_json, order_credits, order_money
from .sync_api import _refused, job_json, job_status, json_object_or_404


def refused_json(e: Exception) -> JsonResponse:
    if isinstance(e, MoneyInputError):
        return json_error(422, e.message, field=e.field)
    return _refused(e)


def _is_id(value) -> bool:
    text = str(value)
    return text.isascii() and text.isdigit()


def _token(request: HttpRequest) -> str:
    return request.headers.get("Idempotency-Key", "").strip()[:64]


def _credit_of(job: QboSyncJob) -> QboMoney | None:
    memo_id = (job.result or {}).get("memoId")
    if not memo_id:
        return None
    return QboMoney.objects.filter(realm_id=job.realm_id, entity=QboMoney.Entity.CREDIT_MEMO, qbo_id=memo_id).first()


def credit_job_response(job: QboSyncJob, order: Order) -> JsonResponse:
    """{"job", "credit", "money"} with the job's status; a failure adds QuickBooks' reason and code."""
    job.refresh_from_db()
    order.refresh_from_db()
    status = job_status(job)
    credit = _credit_of(job)
    body = {
        "job": job_json(job),
        "credit": credit_json(credit) if credit is not None else None,
        "money": order_money(order).as_json(),
    }
    if status not in (200, 202):
        body |= {"error": job.last_error, "code": job.error_code or None}
    return JsonResponse(body, status=status)


def _body(request: HttpRequest) -> dict:
    try:
        return json_object_body(request)
    except ValueError as e:
        raise SyncRefused(str(e), status=400) from None


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
        body = _body(request)
        job = credit_issue_request(
            order=order,
            reason=body.get("reason"),
            lines=body.get("lines"),
            amount=body.get("amount"),
            note=body.get("note", ""),
            date=body.get("date"),
            currency=body.get("currency"),
            token=_token(request),
            by=request.user,
            ip=client_ip(request),
        )
    except (MoneyInputError, SyncRefused, QboError) as e:
        return refused_json(e)
    return credit_job_response(job, order)


@api_login_required
@require_POST
def api_credit_apply(request: HttpRequest, credit_id: str) -> JsonResponse:
    try:
        body = _body(request)
        target = Order.objects.filter(pk=body.get("orderId")).first() if _is_id(body.get("orderId", "")) else None
        if target is None:
            raise MoneyInputError("Choose the order to apply the credit to (orderId).", field="orderId")
        job = credit_apply_request(
            credit_qbo_id=credit_id,
            target_order=target,
            amount=body.get("amount"),
            token=_token(request),
            by=request.user,
            ip=client_ip(request),
        )
    except (MoneyInputError, SyncRefused, QboError) as e:
        return refused_json(e)
    return credit_job_response(job, target)


@api_login_required
@require_POST
def api_credit_refund(request: HttpRequest, credit_id: str) -> JsonResponse:
    try:
        body = _body(request)
        job = credit_refund_request(
            credit_qbo_id=credit_id,
            amount=body.get("amount"),
            account=body.get("account"),
            method=body.get("method"),
            reference=body.get("reference", ""),
            date=body.get("date"),
            token=_token(request),
            by=request.user,
            ip=client_ip(request),
        )
    except (MoneyInputError, SyncRefused, QboError) as e:
        return refused_json(e)
    return credit_job_response(job, job.order) if job.order_id else _account_job_response(job)


def _account_job_response(job: QboSyncJob) -> JsonResponse:
    """A refund of a credit of no Kadouri order: the job and the credit, no order's money."""
    job.refresh_from_db()
    status = job_status(job)
    credit = _credit_of(job)
    body = {"job": job_json(job), "credit": credit_json(credit) if credit is not None else None, "money": None}
    if status not in (200, 202):
        body |= {"error": job.last_error, "code": job.error_code or None}
    return JsonResponse(body, status=status)
