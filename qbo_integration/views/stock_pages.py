"""Stock in Settings (docs/quickbooks/beyond.md#stock): admins choose the accounts Inventory items need."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ..adapt.stock import stock_settings, untracked_reason
from ..connection.vault import current_connection
from ..stock_forms import StockAccountsForm
from .access import managers_only

CARD = "stock-settings"


@login_required
@require_POST
@managers_only("choose the stock accounts", back="qbo:settings")
def stock_accounts(request: HttpRequest) -> HttpResponse:
    conn = current_connection()
    if conn is None:
        messages.error(request, "Connect QuickBooks before choosing its stock accounts.")
        return redirect("qbo:settings")
    if not stock_settings().tracking:
        messages.error(request, f"Stock is not available: {untracked_reason()}")
        return redirect(f"{reverse('qbo:settings')}#{CARD}")
    form = StockAccountsForm(request.POST, conn=conn)
    if not form.is_valid():
        context = {"stock_form": form, "stock": stock_settings(), "can_manage": True}
        return render(request, "qbo_integration/stock_settings.html", context, status=400)
    form.save()
    messages.success(request, "Stock accounts saved: new Inventory items use them.")
    return redirect(f"{reverse('qbo:settings')}#{CARD}")
