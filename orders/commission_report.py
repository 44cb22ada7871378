"""The commission report (docs/quickbooks/beyond.md#commission-report): per seller, month and currency, what was
sold, the broker's commission on it, how far the buyers have paid, and the broker's own documents for it.

What counts as sold: an order with an invoice or a cash sale in QuickBooks, posted or paid. Drafts, orders that
have only an estimate, and cancelled orders are left out of the figures and counted apart (`NotCounted`). The month
is the order date's (the document's date in QuickBooks). Amounts stay in the order's currency: orders in different
currencies are separate rows and separate totals, never added together.

Sold and commission are Kadouri's figures (the lines' sum without QuickBooks' tax, and the order's rate on it, each
order rounded to the cent); what the buyers paid and still owe is QuickBooks' (the document's total less its
balance, and its balance). Three queries, however many orders: the orders, their broker documents, and the orders
not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from accounts.models import Account
from kadouri.display import home_currency
from qbo_integration.models_beyond import BrokerDocument

from .models import Order, to_cents

ZERO = Decimal("0.00")
SOLD_STATUSES = (Order.Status.POSTED_TO_QB, Order.Status.PAID)
SOLD_DOCUMENTS = (Order.DocType.INVOICE, Order.DocType.SALES_RECEIPT)
ORDER_VALUES = (
    "pk",
    "seller_id",
    "seller__name",
    "seller__code",
    "order_date",
    "qbo_doc_type",
    "qbo_currency",
    "buyer__currency",
    "commission_rate",
    "payment_status",
    "qbo_total",
    "qbo_balance",
)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


@dataclass
class BrokerFigures:
    """The broker's documents of one kind (seller bills or commission invoices) for a row's orders."""

    active: int = 0
    paid: int = 0
    partly: int = 0
    voided: int = 0  # voided or deleted in QuickBooks: not counted above
    open_amount: Decimal = ZERO  # balance still open, in the row's currency
    other_currencies: dict[str, Decimal] = field(default_factory=dict)  # balances in another currency

    @property
    def unpaid(self) -> int:
        return self.active - self.paid - self.partly

    def add(self, doc: dict, currency: str) -> None:
        if doc["state"] != BrokerDocument.State.ACTIVE:
            self.voided += 1
            return
        self.active += 1
        total, balance = doc["total"], doc["balance"]
        if balance is not None and total and balance <= 0:
            self.paid += 1
        elif balance is not None and total and 0 < balance < total:
            self.partly += 1
        owed = balance if balance is not None else (total or ZERO)
        doc_currency = doc["currency"] or currency
        if doc_currency == currency:
            self.open_amount += owed
        else:
            self.other_currencies[doc_currency] = self.other_currencies.get(doc_currency, ZERO) + owed


@dataclass
class ReportRow:
    """One seller's sales in one month and one currency; a totals row has no seller."""

    month: date | None
    currency: str
    seller: Account | None = None
    orders: int = 0
    sold: Decimal = ZERO
    commission: Decimal = ZERO
    paid_orders: int = 0
    partly_paid_orders: int = 0
    unpaid_orders: int = 0
    received: Decimal = ZERO  # what the buyers paid (or had credited) on the documents
    owed: Decimal = ZERO  # what the buyers still owe
    commission_invoices: BrokerFigures = field(default_factory=BrokerFigures)
    seller_bills: BrokerFigures = field(default_factory=BrokerFigures)

    def add_order(self, order: dict) -> None:
        sold = to_cents(order["line_total"] or ZERO)
        total = order["qbo_total"] if order["qbo_total"] is not None else sold
        if order["qbo_doc_type"] == Order.DocType.SALES_RECEIPT:
            balance = ZERO  # paid the moment it exists
        else:
            balance = order["qbo_balance"] if order["qbo_balance"] is not None else total
        self.orders += 1
        self.sold += sold
        self.commission += to_cents(sold * order["commission_rate"] / Decimal("100"))
        self.received += max(total - balance, ZERO)
        self.owed += max(balance, ZERO)
        status = order["payment_status"] if order["qbo_doc_type"] == Order.DocType.INVOICE else Order.PaymentStatus.PAID
        if status == Order.PaymentStatus.PAID:
            self.paid_orders += 1
        elif status == Order.PaymentStatus.PARTIAL:
            self.partly_paid_orders += 1
        else:
            self.unpaid_orders += 1

    def add_broker_document(self, doc: dict) -> None:
        figures = self.seller_bills if doc["kind"] == BrokerDocument.Kind.SELLER_BILL else self.commission_invoices
        figures.add(doc, self.currency)


