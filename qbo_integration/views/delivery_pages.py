"""The pages of an order's delivery (docs/quickbooks/beyond.md#invoices-that-reach-the-buyer): Email invoice (a full
page, never inside the live-polled order page, so what is typed is never lost; an error keeps it), Send again (one
click from the order's Delivery card), the PDF download, and online payment on or off. Each leaves its notice on the
order page it goes back to."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kadouri.http import client_ip
from orders.models import Order

from ..client.errors import QboError
from ..models import QboSyncJob
from ..models_beyond import QboDocumentPdf
from ..outbound.delivery import doc_name, document_refusal, payment_ways
from ..outbound.delivery_requests import email_request, online_payment_request, pdf_request
from ..outbox.jobs import SyncRefused
from ..selectors.delivery import pdf_filename
from .sync_pages import job_message

PREPARING = "Preparing the PDF… it appears under Delivery as soon as QuickBooks sends it."


class EmailForm(forms.Form):
    to = forms.CharField(
        label="Send to",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
        help_text="QuickBooks emails the document from your company's address; this becomes the buyer's billing email "
        "on it in QuickBooks.",
    )
    token = forms.CharField(widget=forms.HiddenInput)


def _order(order_id: int) -> Order:
    return get_object_or_404(Order.objects.select_related("buyer", "seller"), pk=order_id)


def _sent_text(order: Order, job: QboSyncJob) -> str:
    order.refresh_from_db()
    return f"{doc_name(order, first=True)} emailed to {job.result.get('to') or job.params.get('to')} by QuickBooks."


@login_required
@require_http_methods(["GET", "POST"])
def email_new(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _order(order_id)
    if request.method == "GET":
        refusal = document_refusal(order)
        if refusal:
            messages.error(request, refusal)
            return redirect(order)
        to = (order.buyer.email or "").strip() or order.qbo_emailed_to
        form = EmailForm(initial={"to": to, "token": uuid.uuid4().hex})
        return _email_page(request, order, form)
    form = EmailForm(request.POST)
    if not form.is_valid():
        return _email_page(request, order, form, status=422)
    try:
        job = email_request(
            order=order, to=form.cleaned_data["to"], token=form.cleaned_data["token"], by=request.user,
            ip=client_ip(request),
        )  # fmt: skip
    except (SyncRefused, QboError) as e:
        form.add_error("to" if getattr(e, "field", "") == "to" else None, e.message)
        return _email_page(request, order, form, status=getattr(e, "status", None) or 422)
    if job_message(request, job, _sent_text(order, job) if job.state == QboSyncJob.State.DONE else ""):
        return redirect(order)
    form.add_error(None, job.last_error or "QuickBooks did not email it.")
    return _email_page(request, order, form, status=409 if job.error_kind == "refused" else 502)


def _email_page(request, order: Order, form: EmailForm, *, status: int = 200) -> HttpResponse:
    context = {"order": order, "form": form, "document": doc_name(order, first=True)}
    return render(request, "qbo_integration/delivery_email.html", context, status=status)


@login_required
@require_POST
def email_again(request: HttpRequest, order_id: int) -> HttpResponse:
    """Send again, one click: to the address it was last emailed to, joined on a double click."""
    order = _order(order_id)
    try:
        job = email_request(
            order=order,
            to=request.POST.get("to", ""),
            token=request.POST.get("token", ""),
            by=request.user,
            ip=client_ip(request),
        )
    except (SyncRefused, QboError) as e:
        messages.error(request, e.message)
        return redirect(order)
    if not job_message(request, job, _sent_text(order, job) if job.state == QboSyncJob.State.DONE else ""):
        messages.error(request, job.last_error or "QuickBooks did not email it.")
    return redirect(order)


@login_required
@require_GET
def pdf_download(request: HttpRequest, order_id: int) -> HttpResponse:
    """The document's PDF as a download while Kadouri's copy is current; otherwise the fetch is queued and the
    order page says it is being prepared (its Delivery card shows the download when it is ready)."""
    order = _order(order_id)
    try:
        answer = pdf_request(order=order, by=request.user, ip=client_ip(request))
    except (SyncRefused, QboError) as e:
        messages.error(request, e.message)
        return redirect(order)
    if answer.pdf is not None:
        return pdf_response(order, QboDocumentPdf.objects.get(pk=answer.pdf.pk))
    if answer.job is not None and answer.job.state == QboSyncJob.State.FAILED:
        messages.error(request, f"QuickBooks did not send the PDF: {answer.job.last_error}")
    else:
        messages.warning(request, PREPARING)
    return redirect(order)


def pdf_response(order: Order, pdf: QboDocumentPdf) -> HttpResponse:
    response = HttpResponse(bytes(pdf.content), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{pdf_filename(order)}"'
    return response


@login_required
@require_POST
def online_payment(request: HttpRequest, order_id: int) -> HttpResponse:
    """Card and bank transfer (ACH) on or off for the order's invoice, as the Delivery card's buttons ask."""
    order = _order(order_id)
    card, ach = request.POST.get("card") == "true", request.POST.get("ach") == "true"
    try:
        job = online_payment_request(order=order, card=card, ach=ach, by=request.user, ip=client_ip(request))
    except (SyncRefused, QboError) as e:
        messages.error(request, e.message)
        return redirect(order)
    order.refresh_from_db()
    done = f"Online payment of {doc_name(order)}: {payment_ways(card, ach)}."
    if not job_message(request, job, done):
        messages.error(request, job.last_error or "QuickBooks did not change it.")
    return redirect(order)
