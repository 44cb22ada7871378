from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from orders.models import Order
from qbo_integration.adapt.tax import tax_context

from .forms import AccountForm
from .models import Account

PER_PAGE = 50


@login_required
def account_list(request):
    search = request.GET.get("q", "").strip()[:100]
    accounts = Account.objects.all()
    if search:
        accounts = accounts.filter(Q(name__icontains=search) | Q(code__icontains=search) | Q(email__icontains=search))
    page = Paginator(accounts, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "accounts/account_list.html", {"page": page, "search": search})


def _orders(queryset):
    return queryset.select_related("seller", "buyer").annotate(line_total=Sum("lines__amount"))[:100]


@login_required
def account_detail(request, account_id: int):
    account = get_object_or_404(Account, pk=account_id)
    return render(
        request,
        "accounts/account_detail.html",
        {
            "account": account,
            "orders_as_seller": _orders(Order.objects.filter(seller=account)),
            "orders_as_buyer": _orders(Order.objects.filter(buyer=account)),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_edit(request, account_id: int | None = None):
    account = get_object_or_404(Account, pk=account_id) if account_id else None
    form = AccountForm(request.POST or None, instance=account, sales_tax=tax_context().mode)
    if request.method == "POST" and form.is_valid():
        account = form.save()
        messages.success(request, f"Account {account.name} saved.")
        return redirect(account)
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/account_form.html", {"form": form, "account": account}, status=status)
