"""Reports for the broker's staff: the commission report (docs/quickbooks/beyond.md#commission-report), on a page and
as CSV."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from .commission_report import CommissionReport, ReportRow, commission_report
from .report_forms import CommissionFilterForm, month_start

ROWS_PER_PAGE = 50
TEMPLATE = "orders/commission_report.html"
CSV_HEADER = [
    "seller",
    "seller_code",
    "month",
    "currency",
    "orders",
    "sold",
    "commission",
    "buyers_paid_orders",
    "buyers_partly_paid_orders",
    "buyers_unpaid_orders",
    "buyers_paid",
    "buyers_owe",
    "commission_invoices",
    "commission_invoices_paid",
    "commission_invoices_open",
    "seller_bills",
    "seller_bills_paid",
    "seller_bills_open",
    "broker_documents_voided",
    "broker_documents_open_in_other_currencies",
]


def _month_text(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def _filters(request: HttpRequest) -> CommissionFilterForm:
    """The filters as typed; the last twelve months when none are given."""
    data = request.GET.copy()
    this_month = month_start(timezone.localdate())
    data.setdefault("month_to", _month_text(this_month))
    data.setdefault("month_from", _month_text(month_start(this_month, back=11)))
    return CommissionFilterForm(data)


def _refused(request: HttpRequest, form: CommissionFilterForm) -> HttpResponse:
    return render(request, TEMPLATE, {"form": form, "report": None}, status=400)


@login_required
@require_GET
def commission_report_page(request: HttpRequest) -> HttpResponse:
    form = _filters(request)
    if not form.is_valid():
        return _refused(request, form)
    report = commission_report(**form.cleaned_data)
    page = Paginator(report.rows, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "report": report, "page": page, "query": query.urlencode(), "filters": form.cleaned_data}
    return render(request, TEMPLATE, context)


def _cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _other_currencies(row: ReportRow) -> str:
    amounts: dict[str, Decimal] = {}
    for figures in (row.commission_invoices, row.seller_bills):
        for code, amount in figures.other_currencies.items():
            amounts[code] = amounts.get(code, Decimal(0)) + amount
    return "; ".join(f"{code} {amount}" for code, amount in sorted(amounts.items()))


def _csv_row(row: ReportRow) -> list:
    bills, invoices = row.seller_bills, row.commission_invoices
    return [
        _cell(row.seller.name),
        _cell(row.seller.code),
        _month_text(row.month),
        row.currency,
        row.orders,
        row.sold,
        row.commission,
        row.paid_orders,
        row.partly_paid_orders,
        row.unpaid_orders,
        row.received,
        row.owed,
        invoices.active,
        invoices.paid,
        invoices.open_amount,
        bills.active,
        bills.paid,
        bills.open_amount,
        invoices.voided + bills.voided,
        _other_currencies(row),
    ]


def _csv(report: CommissionReport, name: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(CSV_HEADER)
    writer.writerows(_csv_row(row) for row in report.rows)
    return response


@login_required
@require_GET
def commission_report_csv(request: HttpRequest) -> HttpResponse:
    form = _filters(request)
    if not form.is_valid():
        return _refused(request, form)
    filters = form.cleaned_data
    name = f"commission-{_month_text(filters['month_from'])}-to-{_month_text(filters['month_to'])}.csv"
    return _csv(commission_report(**filters), name)
