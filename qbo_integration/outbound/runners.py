"""What each kind of job does in QuickBooks, one attempt at a time: create, update, void and convert an order's
document, sync an account or a product. `qbo_job_run` and `qbo_jobs_process_due` run them through the outbox."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Account
from kadouri.display import money as display_money
from orders.models import Order, OrderActivity
from orders.services import order_set_status
from products.models import Product

from .. import mapping
from ..adapt import classes, currency, custom_fields
from ..adapt.closing import is_period_closed, period_closed_error
from ..adapt.numbering import carries_marker
from ..adapt.tax import document_tax, subtotal_in_quickbooks
from ..client.errors import QboError, QboStaleError, QboValidationError, QboWrongLinkError
from ..connection import calls
from ..documents.apply import converting_invoice
from ..documents.reading import money, paid_amount, txn_date
from ..documents.stock import document_item_ids
from ..documents.store import (
    ENTITY_OF_TYPE,
    WriteTarget,
    document_apply,
    entity_of,
    follow_invoice,
    follows,
    label_of,
    older_than_stored,
)
from ..models import QboSyncJob
from ..outbox import jobs
from ..outbox.broker import broker_sync_enqueue
from ..outbox.jobs import SyncRefused, reapply_id
from ..outbox.log import job_actor, job_details, job_log, job_user_name
from ..refs.accounts import term_id_for
from ..refs.ensure import ensure_refs, refs_for_order
from . import broker_books, credits, delivery, payments  # noqa: F401  (each registers its runners)
from .adopt import create_or_adopt
from .money_jobs import MONEY_RUNNERS, run_money_job
from .record import checked_target, load_order, mark_created, mark_updated, refuse_if_settled
from .registry import JOB_RUNNERS
from .rules import CREATE_ACTIONS, check_action, check_class, check_period, check_tax_codes, doc_label
from .stock import ITEMS_BEFORE, quantities_after_job

Action = QboSyncJob.Action


def _document_payload(order: Order, **extra) -> tuple[str, dict]:
    """The customer id and the document payload, customers and items created or updated first."""
    check_tax_codes(order)
    document_currency = currency.document_currency(order)  # no rate for its date: refused before any write
    customer_id, item_ids = refs_for_order(order)
    payload = mapping.sales_document_payload(
        order,
        customer_id=customer_id,
        item_ids=item_ids,
        term_id=term_id_for(order),
        currency=document_currency,
        **extra,
    )
    return customer_id, payload


def _run_create(job: QboSyncJob) -> dict:
    doc_type = CREATE_ACTIONS[job.action]
    order = load_order(job)
    if order.qbo_doc_id:  # done by an earlier job already (e.g. bulk push); nothing to send
        return {"docId": order.qbo_doc_id, "docNumber": order.qbo_doc_number, "adopted": True}
    check_action(order, job.action)
    _refuse_currency(order)
    check_period(order, job.action)
    check_class(order, job.action)
    fingerprint = order.compute_fingerprint()
    customer_id, payload = _document_payload(order)
    entity = ENTITY_OF_TYPE[doc_type]
    if doc_type == Order.DocType.SALES_RECEIPT:  # how the cash sale was paid, as the request checked it
        params = job.params or {}
        payload = mapping.cash_sale_payload(
            payload,
            method_id=params.get("method", ""),
            reference=params.get("reference", ""),
            deposit_to=params.get("depositTo", ""),
        )
    doc = create_or_adopt(job, order, entity, payload, customer_id)
    order = mark_created(job, doc, doc_type, fingerprint)
    return {"docId": order.qbo_doc_id, "docNumber": order.qbo_doc_number, "docType": doc_type}


def _stale_safe(job: QboSyncJob, order: Order, write, *, check=None) -> dict:
    """Read the current SyncToken, check the document is the order's own and everything else the document read
    can refuse (`check`), before any write; write; on 5010 re-read and re-apply once, then report (spec)."""
    entity = entity_of(order)
    for attempt in (1, 2):
        current = calls.read(entity, order.qbo_doc_id)
        target = checked_target(job, order, current)
        check_period(order, job.action, doc_date=txn_date(current))  # moving a document out of the closed period
        if check is not None:
            check(current)
        request_id = job.request_id if attempt == 1 else reapply_id(job)
        try:
            return write(current, target, request_id)
        except QboStaleError as e:
            if attempt == 2:
                raise QboStaleError(
                    f"The {entity.lower()} was changed in QuickBooks twice while Kadouri updated it (QuickBooks error "
                    f"{e.code}). Reload the order, check the {entity.lower()} in QuickBooks, then try again.",
                    code=e.code,
                    detail=e.detail,
                ) from None
    raise AssertionError("unreachable")


def _refuse_below_paid(entity: str, current: dict, order: Order) -> None:
    """QuickBooks refuses a total below the payments applied, and its answer sends the user to QuickBooks; the
    fix is the order's lines in Kadouri, so say that, and send nothing."""
    total, balance = money(current.get("TotalAmt")), money(current.get("Balance"))
    if entity != "Invoice" or total is None or balance is None:
        return
    paid = paid_amount(total, balance)
    tax = document_tax(current)[0] if current.get("GlobalTaxCalculation") != "TaxInclusive" else money(0)
    # QuickBooks' tax is paid too: the order's total with the tax QuickBooks computes now (adapt/tax.py)
    if paid > 0 and order.total + tax < paid:
        with_tax = f" plus {display_money(tax, order)} tax in QuickBooks" if tax else ""
        raise SyncRefused(
            f"{display_money(paid, order)} has already been paid on invoice "
            f"#{current.get('DocNumber') or order.number} in QuickBooks, but this order's total is "
            f"{display_money(order.total, order)}{with_tax}. Edit the order in Kadouri to a total of at least "
            f"{display_money(paid - tax, order)}, then update the invoice again.",
            status=409,
        )


