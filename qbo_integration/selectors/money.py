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
    if order.qbo_doc_type == Order.DocType.SALES_RECEIPT:
        paid, open_amount = (ZERO if order.status == Order.Status.CANCELLED else sold), ZERO
    else:
        paid = _sum(payments, "amount")
        open_amount = (
            order.qbo_balance if order.qbo_doc_type == Order.DocType.INVOICE and order.qbo_balance is not None else ZERO
        )
    return OrderMoney(
        sold=sold,
        credited=_sum(credits, "amount"),
        paid=paid,
        credit_applied=_sum(payments, "credit_applied"),
        open=open_amount,
        payments=sorted(payments, key=lambda r: (r.txn_date or r.created_at.date(), r.pk)),
        credits=credits,
    )


def order_money_history(order: Order) -> list[QboMoney]:
    """Every money transaction of the order, deleted and voided ones included (the page lists them struck out)."""
    return list(order.qbo_money.select_related("credit").order_by("txn_date", "pk"))


def _recorded_by(row: QboMoney) -> str:
    return row.recorded_by_name if row.recorded_in_kadouri else "in QuickBooks"


def payment_json(row: QboMoney) -> dict:
    """A payment as the JSON API shows it (GET /api/quickbooks/sync/order/<id>/payments): what it paid on this
    order's invoice in money (`amount`) and in credit, its whole TotalAmt and UnappliedAmt, as QuickBooks has them."""
    return {
        "id": row.qbo_id,
        "amount": str(row.amount),
        "creditApplied": str(row.credit_applied),
        "total": str(row.total),
        "unapplied": str(row.unapplied),
        "date": row.txn_date.isoformat() if row.txn_date else None,
        "method": row.method_id or None,
        "methodName": row.method_name or None,
        "reference": row.reference or None,
        "depositTo": row.deposit_account_id or None,
        "depositToName": row.deposit_account_name or None,
        "recordedBy": _recorded_by(row),
        "recordedInKadouri": row.recorded_in_kadouri,
        "state": row.state,
    }


def credit_json(row: QboMoney) -> dict:
    """A credit memo as the JSON API shows it (the contract's credit json); what was applied and refunded is read
    from the rows that use it."""
    uses = list(row.uses.filter(state=QboMoney.State.ACTIVE))
    applied = sum((u.credit_applied for u in uses if u.entity == QboMoney.Entity.PAYMENT), ZERO)
    refunded = sum((u.amount for u in uses if u.entity == QboMoney.Entity.REFUND_RECEIPT), ZERO)
    return {
        "id": row.qbo_id,
        "total": str(row.total),
        "remaining": str(row.unapplied),
        "applied": str(applied),
        "refunded": str(refunded),
        "reason": row.reason or None,
        "date": row.txn_date.isoformat() if row.txn_date else None,
        "lines": row.lines,
        "orderId": row.order_id,
        "recordedBy": _recorded_by(row),
        "state": row.state,
    }


def order_payments_json(order: Order) -> dict:
    """GET /api/quickbooks/sync/order/<id>/payments: the figures, every payment (deleted ones included, with their
    state) and the order's credits."""
    rows = order_money_history(order)
    return {
        "orderId": order.pk,
        "money": order_money(order).as_json(),
        "payments": [payment_json(r) for r in rows if r.entity == QboMoney.Entity.PAYMENT],
        "credits": [credit_json(r) for r in rows if r.entity == QboMoney.Entity.CREDIT_MEMO],
    }
