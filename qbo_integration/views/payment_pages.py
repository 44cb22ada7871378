"""The pages of an order's payments (docs/quickbooks/money.md#payments): Record payment, and Delete payment for
admins. Full pages, never inside the live-polled order panel, so nothing typed is lost; an error re-renders the
form with what was typed and the reason; success goes back to the order page with a message."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from kadouri.display import money as display_money
from kadouri.http import client_ip
from orders.models import Order

from ..adapt import money_input
from ..client.errors import QboError
from ..context_processors import can_manage_quickbooks
from ..forms import PaymentDeleteForm, PaymentForm
from ..models import QboMoney
from ..outbound.payments import payment_delete_request, payment_record_request, payment_refusal, unapplied_allowed
from ..outbox.jobs import SyncRefused
from ..selectors.money import payment_elsewhere
from .sync_pages import job_message


def _lists() -> tuple[list, list]:
    return money_input.payment_methods(), money_input.deposit_accounts()


@login_required
@require_http_methods(["GET", "POST"])
def payment_new(request: HttpRequest, order_id: int) -> HttpResponse:
    order = get_object_or_404(Order.objects.select_related("buyer", "seller"), pk=order_id)
    refusal = payment_refusal(order) if request.method == "GET" else ""  # a POST: the service decides (a resubmit)
    if refusal:
        messages.error(request, refusal)
        return redirect(order)
    try:
        methods, accounts = _lists()
    except QboError as e:
        messages.error(request, f"Kadouri could not read QuickBooks' payment methods and accounts: {e.message}")
        return redirect(order)
    if request.method == "GET":
        initial = {
            "amount": order.qbo_balance if order.qbo_balance is not None else "",
            "date": timezone.localdate().isoformat(),
            "deposit_to": accounts[0][0] if accounts else "",
            "token": uuid.uuid4().hex,
        }
        form = PaymentForm(initial=initial, methods=methods, accounts=accounts)
        return _form_page(request, order, form)
    form = PaymentForm(request.POST, methods=methods, accounts=accounts)
    if not form.is_valid():
        return _form_page(request, order, form, status=422)
    data = form.cleaned_data
    try:
        job = payment_record_request(
            order=order,
            amount=data["amount"],
            date=data["date"],
            method=data["method"],
            reference=data["reference"],
            deposit_to=data["deposit_to"],
            token=data["token"],
            by=request.user,
            ip=client_ip(request),
        )
    except (SyncRefused, QboError) as e:
        form.refuse(getattr(e, "field", ""), e.message)
        return _form_page(request, order, form, status=getattr(e, "status", None) or 422)
    order.refresh_from_db()
    done = f"Payment of {display_money(data['amount'], order)} recorded in QuickBooks."
    if job_message(request, job, done):
        return redirect(order)
    form.refuse("", job.last_error or "QuickBooks did not record the payment.")
    return _form_page(request, order, form, status=409 if job.error_kind == "refused" else 502)


def _form_page(request: HttpRequest, order: Order, form: PaymentForm, *, status: int = 200) -> HttpResponse:
    context = {"order": order, "form": form, "unapplied_allowed": unapplied_allowed()}
    return render(request, "qbo_integration/payment_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def payment_delete(request: HttpRequest, order_id: int, payment_id: str) -> HttpResponse:
    order = get_object_or_404(Order.objects.select_related("buyer", "seller"), pk=order_id)
    if not can_manage_quickbooks(request.user):
        messages.error(request, "Only admins can delete a payment.")
        return redirect(order)
    row = get_object_or_404(QboMoney, order=order, entity=QboMoney.Entity.PAYMENT, qbo_id=payment_id)
    if request.method == "GET":
        form = PaymentDeleteForm(initial={"token": uuid.uuid4().hex})
        return _delete_page(request, order, row, form)
    form = PaymentDeleteForm(request.POST)
    if not form.is_valid():
        return _delete_page(request, order, row, form, status=422)
    try:
        job = payment_delete_request(
            order=order,
            payment_id=row.qbo_id,
            reason=form.cleaned_data["reason"],
            token=form.cleaned_data["token"],
            by=request.user,
            ip=client_ip(request),
        )
    except (SyncRefused, QboError) as e:
        form.add_error("reason" if getattr(e, "field", "") == "reason" else None, e.message)
        return _delete_page(request, order, row, form, status=getattr(e, "status", None) or 422)
    if job_message(request, job, f"Payment {row.qbo_id} deleted in QuickBooks; the order is open again."):
        return redirect(order)
    form.add_error(None, job.last_error or "QuickBooks did not delete the payment.")
    return _delete_page(request, order, row, form, status=409 if job.error_kind == "refused" else 502)


def _delete_page(request, order: Order, row: QboMoney, form: PaymentDeleteForm, *, status: int = 200) -> HttpResponse:
    context = {
        "order": order,
        "payment": row,
        "opens_here": row.amount + row.credit_applied,  # what it pays on this order, in money and in credit
        "elsewhere": payment_elsewhere(row),
        "form": form,
    }
    return render(request, "qbo_integration/payment_delete.html", context, status=status)