def _quickbooks_matches(order: Order, fingerprint: str, current: dict) -> bool:
    """Nothing changed in Kadouri since the last push, and QuickBooks' document still shows that push's number
    and total (an edit made in QuickBooks is overwritten by an update, as reconciliation's "Push Kadouri's" asks)."""
    return (
        fingerprint == order.pushed_fingerprint
        and str(current.get("DocNumber") or "") == (order.qbo_doc_number or order.number)
        and subtotal_in_quickbooks(current) == order.total  # like with like: QuickBooks' tax left out
        and custom_fields.carried_by(order, current)  # an account code edited since, or a field chosen since
    )


def _run_update(job: QboSyncJob) -> dict:
    """The document is read first: everything it can refuse (its date, a payment, a voided or paid invoice, a
    class it does not have) is refused before the customer and items are written."""
    order = load_order(job)
    check_action(order, job.action)
    _refuse_currency(order)
    check_period(order, job.action)
    entity = entity_of(order)
    fingerprint = order.compute_fingerprint()
    unchanged: list[dict] = []
    built: list[dict] = []  # the payload, built once, after the first read's checks: customers and items go then
    items_before: set[str] = set()  # their stock comes back when the update takes them off (outbound/stock.py)

    def check(current: dict) -> None:
        items_before.update(document_item_ids(current))
        refuse_if_settled(entity, current)
        _refuse_below_paid(entity, current, order)
        if not _quickbooks_matches(order, fingerprint, current):
            check_class(order, job.action, current=current)
        if not built:
            built.append(_document_payload(order)[1])

    def write(current: dict, target: WriteTarget, request_id: str) -> dict:
        if _quickbooks_matches(order, fingerprint, current):
            unchanged.append(current)  # nothing to send: QuickBooks' history gets no empty edit
            return current
        try:
            return calls.update(entity, mapping.sales_document_update(built[0], target), request_id=request_id)
        except QboValidationError as e:
            classes.raise_if_class_fault(order, built[0], e)  # 2500 for a class made inactive since: plain words
            raise

    doc = _stale_safe(job, order, write, check=check)
    if unchanged:
        job_log(
            job,
            OrderActivity.Type.NOTHING_TO_UPDATE,
            f"Nothing to update: {doc_label(order)} #{doc.get('DocNumber') or order.qbo_doc_number} in QuickBooks "
            f"already matches this order ({job_user_name(job)} asked to update it).",
            job_details(job, docId=order.qbo_doc_id),
            order,
        )
        return {"docId": order.qbo_doc_id, "docNumber": order.qbo_doc_number, "nothingToUpdate": True}
    order = mark_updated(job, order.pk, doc, fingerprint, entity=entity)
    return {"docId": order.qbo_doc_id, "docNumber": order.qbo_doc_number, ITEMS_BEFORE: sorted(items_before)}


