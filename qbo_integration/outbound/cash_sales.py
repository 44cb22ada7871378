"""Cash sales (docs/quickbooks/money.md#cash-sales): a draft order paid on the spot becomes a QuickBooks SalesReceipt
instead of an invoice — paid at once, never edited, only voided (the order is then cancelled).

It is a document job like Create Invoice (`enqueue_order_job`, the runner `_run_create` in runners.py, the DocNumber
or marker look-up before the create), with how it was paid in the job's params: the payment method, the reference
and the deposit account, each checked against QuickBooks' own lists before anything is sent.
"""

from __future__ import annotations

from orders.models import Order

from ..adapt import money_input
from ..documents.store import follows
from ..models import QboSyncJob
from .requests import attempt_once, enqueue_order_job
from .rules import check_action

Action = QboSyncJob.Action


def cash_sale_params(*, method: str, reference: str, deposit_to: str) -> dict:
    """How the sale was paid, checked against the company's lists as a payment's are (adapt/money_input.py: 422
    with the field, nothing sent)."""
    method, deposit_to = (str(v or "").strip() for v in (method, deposit_to))
    deposit_to = deposit_to or money_input.undeposited_funds_id()
    return {
        "method": method,
        "methodName": money_input.method_name(method),
        "reference": money_input.check_reference(reference),
        "depositTo": deposit_to,
        "depositToName": money_input.deposit_account_name(deposit_to) if deposit_to else "",
    }


def cash_sale_request(*, order: Order, method: str, reference: str, deposit_to: str, by, ip: str | None) -> QboSyncJob:
    """Record cash sale: the status table first (409), then the input (422), then the job and its one attempt."""
    check_action(order, Action.CREATE_SALES_RECEIPT)
    params = cash_sale_params(method=method, reference=reference, deposit_to=deposit_to)
    job, _ = enqueue_order_job(order=order, action=Action.CREATE_SALES_RECEIPT, by=by, ip=ip, params=params)
    return attempt_once(job)


def cash_sale_details(order: Order) -> dict:
    """How the order's cash sale was paid, as its job recorded it (method, reference, deposit account): {} for an
    order that is not a cash sale."""
    if order.qbo_doc_type != Order.DocType.SALES_RECEIPT:
        return {}
    job = order.qbo_jobs.filter(action=Action.CREATE_SALES_RECEIPT, state=QboSyncJob.State.DONE).order_by("-pk").first()
    if job is None or not follows(order, "SalesReceipt", (job.result or {}).get("docId")):
        return {}
    return {
        k: (job.params or {}).get(k, "") for k in ("method", "methodName", "reference", "depositTo", "depositToName")
    }
