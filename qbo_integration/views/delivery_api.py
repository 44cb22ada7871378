"""The JSON API of an order's delivery (docs/quickbooks/beyond.md#invoices-that-reach-the-buyer), beside the sync
API and with its statuses: email the document, get its PDF, open the invoice to online payment. Thin: one service
call each.

Statuses: 200 done · 202 queued (the job; a PDF being prepared) · 400 a body that is not a JSON object · 401 · 404 ·
409 the order has no document to deliver (a draft, a cash sale, a voided invoice) or is busy · 422 bad input
{"error", "field"}, or a company that does not take online payments · 502 QuickBooks refused · 503 QuickBooks
unreachable or not connected. `Idempotency-Key` on an email makes a repeat join the first one's job.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_http_methods, require_POST

from kadouri.http import api_login_required, client_ip, json_error
from orders.models import Order

from ..client.errors import QboError
from ..models import QboSyncJob
from ..models_beyond import QboDocumentPdf
from ..outbound.delivery import document_refusal
from ..outbound.delivery_requests import email_request, online_payment_request, pdf_request
from ..outbox.jobs import SyncRefused
from ..selectors.delivery import current_pdf, delivery_json, pdf_job
from .delivery_pages import pdf_response
from .sync_api import idempotency_token, job_body, json_object_or_404, refused_json, request_body

PREPARING = "Preparing the PDF: ask again in a moment."


def _answer(job: QboSyncJob, order: Order) -> JsonResponse:
    body, status = job_body(job)
    order.refresh_from_db()
    return JsonResponse(body | {"delivery": delivery_json(order)}, status=status)


@api_login_required
@require_POST
@json_object_or_404(Order, "Order")
def api_order_email(request: HttpRequest, order: Order) -> JsonResponse:
    """{"to": "ap@buyer.example"}: QuickBooks emails the invoice or estimate there."""
    try:
        body = request_body(request)
        job = email_request(
            order=order, to=body.get("to"), token=idempotency_token(request), by=request.user, ip=client_ip(request)
        )
    except (SyncRefused, QboError) as e:
        return refused_json(e)
    return _answer(job, order)


@api_login_required
@require_http_methods(["GET", "POST"])
@json_object_or_404(Order, "Order")
def api_order_pdf(request: HttpRequest, order: Order) -> HttpResponse:
    """GET: the PDF (application/pdf) while Kadouri's copy is current, else 202 while one is being fetched or 404.
    POST: fetch it when it is not current (202 with the job), or 200 with what is stored."""
    if request.method == "GET":
        refusal = document_refusal(order)
        if refusal:
            return json_error(409, refusal)
        pdf = current_pdf(order)
        if pdf is not None:
            return pdf_response(order, QboDocumentPdf.objects.get(pk=pdf.pk))
        job = pdf_job(order)
        if job is not None and job.state in (QboSyncJob.State.PENDING, QboSyncJob.State.RUNNING):
            return JsonResponse(job_body(job)[0] | {"message": PREPARING}, status=202)
        return json_error(404, f"Kadouri has no PDF of order {order.number}'s current document: POST to fetch it.")
    try:
        answer = pdf_request(order=order, by=request.user, ip=client_ip(request))
    except (SyncRefused, QboError) as e:
        return refused_json(e)
    if answer.pdf is not None:
        return JsonResponse({"delivery": delivery_json(order)})
    body, status = job_body(answer.job)
    if status == 202:
        body["message"] = PREPARING
    return JsonResponse(body | {"delivery": delivery_json(order)}, status=status)


@api_login_required
@require_POST
@json_object_or_404(Order, "Order")
def api_order_online_payment(request: HttpRequest, order: Order) -> JsonResponse:
    """{"card": true, "ach": false}: the buyer may pay the invoice online that way (both false: no longer)."""
    try:
        body = request_body(request)
        job = online_payment_request(
            order=order, card=body.get("card"), ach=body.get("ach"), by=request.user, ip=client_ip(request)
        )
    except (SyncRefused, QboError) as e:
        return refused_json(e)
    return _answer(job, order)