def _run_void(job: QboSyncJob) -> dict:
    order = load_order(job)
    check_action(order, job.action)
    check_period(order, job.action)
    entity = entity_of(order)
    who = job_user_name(job)

    def write(current: dict, target: WriteTarget, request_id: str) -> dict:
        if entity == "Estimate":  # QuickBooks cannot void estimates; Rejected keeps it on the books, closed
            return calls.update("Estimate", mapping.estimate_reject(target), request_id=request_id)
        return calls.void(entity, target.doc_id, target.sync_token, request_id=request_id)

    doc = _stale_safe(job, order, write)
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        text = (
            f"Estimate #{locked.qbo_doc_number} marked Rejected in QuickBooks by {who} (QuickBooks cannot void "
            "estimates)."
            if entity == "Estimate"
            else f"{label_of(entity).capitalize()} #{locked.qbo_doc_number} voided in QuickBooks by {who}."
        )
        document_apply(
            order=locked,
            doc=doc,
            entity=entity,
            actor=job_actor(job, docId=locked.qbo_doc_id),
            void_hint=True,
            voided_text=text,
        )
        if locked.status != Order.Status.CANCELLED:  # an estimate (Rejected), or an answer that does not look voided
            locked.qbo_doc_state = "Rejected" if entity == "Estimate" else "Voided"
            locked.save(update_fields=["qbo_doc_state", "updated_at"])
            done = "rejected" if entity == "Estimate" else "voided"
            order_set_status(
                order=locked,
                status=Order.Status.CANCELLED,
                by=job.created_by,
                user_name=who,
                ip=job.ip_address,
                reason=f"{label_of(entity)} {done} in QuickBooks",
            )
            job_log(job, OrderActivity.Type.INVOICE_VOIDED, text, job_details(job, docId=locked.qbo_doc_id), locked)
    return {"docId": locked.qbo_doc_id, "docNumber": locked.qbo_doc_number}


def _run_convert(job: QboSyncJob) -> dict:
    order = load_order(job)
    if order.qbo_doc_type == Order.DocType.INVOICE and order.status != Order.Status.CANCELLED:
        # A convert job is only made for an estimate: the order follows the invoice made from it already (this
        # job's earlier try created it, its answer was lost, and the estimate's webhook moved the order on).
        return {"docId": order.qbo_doc_id, "docNumber": order.qbo_doc_number, "adopted": True}
    check_action(order, job.action)
    _refuse_currency(order)
    check_period(order, job.action)
    estimate_id, estimate_number = order.qbo_doc_id, order.qbo_doc_number
    fingerprint = order.compute_fingerprint()
    # The bookkeeper may have converted the estimate in QuickBooks already (its webhook not processed yet).
    # QuickBooks numbered that invoice itself, so the DocNumber look-up would miss it and a second invoice would
    # be created: the order follows theirs instead, as the estimate handler does.
    theirs = converting_invoice(calls.read("Estimate", estimate_id))
    if theirs is not None:
        doc = theirs
    else:
        check_class(order, job.action)
        customer_id, payload = _document_payload(order, estimate_id=estimate_id)
        doc = create_or_adopt(job, order, "Invoice", payload, customer_id)
    # Kadouri numbers its invoices with the order number, or marks them where QuickBooks numbers them: one found by
    # the estimate's link with that number or marker was created by an earlier try of ours whose answer was lost.
    ours = theirs is None or str(theirs.get("DocNumber") or "") == order.number or carries_marker(theirs, order)
    locked = _record_conversion(job, order.pk, doc, estimate_id, estimate_number, fingerprint, ours=ours)
    result = {"docId": locked.qbo_doc_id, "docNumber": locked.qbo_doc_number, "estimateId": estimate_id}
    return result if ours else result | {"adopted": True}


@transaction.atomic
def _record_conversion(
    job: QboSyncJob, order_id: int, doc: dict, estimate_id: str, estimate_number: str, fingerprint: str, *, ours: bool
) -> Order:
    locked = Order.objects.select_for_update().get(pk=order_id)
    if not (follows(locked, "Estimate", estimate_id) or follows(locked, "Invoice", doc.get("Id"))):
        raise QboWrongLinkError(
            f"Order {locked.number} no longer follows estimate {estimate_id} "
            f"({locked.qbo_doc_type} {locked.qbo_doc_id}); the conversion is not applied."
        )
    if ours:
        locked.pushed_fingerprint = fingerprint
    locked.version += 1
    locked.save(update_fields=["pushed_fingerprint", "version", "updated_at"])
    if follows(locked, "Estimate", estimate_id):
        # The conversion first, then what the invoice brings (a payment already on it): the log reads in order.
        number, who = str(doc.get("DocNumber") or doc.get("Id")), job_user_name(job)
        text = (
            f"Estimate #{estimate_number} converted to Invoice #{number} in QuickBooks by {who}."
            if ours
            else f"Estimate #{estimate_number} was already converted to Invoice #{number} in QuickBooks; the "
            f"order now follows that invoice and no second invoice was created (Convert to Invoice by "
            f"{who})."
        )
        job_log(
            job,
            OrderActivity.Type.ESTIMATE_CONVERTED,
            text,
            job_details(job, estimateId=estimate_id, docId=str(doc.get("Id")), adopted=not ours),
            locked,
        )
        follow_invoice(order=locked, invoice=doc, actor=job_actor(job, estimateId=estimate_id))
    elif not older_than_stored(locked, doc, entity="Invoice"):
        # A webhook switched the order to this invoice already (and logged the conversion); a newer version it
        # stored (a payment) is kept: the older answer must not reopen a paid order.
        document_apply(order=locked, doc=doc, entity="Invoice", actor=job_actor(job, estimateId=estimate_id))
    return locked


