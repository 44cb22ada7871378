"""What a person's click asks of QuickBooks (the order page's buttons, the spec's JSON API, the Sync buttons of
accounts and products).

A request checks the status table, records the job under the order's lock, and makes at most one short attempt
of it: no sleep and no retry loop inside the web request. Any retry belongs to the worker — the job stays pending
with its `not_before`, scheduled on django-q2 — and the order's QuickBooks panel follows the job by itself.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from accounts.models import Account
from orders.models import Order
from products.models import Product

from ..adapt.currency import account_currency_problem, currency_problem
from ..adapt.tax import document_tax
from ..connection import budget, calls
from ..connection.vault import usable_connection
from ..documents.reading import document_balance, is_voided, money, payment_status
from ..documents.store import entity_of, link_problem
from ..models import BulkPush, QboSyncJob
from ..outbox.jobs import ACTIVE, SyncRefused, is_due, job_for
from ..outbox.log import person_or_none
from .rules import check_action, check_class, check_period, check_tax_codes
from .runners import qbo_job_run

Action = QboSyncJob.Action
SENDS_CONTENT = (
    Action.CREATE_INVOICE,
    Action.CREATE_ESTIMATE,
    Action.CREATE_SALES_RECEIPT,
    Action.UPDATE_DOCUMENT,
    Action.CONVERT_ESTIMATE,
)


def _check_before_lock(order: Order, action: str) -> None:
    """What may ask QuickBooks (the class list, an inactive class, the company's currencies) is checked before the
    order's row is locked, on the order as it is now: no request waits on QuickBooks while holding the lock. An
    edit made meanwhile is checked again by the job before anything is sent (runners.py)."""
    check_action(order, action)  # the status table first: a paid order is 409 even while disconnected
    check_tax_codes(order, action)
    check_period(order, action)
    usable_connection()  # not connected: said before anything is asked of QuickBooks
    check_class(order, action)  # an update's class is checked against its document (runners)
    # A buyer's currency the company can't take: refused before anything is sent; a bulk push reports it on the
    # order's own line instead (docs/quickbooks/next.md#multicurrency).
    problem = currency_problem(order) if action in SENDS_CONTENT else ""
    if problem:
        raise SyncRefused(problem, status=422)


def _active_job(order: Order, action: str) -> QboSyncJob | None:
    """The order's queued or running job for `action`, to join. While a job of another action is active the
    click is refused first — before the status table, which would otherwise call an order whose estimate is still
    being created "a draft" (found by the soak)."""
    active = order.qbo_jobs.filter(state__in=ACTIVE).first()
    if active is None or active.action == action:
        return active
    raise SyncRefused(
        f"QuickBooks is already working on order {order.number} "
        f"({active.get_action_display().lower()}); wait for it to finish.",
        status=409,
    )


def enqueue_order_job(
    *, order: Order, action: str, by, ip: str | None, bulk: BulkPush | None = None, params: dict | None = None
) -> tuple[QboSyncJob, bool]:
    """The order's job for `action` (joined when the same work is already queued or running), and whether it is
    new; `params` is what the job needs besides the order (a cash sale's method, reference and account). Refused
    while another action's job is active, or by the status table. Under the order's lock only local checks are
    made; a bulk push checks the rest itself and fails such an order with the reason (bulk/push.py)."""
    if bulk is None and _active_job(order, action) is None:  # joining a queued job needs no checks
        _check_before_lock(Order.objects.select_related("buyer", "seller").get(pk=order.pk), action)
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)  # the per-order lock
        active = _active_job(locked, action)
        if active is not None:
            return active, False  # the same work is already queued or running: join it
        check_action(locked, action)  # again under the lock: the status table, the order's date and tax codes
        if bulk is None:
            check_tax_codes(locked, action)
            check_period(locked, action)
        realm_id = usable_connection().realm_id
        key = f"{realm_id}:order:{locked.pk}:{action}:v{locked.version}"
        return job_for(
            key=key,
            lookup={"order": locked, "action": action},
            defaults={
                "realm_id": realm_id,
                "created_by": person_or_none(by),
                "ip_address": ip,
                "bulk_push": bulk,
                "params": params or {},
            },
        )


def attempt_once(job: QboSyncJob) -> QboSyncJob:
    """The click's one attempt, if the job is due; a job already running or waiting for its retry is left
    to its worker. It waits briefly, if at all, for the company's request budget: when that is spent, the job is
    left to the worker, which sends it as soon as the budget allows."""
    if not is_due(job):
        return job
    with budget.patience(budget.CLICK_WAIT_SECONDS):
        return qbo_job_run(job_id=job.pk)


def _request(order: Order, action: str, by, ip: str | None) -> QboSyncJob:
    job, _ = enqueue_order_job(order=order, action=action, by=by, ip=ip)
    return attempt_once(job)


def order_push_request(*, order: Order, doc_type: str, by, ip: str | None = None) -> QboSyncJob:
    """Create Invoice / Create Estimate in QB."""
    if doc_type not in (Order.DocType.INVOICE, Order.DocType.ESTIMATE):
        raise SyncRefused("docType must be one of: invoice, estimate.", status=400)
    action = Action.CREATE_ESTIMATE if doc_type == Order.DocType.ESTIMATE else Action.CREATE_INVOICE
    return _request(order, action, by, ip)


def order_update_request(*, order: Order, by, ip: str | None = None) -> QboSyncJob:
    return _request(order, Action.UPDATE_DOCUMENT, by, ip)


def order_void_request(*, order: Order, by, ip: str | None = None) -> QboSyncJob:
    return _request(order, Action.VOID_DOCUMENT, by, ip)


def order_convert_request(*, order: Order, by, ip: str | None = None) -> QboSyncJob:
    return _request(order, Action.CONVERT_ESTIMATE, by, ip)


def ref_sync_request(*, obj: Account | Product, by, ip: str | None = None) -> QboSyncJob:
    """Sync an account (a QuickBooks customer) or a product (an item): one job per saved version of the row."""
    realm_id = usable_connection().realm_id
    kind = obj._meta.model_name  # the job's foreign key: "account" or "product"
    problem = account_currency_problem(obj) if kind == "account" else ""
    if problem:  # refused before anything is sent (docs/quickbooks/next.md#multicurrency)
        raise SyncRefused(problem, status=422)
    action = Action.SYNC_ACCOUNT if kind == "account" else Action.SYNC_PRODUCT
    stamp = int(obj.updated_at.timestamp() * 1000)
    job, _ = job_for(
        key=f"{realm_id}:{kind}:{obj.pk}:{stamp}",
        lookup={kind: obj, "action": action},
        defaults={"realm_id": realm_id, "created_by": person_or_none(by), "ip_address": ip},
    )
    return attempt_once(job)


def order_qbo_status(*, order: Order) -> dict:
    """The document as QuickBooks has it now (spec: GET /api/quickbooks/status/order/:id)."""
    if not order.qbo_doc_id:
        raise SyncRefused(f"Order {order.number} is not in QuickBooks.", status=409)
    doc = calls.read(entity_of(order), order.qbo_doc_id)
    problem = link_problem(order, entity_of(order), doc)
    entity = entity_of(order)
    total = Decimal(str(doc.get("TotalAmt", 0)))
    balance = Decimal(str(doc.get("Balance", doc.get("TotalAmt", 0))))
    if entity == "SalesReceipt":  # paid at once: QuickBooks' Balance is 0, when it sends one at all
        balance = document_balance(entity, doc)
    payment = (
        Order.PaymentStatus.UNPAID
        if order.qbo_doc_type == Order.DocType.ESTIMATE
        else payment_status(money(total), money(balance))
    )
    if entity == "SalesReceipt" and is_voided(doc):
        payment = Order.PaymentStatus.UNPAID
    tax, tax_lines = document_tax(doc)
    # QuickBooks' tax, included in its total and balance: only for a company whose documents carry tax
    taxed = {"tax": str(tax), "taxLines": tax_lines} if tax or tax_lines else {}
    paid_by = (
        {
            "method": str((doc.get("PaymentMethodRef") or {}).get("value") or ""),
            "reference": str(doc.get("PaymentRefNum") or ""),
            "depositTo": str((doc.get("DepositToAccountRef") or {}).get("value") or ""),
        }
        if entity == "SalesReceipt"
        else {}
    )
    return (
        taxed
        | paid_by
        | {
            "orderId": order.pk,
            "docId": doc["Id"],
            "docNumber": doc.get("DocNumber", ""),
            "docType": order.qbo_doc_type,
            "total": str(total),
            "balance": str(balance),
            "paymentStatus": payment,
            "syncToken": doc.get("SyncToken"),
            "lastUpdated": (doc.get("MetaData") or {}).get("LastUpdatedTime"),
            "status": doc.get("TxnStatus"),
            "wrongLink": bool(problem),
            "linkProblem": problem,
        }
    )
