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
    # every payment on the order's invoice, deleted and voided ones too (the Money card lists them struck out);
    # the figures above count the active ones only
    payments: list[QboMoney] = field(default_factory=list)
    credits: list[QboMoney] = field(default_factory=list)  # the active credits

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
    every = list(order.qbo_money.select_related("credit"))
    rows = [r for r in every if r.is_active]
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
        payments=sorted(
            (r for r in every if r.entity == QboMoney.Entity.PAYMENT),
            key=lambda r: (r.txn_date or r.created_at.date(), r.pk),
        ),
        credits=credits,
    )


def order_money_history(order: Order) -> list[QboMoney]:
    """Every money transaction of the order, deleted and voided ones included (the JSON API lists them with their
    state)."""
    return list(order.qbo_money.select_related("credit").prefetch_related("uses").order_by("txn_date", "pk"))


def money_fate(row: QboMoney) -> str:
    """What happened to a transaction that no longer counts ("" while it does): deleted or voided by someone in
    Kadouri, and why, or in QuickBooks."""
    if row.is_active:
        return ""
    verb = "voided" if row.state == QboMoney.State.VOIDED else "deleted"
    if not row.deleted_by_name:
        return f"{verb} in QuickBooks"
    return f"{verb} by {row.deleted_by_name}" + (f": {row.delete_reason}" if row.delete_reason else "")


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


def payment_elsewhere(row: QboMoney) -> list[QboMoney]:
    """The payment's active rows on other orders: the invoices it pays besides this order's (deleting it reopens
    them too)."""
    return list(
        QboMoney.objects.filter(
            realm_id=row.realm_id, entity=QboMoney.Entity.PAYMENT, qbo_id=row.qbo_id, state=QboMoney.State.ACTIVE
        )
        .exclude(pk=row.pk)
        .exclude(order=None)
        .select_related("order")
        .order_by("order__number")
    )


# --- credits (docs/quickbooks/money.md#credits) ------------------------------------------------------------------


def credited_by_line(order: Order) -> dict[int, Decimal]:
    """OrderLine id → the quantity the order's active credits took of it."""
    taken: dict[int, Decimal] = {}
    rows = order.qbo_money.filter(entity=QboMoney.Entity.CREDIT_MEMO, state=QboMoney.State.ACTIVE)
    for row in rows:
        for line in row.lines or []:
            if line.get("lineId") and line.get("quantity"):
                taken[line["lineId"]] = taken.get(line["lineId"], Decimal(0)) + Decimal(str(line["quantity"]))
    return taken


def credit_refunded(credit: QboMoney) -> Decimal:
    """What the credit's active refunds gave back. Reads `uses` whole so a list that prefetched them (the selectors
    below) costs no query per credit."""
    refunds = [r for r in credit.uses.all() if r.entity == QboMoney.Entity.REFUND_RECEIPT and r.is_active]
    return _sum(refunds, "amount")


def credit_json(row: QboMoney) -> dict:
    """A credit memo as the JSON API shows it (docs/quickbooks/money.md#credits): QuickBooks' total and remaining
    credit; applied is what neither remains nor was refunded."""
    refunded = credit_refunded(row) if row.pk else ZERO
    applied = max(row.total - row.unapplied - refunded, ZERO) if row.is_active else ZERO
    return {
        "id": row.qbo_id,
        "docNumber": row.doc_number or None,
        "total": str(row.total),
        "remaining": str(row.unapplied if row.is_active else ZERO),
        "applied": str(applied),
        "refunded": str(refunded),
        "reason": row.reason,
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


def order_credits(order: Order) -> list[QboMoney]:
    """The order's credits, deleted ones too (the Money card lists them struck out, saying what happened)."""
    return list(
        order.qbo_money.filter(entity=QboMoney.Entity.CREDIT_MEMO).prefetch_related("uses").order_by("txn_date", "pk")
    )


def buyer_open_credits(account) -> list[QboMoney]:
    """The buyer's credits with credit left, issued from Kadouri or in QuickBooks."""
    return list(
        QboMoney.objects.filter(
            entity=QboMoney.Entity.CREDIT_MEMO, state=QboMoney.State.ACTIVE, unapplied__gt=0, account=account
        )
        .select_related("order")
        .prefetch_related("uses")
        .order_by("txn_date", "pk")
    )


def buyer_open_orders(account) -> list[Order]:
    """The buyer's orders whose invoice is open: where a credit can be applied."""
    return list(
        Order.objects.filter(
            buyer=account,
            qbo_doc_type=Order.DocType.INVOICE,
            status=Order.Status.POSTED_TO_QB,
            qbo_balance__gt=0,
        ).order_by("order_date", "pk")
    )
