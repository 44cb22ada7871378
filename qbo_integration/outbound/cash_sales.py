"""Cash sales (docs/quickbooks/money.md#cash-sales): a draft order paid on the spot becomes a QuickBooks SalesReceipt
instead of an invoice — paid at once, never edited, only voided (the order is then cancelled).

It is a document job like Create Invoice (`enqueue_order_job`, the runner `_run_create` in runners.py, the DocNumber
or marker look-up before the create), with how it was paid in the job's params: the payment method, the reference
and the deposit account, each checked against QuickBooks' own lists before anything is sent.
"""

from __future__ import annotations

from orders.models import Order

from ..adapt.money_input import deposit_accounts, payment_methods, undeposited_funds_id
from ..documents.store import follows
from ..mapping import PAYMENT_REF_MAX
from ..models import QboSyncJob
from ..outbox.jobs import SyncRefused
from .requests import attempt_once, enqueue_order_job
from .rules import check_action

Action = QboSyncJob.Action


class CashSaleInputRefused(SyncRefused):
    """Bad input on the cash sale form or API call: 422 with the field to fix; nothing is sent."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, status=422)
        self.field = field


def cash_sale_params(*, method: str, reference: str, deposit_to: str) -> dict:
    """How the sale was paid, checked against the company's lists (read at most every five minutes)."""
    method, reference, deposit_to = (str(v or "").strip() for v in (method, reference, deposit_to))
    methods = dict(payment_methods())  # {id: name}, from a dict or (id, name) pairs alike
    if method and method not in methods:
        raise CashSaleInputRefused(
            f"Payment method {method} is not one of QuickBooks' active payment methods. Choose one from the list.",
            field="method",
        )
    if len(reference) > PAYMENT_REF_MAX:
        raise CashSaleInputRefused(
            f"The reference is {len(reference)} characters; QuickBooks takes at most {PAYMENT_REF_MAX}.",
            field="reference",
        )
    accounts = dict(deposit_accounts())
    deposit_to = deposit_to or undeposited_funds_id()
    if deposit_to not in accounts:
        raise CashSaleInputRefused(
            f"Account {deposit_to or '(none)'} is not one of QuickBooks' bank or Undeposited Funds accounts. Choose "
            "one from the list.",
            field="depositTo",
        )
    return {
        "method": method,
        "methodName": methods.get(method, ""),
        "reference": reference,
        "depositTo": deposit_to,
        "depositToName": accounts[deposit_to],
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