def _run_ref(job: QboSyncJob) -> dict:
    if job.account_id:
        account = Account.objects.get(pk=job.account_id)
        problem = currency.account_currency_problem(account)
        if problem:
            raise SyncRefused(problem, status=422)
        refs = ensure_refs(accounts=[account], products=[], force_update=True)
        key, ids = ("account", account.pk), refs.customers
    else:
        product = Product.objects.get(pk=job.product_id)
        refs = ensure_refs(accounts=[], products=[product], force_update=True)
        key, ids = ("product", product.pk), refs.items
    if key in refs.errors:
        raise refs.errors[key]
    return {"qboId": ids[key[1]]}


RUNNERS = {
    Action.CREATE_INVOICE: _run_create,
    Action.CREATE_ESTIMATE: _run_create,
    Action.CREATE_SALES_RECEIPT: _run_create,  # a document job, never a bulk push's (bulk/push.py)
    Action.UPDATE_DOCUMENT: _run_update,
    Action.VOID_DOCUMENT: _run_void,
    Action.CONVERT_ESTIMATE: _run_convert,
    Action.SYNC_ACCOUNT: _run_ref,
    Action.SYNC_PRODUCT: _run_ref,
}


def _refuse_currency(order: Order) -> None:
    """A buyer's currency the company can't take: refused before anything is sent
    (docs/quickbooks/next.md#multicurrency)."""
    problem = currency.currency_problem(order)
    if problem:
        raise SyncRefused(problem, status=422)


# The order's broker document follows what these did to its document (docs/quickbooks/beyond.md#the-brokers-own-books).
BROKER_FOLLOWS = {
    Action.CREATE_INVOICE,
    Action.CREATE_SALES_RECEIPT,
    Action.UPDATE_DOCUMENT,
    Action.VOID_DOCUMENT,
    Action.CONVERT_ESTIMATE,
}


def run_job(job: QboSyncJob) -> dict:
    if job.action in MONEY_RUNNERS:  # payments, cash sales, credits and refunds (money_jobs.py)
        return run_money_job(job)
    try:
        result = (RUNNERS.get(job.action) or JOB_RUNNERS[job.action])(job)
    except QboError as e:
        raise _plain_fault(job, e) from None
    quantities_after_job(job, result)  # the document moved stock: QuickBooks' new quantities, read once
    if job.action in BROKER_FOLLOWS:
        broker_sync_enqueue(job.order, by=job.created_by, ip=job.ip_address)
    return result


def _plain_fault(job: QboSyncJob, error: QboError) -> QboError:
    """QuickBooks' closed-period and currency refusals in plain words; any other error as it came."""
    if isinstance(error, QboValidationError) and job.order_id is not None and is_period_closed(error):
        # The closing date moved since the profile was read: read it again and say what to do, with the dates.
        order = Order.objects.get(pk=job.order_id)
        return period_closed_error(order, error, realm_id=job.realm_id, void=job.action == Action.VOID_DOCUMENT)
    account = job.order.buyer if job.order_id else (job.account if job.account_id else None)
    return currency.plain_currency_fault(error, account)


def qbo_job_run(*, job_id: int) -> QboSyncJob:
    """One attempt of a due job (the click's, or the worker's); a retry is left to the worker."""
    return jobs.job_run(job_id=job_id, run=run_job)


def qbo_jobs_process_due(*, limit: int = 100) -> int:
    """The drain: reclaim stuck jobs, resume dead bulk pushes, then run due jobs (scheduled every minute)."""
    return jobs.process_due(run=run_job, limit=limit)
