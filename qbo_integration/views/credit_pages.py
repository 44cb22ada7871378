"""The credit pages (docs/quickbooks/money.md#credits): issue a credit on an order, apply a buyer's credit to one of
their open orders, refund it. Full pages, never inside the live-polled panel, so nothing typed is lost: an error
re-renders the form with the input and a message; success goes back to the order with a message. Each form carries
a one-time token, so a double submit joins the first one's job."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from kadouri.display import money as display_money
from kadouri.display import plain
from kadouri.http import client_ip
from orders.models import Order

from ..adapt.money_input import MoneyInputError, bank_accounts, payment_methods
from ..client.errors import QboError
from ..connection.vault import usable_connection
from ..models import QboMoney, QboSyncJob
from ..outbound.credits import credit_apply_request, credit_issue_request, credit_refund_request
from ..outbound.rules import check_credit_allowed
from ..outbox.jobs import SyncRefused
from ..selectors.money import buyer_open_orders, credited_by_line
from .sync_pages import job_message

TOKEN_MAX = 64


def _token(request: HttpRequest) -> str:
    return request.POST.get("token", "").strip()[:TOKEN_MAX] or uuid.uuid4().hex


def _problem(e: Exception) -> tuple[str, str]:
    """(message, field) of a refusal; field "" when it is not about one input."""
    return e.message, getattr(e, "field", "")


def _credit(realm_id: str, qbo_id: str) -> QboMoney:
    credit = (
        QboMoney.objects.select_related("order", "account")
        .filter(realm_id=realm_id, entity=QboMoney.Entity.CREDIT_MEMO, qbo_id=qbo_id)
        .first()
    )
    if credit is None:
        raise Http404("No such credit.")
    return credit


def _realm_id() -> str:
    try:
        return usable_connection().realm_id
    except QboError:
        raise Http404("QuickBooks is not connected.") from None


# --- issue ------------------------------------------------------------------------------------------------------


def _line_rows(order: Order, posted) -> list[dict]:
    taken = credited_by_line(order)
    return [
        {
            "line": line,
            "left": plain(line.quantity - taken.get(line.pk, Decimal(0))),
            "value": posted.get(f"qty_{line.pk}", ""),
        }
        for line in order.lines.select_related("product").order_by("position", "pk")
    ]


def _issued_text(job: QboSyncJob, order: Order) -> str:
    result = job.result or {}
    number = result.get("docNumber") or result.get("memoId")
    applied = Decimal(result.get("applied") or "0")
    tail = (
        f"; {display_money(applied, order)} applied to the invoice" if applied else "; it stays as the buyer's credit"
    )
    return f"Credit memo #{number} issued in QuickBooks{tail}."


@login_required
@require_http_methods(["GET", "POST"])
def credit_new(request: HttpRequest, order_id: int) -> HttpResponse:
    order = get_object_or_404(Order.objects.select_related("buyer"), pk=order_id)
    error, field = "", ""
    if request.method == "GET":  # a POST: the service decides (a resubmit finds its job whatever the order is now)
        try:
            check_credit_allowed(order)
        except SyncRefused as e:
            messages.error(request, e.message)
            return redirect(order)
    if request.method == "POST":
        lines = [
            {"lineId": line.pk, "quantity": request.POST.get(f"qty_{line.pk}", "")}
            for line in order.lines.all()
            if request.POST.get(f"qty_{line.pk}", "").strip()
        ]
        try:
            job = credit_issue_request(
                order=order,
                reason=request.POST.get("reason"),
                lines=lines or None,
                amount=request.POST.get("amount", "").strip() or None,
                note=request.POST.get("note", ""),
                date=request.POST.get("date", ""),
                token=_token(request),
                by=request.user,
                ip=client_ip(request),
            )
        except (MoneyInputError, SyncRefused, QboError) as e:
            error, field = _problem(e)
        else:
            if job_message(request, job, _issued_text(job, order)):
                return redirect(order)
            error = job.last_error
    context = {
        "order": order,
        "rows": _line_rows(order, request.POST),
        "reasons": QboMoney.Reason.choices,
        "form": request.POST,
        "token": _token(request),
        "error": error,
        "field": field,
    }
    return render(request, "qbo_integration/credit_new.html", context, status=422 if error else 200)


# --- apply ------------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def credit_apply(request: HttpRequest, qbo_id: str) -> HttpResponse:
    credit = _credit(_realm_id(), qbo_id)
    buyer = credit.account or (credit.order.buyer if credit.order else None)
    error, field = "", ""
    if request.method == "POST":
        target_id = request.POST.get("order", "")
        target = Order.objects.filter(pk=target_id).first() if target_id.isascii() and target_id.isdigit() else None
        try:
            if target is None:
                raise MoneyInputError("Choose the order to apply the credit to.", field="order")
            job = credit_apply_request(
                credit_qbo_id=qbo_id,
                target_order=target,
                amount=request.POST.get("amount", "").strip() or None,
                token=_token(request),
                by=request.user,
                ip=client_ip(request),
            )
        except (MoneyInputError, SyncRefused, QboError) as e:
            error, field = _problem(e)
        else:
            applied = display_money((job.result or {}).get("applied"), target)
            done = f"Credit memo {credit.number_label} applied: {applied} off order {target.number}."
            if job_message(request, job, done):
                return redirect(target)
            error = job.last_error
    context = {
        "credit": credit,
        "buyer": buyer,
        "orders": buyer_open_orders(buyer) if buyer else [],
        "form": request.POST,
        "token": _token(request),
        "error": error,
        "field": field,
    }
    return render(request, "qbo_integration/credit_apply.html", context, status=422 if error else 200)


# --- refund -----------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def credit_refund(request: HttpRequest, qbo_id: str) -> HttpResponse:
    credit = _credit(_realm_id(), qbo_id)
    error, field = "", ""
    if request.method == "POST":
        try:
            job = credit_refund_request(
                credit_qbo_id=qbo_id,
                amount=request.POST.get("amount", "").strip() or None,
                account=request.POST.get("account", ""),
                method=request.POST.get("method", ""),
                reference=request.POST.get("reference", ""),
                date=request.POST.get("date", ""),
                token=_token(request),
                by=request.user,
                ip=client_ip(request),
            )
        except (MoneyInputError, SyncRefused, QboError) as e:
            error, field = _problem(e)
        else:
            refunded = display_money((job.result or {}).get("amount"), credit.currency)
            if job_message(request, job, f"Credit memo {credit.number_label} refunded: {refunded} paid back."):
                return redirect(credit.order or credit.account)
            error = job.last_error
    try:
        accounts = bank_accounts()
        methods = payment_methods()
    except QboError as e:
        accounts, methods, error = [], [], error or e.message
    context = {
        "credit": credit,
        "accounts": accounts,
        "methods": methods,
        "form": request.POST or {"amount": str(credit.unapplied)},
        "token": _token(request),
        "error": error,
        "field": field,
    }
    return render(request, "qbo_integration/credit_refund.html", context, status=422 if error else 200)
