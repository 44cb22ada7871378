"""The status table (spec: Business Rules): what may be sent to QuickBooks for an order in each status."""

from __future__ import annotations

from orders.models import Order

from ..adapt import classes, closing
from ..adapt.tax import missing_tax_codes
from ..documents.store import entity_of
from ..models import QboSyncJob
from ..outbox.jobs import SyncRefused

Action = QboSyncJob.Action
CREATE_ACTIONS = {
    Action.CREATE_INVOICE: Order.DocType.INVOICE,
    Action.CREATE_ESTIMATE: Order.DocType.ESTIMATE,
    Action.CREATE_SALES_RECEIPT: Order.DocType.SALES_RECEIPT,
}
SENDING_LINES = {*CREATE_ACTIONS, Action.UPDATE_DOCUMENT, Action.CONVERT_ESTIMATE}


def doc_label(order: Order) -> str:
    return "sales receipt" if order.qbo_doc_type == Order.DocType.SALES_RECEIPT else entity_of(order).lower()


def allowed_actions(order: Order) -> set[str]:
    """What the order page may offer; the server applies the same table in `check_action`. Nothing is
    offered for a wrongly linked order: every action would write to another document."""
    if order.qbo_link_problem:
        return set()
    if order.status == Order.Status.DRAFT and not order.qbo_doc_id:
        return {Action.CREATE_INVOICE, Action.CREATE_ESTIMATE, Action.CREATE_SALES_RECEIPT}
    if order.qbo_doc_type == Order.DocType.SALES_RECEIPT:
        # A cash sale is paid the moment it exists: never edited, only voided (docs/quickbooks/money.md#cash-sales).
        settled = order.status in (Order.Status.PAID, Order.Status.POSTED_TO_QB) and order.qbo_doc_id
        return {Action.VOID_DOCUMENT} if settled else set()
    if order.status == Order.Status.POSTED_TO_QB and order.qbo_doc_id:
        actions = {Action.UPDATE_DOCUMENT, Action.VOID_DOCUMENT}
        if order.qbo_doc_type == Order.DocType.ESTIMATE:
            actions.add(Action.CONVERT_ESTIMATE)
        return actions
    return set()


def _refusal(order: Order, action: str) -> str:
    label = doc_label(order)
    if order.qbo_link_problem:
        return f"Order {order.number}'s QuickBooks link looks wrong, so nothing is sent: {order.qbo_link_problem}"
    if order.qbo_doc_type == Order.DocType.SALES_RECEIPT and order.status != Order.Status.CANCELLED:
        return _cash_sale_refusal(order, action)
    if order.status == Order.Status.PAID:
        return f"Order {order.number} is paid in QuickBooks and read-only. Make changes in QuickBooks instead."
    if order.status == Order.Status.CANCELLED:
        return f"Order {order.number} is cancelled; its {label} was voided. Create a new order instead."
    if action in CREATE_ACTIONS:
        return (
            f"Order {order.number} already has {label} #{order.qbo_doc_number} in QuickBooks. "
            f"Use “Update QB {label.title()}” instead."
        )
    if action == Action.CONVERT_ESTIMATE and order.status == Order.Status.POSTED_TO_QB:
        return f"Order {order.number} is posted as an invoice, not an estimate; there is nothing to convert."
    return f"Order {order.number} is a draft and not in QuickBooks yet. Create the invoice first."


def _cash_sale_refusal(order: Order, action: str) -> str:
    number = f"sales receipt #{order.qbo_doc_number}"
    if action in CREATE_ACTIONS:
        return f"Order {order.number} is already a cash sale, {number} in QuickBooks; nothing else can be created."
    if action == Action.CONVERT_ESTIMATE:
        return f"Order {order.number} is a cash sale ({number}), not an estimate; there is nothing to convert."
    return (
        f"Order {order.number} is a cash sale, paid in full as {number}: it is read-only and cannot be updated. "
        "Void the sales receipt and record a new order instead."
    )


def check_action(order: Order, action: str) -> None:
    if action not in allowed_actions(order):
        raise SyncRefused(_refusal(order, action), status=409)
    if action in CREATE_ACTIONS or action in (Action.UPDATE_DOCUMENT, Action.CONVERT_ESTIMATE):
        missing = [
            what
            for what, ok in (
                ("a seller", order.seller_id),
                ("a buyer", order.buyer_id),
                ("at least one line", order.lines.exists()),
            )
            if not ok
        ]
        if missing:
            raise SyncRefused(
                f"Order {order.number} needs {', '.join(missing)} before it can go to QuickBooks.", status=422
            )


def check_tax_codes(order: Order, action: str = Action.CREATE_INVOICE) -> None:
    """A company that needs a tax code on every line gets none of the order (customer, items or document) while
    a line has no code: refused before anything is sent (adapt/tax.py)."""
    problem = missing_tax_codes(order) if action in SENDING_LINES else ""
    if problem:
        raise SyncRefused(problem, status=422)


def check_period(order: Order, action: str, *, doc_date=None) -> None:
    """The company's closing date, before anything is sent (docs/quickbooks/next.md#closing-date): 422, like an
    incomplete order, because the order itself (its date) has to change, or the books be reopened."""
    if action in (Action.SYNC_ACCOUNT, Action.SYNC_PRODUCT):
        return
    problem = closing.refusal(order, void=action == Action.VOID_DOCUMENT, doc_date=doc_date)
    if problem:
        raise SyncRefused(problem, status=422)


def check_class(order: Order, action: str, *, current: dict | None = None) -> None:
    """An inactive or unknown class is refused before anything is sent (adapt/classes.py: ClassRefused, 422). An
    update is checked against the document read (`current`): QuickBooks keeps a class the document already has,
    even one made inactive since (docs/quickbooks/next.md#class-and-location-tracking)."""
    if action not in SENDING_LINES:
        return
    if action == Action.UPDATE_DOCUMENT:
        if current is None or str((current.get("ClassRef") or {}).get("value") or "") == classes.class_id_for(order):
            return
    classes.check_class(order)
