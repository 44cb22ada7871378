from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from qbo_integration.adapt.tax import GLOBAL, company_tax_codes, tax_context, tax_form_note

from .forms import ProductForm
from .models import Product

PER_PAGE = 50


@login_required
def product_list(request):
    search = request.GET.get("q", "").strip()[:100]
    products = Product.objects.all()
    if search:
        products = products.filter(Q(name__icontains=search) | Q(sku__icontains=search))
    page = Paginator(products, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "products/product_list.html", {"page": page, "search": search})


@login_required
def product_detail(request, product_id: int):
    product = get_object_or_404(Product, pk=product_id)
    lines = product.order_lines.select_related("order__buyer").order_by("-order__order_date")[:50]
    return render(request, "products/product_detail.html", {"product": product, "lines": lines})


@login_required
@require_http_methods(["GET", "POST"])
def product_edit(request, product_id: int | None = None):
    product = get_object_or_404(Product, pk=product_id) if product_id else None
    tax = tax_context()  # the connected company's sales tax decides the tax fields
    codes, missing = company_tax_codes(tax) if tax.mode == GLOBAL else ([], "")
    form = ProductForm(request.POST or None, instance=product, sales_tax=tax.mode, tax_codes=codes)
    if request.method == "POST" and form.is_valid():
        product = form.save()
        messages.success(request, f"Product {product.name} saved.")
        return redirect(product)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "product": product, "tax_note": tax_form_note(tax, missing)}
    return render(request, "products/product_form.html", context, status=status)
