"""What every order must look like, whatever happened to it: the states the product can really reach.

Tests (the demo data's, the sync's, the browser walks') assert `order_invariant_violations(order) == []`;
the demo data is held to it too, so a demo order can never show a state nobody could reach.
"""

from kadouri.display import money as display_money
from orders.models import Order

from .documents.reading import payment_status

S, P, D = Order.Status, Order.PaymentStatus, Order.DocType


def order_invariant_violations(order: Order) -> list[str]:
    """Plain sentences, one per broken rule; empty when the order is consistent."""
    problems = _document_rules(order) + _payment_rules(order)
    return [f"Order {order.number}: {problem}" for problem in problems]


def _document_rules(order: Order) -> list[str]:
    problems = []
    in_quickbooks = bool(order.qbo_doc_id)
    if in_quickbooks and order.qbo_doc_type not in D.values:
        problems.append(f"has QuickBooks id {order.qbo_doc_id} but no document type")
    if in_quickbooks and not order.qbo_doc_number:
        problems.append(f"has QuickBooks id {order.qbo_doc_id} but no document number")
    if order.status in (S.POSTED_TO_QB, S.PAID, S.CANCELLED) and not in_quickbooks:
        problems.append(f"is {order.get_status_display().lower()} but has no QuickBooks document")
    if order.status == S.DRAFT and in_quickbooks:
        problems.append(f"is a draft but already has QuickBooks document {order.qbo_doc_id}")
    # A cash sale is paid in the same step as it is sold (docs/quickbooks/money.md#cash-sales)
    if order.status == S.PAID and order.qbo_doc_type not in (D.INVOICE, D.SALES_RECEIPT):
        problems.append("is paid but its QuickBooks document is neither an invoice nor a sales receipt")
    if order.qbo_doc_type == D.SALES_RECEIPT and order.status not in (S.PAID, S.CANCELLED):
        problems.append(f"is a cash sale but is {order.get_status_display().lower()}")
    return problems


def _payment_rules(order: Order) -> list[str]:
    problems = []
    if order.status == S.PAID and order.payment_status != P.PAID:
        problems.append(f"is paid but its payment status is {order.get_payment_status_display().lower()}")
    if order.payment_status == P.PAID and order.status not in (S.PAID, S.CANCELLED):
        problems.append(f"has payment status paid but is {order.get_status_display().lower()}")
    if order.payment_status != P.UNPAID and order.qbo_doc_type not in (D.INVOICE, D.SALES_RECEIPT):
        problems.append(f"is {order.get_payment_status_display().lower()} without a QuickBooks invoice")
    if order.qbo_doc_type == D.SALES_RECEIPT and order.status == S.PAID and order.payment_status != P.PAID:
        problems.append(f"is a paid cash sale but its payment status is {order.payment_status}")
    known = order.qbo_total is not None and order.qbo_balance is not None
    if known and order.qbo_doc_type == D.INVOICE and order.status != S.CANCELLED:
        expected = payment_status(order.qbo_total, order.qbo_balance)
        if expected != order.payment_status:
            problems.append(
                f"payment status {order.payment_status} does not match QuickBooks' total "
                f"{display_money(order.qbo_total, order)} and balance {display_money(order.qbo_balance, order)} "
                f"({expected})"
            )
    return problems