@dataclass(frozen=True)
class NotCounted:
    drafts: int = 0
    estimates: int = 0  # posted with an estimate only: nothing sold yet
    cancelled: int = 0

    @property
    def total(self) -> int:
        return self.drafts + self.estimates + self.cancelled


@dataclass
class CommissionReport:
    rows: list[ReportRow]
    totals: list[ReportRow]  # one per currency, over every row
    not_counted: NotCounted


def _in_range(month_from: date, month_to: date, seller: Account | None) -> QuerySet[Order]:
    orders = Order.objects.filter(order_date__gte=month_from, order_date__lt=next_month(month_to))
    return orders.filter(seller=seller) if seller is not None else orders


def _sold(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.filter(status__in=SOLD_STATUSES, qbo_doc_type__in=SOLD_DOCUMENTS, qbo_doc_id__isnull=False)


def _not_counted(orders: QuerySet[Order]) -> NotCounted:
    sold = Q(status__in=SOLD_STATUSES, qbo_doc_type__in=SOLD_DOCUMENTS, qbo_doc_id__isnull=False)
    counts = orders.aggregate(
        drafts=Count("pk", filter=Q(status=Order.Status.DRAFT)),
        estimates=Count("pk", filter=Q(status__in=SOLD_STATUSES) & ~sold),
        cancelled=Count("pk", filter=Q(status=Order.Status.CANCELLED)),
    )
    return NotCounted(**counts)


def commission_report(*, month_from: date, month_to: date, seller: Account | None = None) -> CommissionReport:
    """The report for the months from `month_from` to `month_to` (first days of months, both included)."""
    in_range = _in_range(month_from, month_to, seller)
    sold = _sold(in_range)
    home = home_currency()
    sellers: dict[int, Account] = {}
    rows: dict[tuple, ReportRow] = {}
    row_of_order: dict[int, ReportRow] = {}
    for order in sold.values(*ORDER_VALUES).annotate(line_total=Sum("lines__amount")).order_by():
        currency = order["qbo_currency"] or order["buyer__currency"] or home
        month = order["order_date"].replace(day=1)
        account = sellers.setdefault(
            order["seller_id"], Account(pk=order["seller_id"], name=order["seller__name"], code=order["seller__code"])
        )
        key = (account.name.casefold(), account.pk, month, currency)
        row = rows.setdefault(key, ReportRow(month=month, currency=currency, seller=account))
        row.add_order(order)
        row_of_order[order["pk"]] = row
    documents = BrokerDocument.objects.filter(order__in=sold.values("pk"))
    for doc in documents.values("order_id", "kind", "state", "total", "balance", "currency"):
        if doc["order_id"] in row_of_order:
            row_of_order[doc["order_id"]].add_broker_document(doc)
    ordered = [rows[key] for key in sorted(rows)]
    return CommissionReport(rows=ordered, totals=_totals(ordered), not_counted=_not_counted(in_range))


def _totals(rows: list[ReportRow]) -> list[ReportRow]:
    totals: dict[str, ReportRow] = {}
    for row in rows:
        total = totals.setdefault(row.currency, ReportRow(month=None, currency=row.currency))
        for name in ("orders", "sold", "commission", "paid_orders", "partly_paid_orders", "unpaid_orders"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
        total.received += row.received
        total.owed += row.owed
        for kind in ("commission_invoices", "seller_bills"):
            _add_figures(getattr(total, kind), getattr(row, kind))
    return [totals[code] for code in sorted(totals)]


def _add_figures(into: BrokerFigures, figures: BrokerFigures) -> None:
    into.active += figures.active
    into.paid += figures.paid
    into.partly += figures.partly
    into.voided += figures.voided
    into.open_amount += figures.open_amount
    for code, amount in figures.other_currencies.items():
        into.other_currencies[code] = into.other_currencies.get(code, ZERO) + amount
