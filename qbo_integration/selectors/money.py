"""What the order page and the JSON API show of an order's money: sold, credited, paid and open side by side
(QuickBooks' amounts: docs/quickbooks/money.md#what-the-order-shows), and the transactions behind them."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from orders.models import Order

from ..models import QboMoney

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class OrderMoney:
    sold: Decimal  # QuickBooks' total (with its tax) once the order is there, else Kadouri's
    credited: Decimal  # credits issued for this order
    paid: Decimal  # money received on it: payments, or the cash sale
    credit_applied: Decimal  # credits (of this order or another) applied to its invoice
    open: Decimal  # QuickBooks' balance
    payments: list[QboMoney] = field(default_factory=list)
    credits: list[QboMoney] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "sold": str(self.sold),
            "credited": str(self.credited),
            "paid": str(self.paid),
            "creditApplied": str(self.credit_applied),
            "open": str(self.open),
        }


def _sum(rows, attr: str) -> Decimal:
    return sum((getattr(r, attr) for r in rows), ZERO)


def order_money(order: Order) -> OrderMoney:
    rows = list(order.qbo_money.filter(state=QboMoney.State.ACTIVE).select_related("credit"))
    payments = [r for r in rows if r.entity == QboMoney.Entity.PAYMENT]
    credits = [r for r in rows if r.entity == QboMoney.Entity.CREDIT_MEMO]
    sold = order.qbo_total if order.qbo_total is not None else order.total
    credit_applied = _sum(payments, "credit_applied")
    if order.qbo_doc_type == Order.DocType.SALES_RECEIPT:
        paid, open_amount = (ZERO if order.status == Order.Status.CANCELLED else sold), ZERO
    elif order.qbo_doc_type == Order.DocType.INVOICE and order.qbo_balance is not None:
        # QuickBooks' own figure: what its balance says was settled, less the part settled with credit. A payment
        # recorded before Kadouri kept payment rows still counts.
        open_amount = order.qbo_balance
        paid = max(order.amount_paid - credit_applied, ZERO)
    else:
        paid, open_amount = ZERO, ZERO
    return OrderMoney(
        sold=sold,
        credited=_sum(credits, "amount"),
        paid=paid,
        credit_applied=credit_applied,
        open=open_amount,
        payments=sorted(payments, key=lambda r: (r.txn_date or r.created_at.date(), r.pk)),
        credits=credits,
    )


def order_money_history(order: Order) -> list[QboMoney]:
    """Every money transaction of the order, deleted and voided ones included (the page lists them struck out)."""
    return list(order.qbo_money.select_related("credit").order_by("txn_date", "pk"))
