"""Record cash sale: a full page (never inside the live-polled panel, so nothing typed is lost) whose form asks how
the order was paid — method, reference, deposit account — and sends it as a QuickBooks SalesReceipt
(outbound/cash_sales.py, docs/quickbooks/money.md#cash-sales)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from kadouri.http import client_ip
from orders.models import Order

from ..adapt.money_input import MoneyInputError, deposit_accounts, payment_methods, undeposited_funds_id
from ..client.errors import QboError
from ..mapping import PAYMENT_REF_MAX
from ..models import QboSyncJob
from ..outbound.cash_sales import cash_sale_request
from ..outbound.rules import allowed_actions
from ..outbox.jobs import SyncRefused
from .sync_pages import job_outcome

FIELD_NAMES = {"method": "method", "reference": "reference", "depositTo": "deposit_to"}


class CashSaleForm(forms.Form):
    method = forms.ChoiceField(label="Payment method", required=False)
    reference = forms.CharField(
        label="Reference", required=False, max_length=PAYMENT_REF_MAX, help_text="Check or card slip number."
    )
    deposit_to = forms.ChoiceField(label="Deposit to", help_text="Undeposited Funds unless the money went to a bank.")

    def __init__(self, *args, methods: dict[str, str], accounts: dict[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = [("", "— not said —"), *methods.items()]
        self.fields["deposit_to"].choices = list(accounts.items())


def _form(request: HttpRequest) -> tuple[CashSaleForm | None, str]:
    """The form with QuickBooks' lists, or None and why the lists cannot be read now."""
    try:
        methods, accounts = dict(payment_methods()), dict(deposit_accounts())
        default = undeposited_funds_id()
    except (SyncRefused, QboError) as e:
        return None, f"Kadouri could not read QuickBooks' payment methods and accounts just now: {e.message}"
    data = request.POST if request.method == "POST" else None
    return CashSaleForm(data, methods=methods, accounts=accounts, initial={"deposit_to": default}), ""


@login_required
@require_http_methods(["GET", "POST"])
def cash_sale_new(request: HttpRequest, order_id: int) -> HttpResponse:
    order = get_object_or_404(Order.objects.select_related("seller", "buyer"), pk=order_id)
    if QboSyncJob.Action.CREATE_SALES_RECEIPT not in allowed_actions(order) and request.method == "GET":
        messages.error(request, f"Order {order.number} cannot be recorded as a cash sale now.")
        return redirect(order)
    form, problem = _form(request)
    if form is not None and request.method == "POST" and form.is_valid():
        try:
            job = cash_sale_request(
                order=order,
                method=form.cleaned_data["method"],
                reference=form.cleaned_data["reference"],
                deposit_to=form.cleaned_data["deposit_to"],
                by=request.user,
                ip=client_ip(request),
            )
        except MoneyInputError as e:
            form.add_error(FIELD_NAMES.get(e.field), e.message)
        except (SyncRefused, QboError) as e:
            problem = e.message
        else:
            order.refresh_from_db()
            number = order.qbo_doc_number or order.qbo_doc_id
            level, text = job_outcome(job, f"Cash sale recorded in QuickBooks as sales receipt #{number}.")
            getattr(messages, level)(request, text)
            return redirect(order)
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "qbo_integration/cash_sale_form.html",
        {"order": order, "form": form, "problem": problem},
        status=status,
    )
