"""Recording what a job wrote on its order (created, updated), and the checks before writing to a document
QuickBooks has now: it must be the order's own, and not settled (paid or voided). The single-order runners and
the bulk push share them, so both apply the same rules."""

from __future__ import annotations

from django.db import transaction

from orders.models import Order, OrderActivity
from orders.services import order_set_status

from ..client.errors import QboValidationError, QboWrongLinkError
from ..documents.apply import Cause, invoice_apply
from ..documents.reading import is_voided, money, payment_status
from ..documents.store import (
    WriteTarget,
    document_apply,
    document_link,
    document_store,
    entity_of,
    follows,
    link_problem_record,
    older_than_stored,
    write_target,
)
from ..models import QboSyncJob
from ..outbox.log import job_actor, job_details, job_log, job_user_name
from .rules import doc_label


def load_order(job: QboSyncJob) -> Order:
    return Order.objects.select_related("buyer", "seller").prefetch_related("lines__product").get(pk=job.order_id)


@transaction.atomic
def mark_created(job: QboSyncJob, doc: dict, doc_type: str, pushed_fingerprint: str) -> Order:
    order = Order.objects.select_for_update().get(pk=job.order_id)
    document_link(order, doc, doc_type=doc_type)
    document_store(order, doc, entity=entity_of(order))
    who = job_user_name(job)
    if doc_type == Order.DocType.SALES_RECEIPT:
        return _cash_sale_created(job, order, pushed_fingerprint)
    if order.status == Order.Status.DRAFT:
        order_set_status(
            order=order,
            status=Order.Status.POSTED_TO_QB,
            by=job.created_by,
            user_name=who,
            ip=job.ip_address,
            reason=f"{doc_type} created in QuickBooks",
        )
    Order.objects.filter(pk=order.pk).update(pushed_fingerprint=pushed_fingerprint)
    kind = (
        OrderActivity.Type.ESTIMATE_CREATED
        if doc_type == Order.DocType.ESTIMATE
        else OrderActivity.Type.INVOICE_CREATED
    )
    job_log(
        job,
        kind,
        f"{doc_type.title()} #{order.qbo_doc_number} created in QuickBooks by {who}.",
        job_details(job, docId=order.qbo_doc_id, docNumber=order.qbo_doc_number, total=str(order.qbo_total)),
        order,
    )
    if doc_type == Order.DocType.INVOICE:
        _apply_bookkeeping_since_creation(order, doc)
        order.refresh_from_db()
    return order


def _cash_sale_created(job: QboSyncJob, order: Order, pushed_fingerprint: str) -> Order:
    """A sales receipt is paid the moment it exists: the draft becomes paid at once (docs/quickbooks/money.md
    #cash-sales). One adopted after a lost answer may have been voided meanwhile: the order is cancelled then."""
    who = job_user_name(job)
    Order.objects.filter(pk=order.pk).update(pushed_fingerprint=pushed_fingerprint)
    params = job.params or {}
    how = ", ".join(
        part
        for part in (params.get("methodName", ""), f"ref {params['reference']}" if params.get("reference") else "")
        if part
    )
    number = order.qbo_doc_number or order.qbo_doc_id
    job_log(
        job,
        OrderActivity.Type.CASH_SALE,
        f"Cash sale recorded in QuickBooks as sales receipt #{number}{f' ({how})' if how else ''} by {who}.",
        job_details(
            job,
            docId=order.qbo_doc_id,
            docNumber=number,
            total=str(order.qbo_total),
            method=params.get("method", ""),
            reference=params.get("reference", ""),
            depositTo=params.get("depositTo", ""),
        ),
        order,
    )
    voided = order.qbo_doc_state == "Voided"
    if order.status == Order.Status.DRAFT:
        order_set_status(
            order=order,
            status=Order.Status.CANCELLED if voided else Order.Status.PAID,
            by=job.created_by,
            user_name=who,
            ip=job.ip_address,
            reason=f"sales receipt #{number} is voided in QuickBooks"
            if voided
            else f"cash sale recorded in QuickBooks as sales receipt #{number}",
        )
    order.refresh_from_db()
    return order


def _apply_bookkeeping_since_creation(order: Order, doc: dict) -> None:
    """An invoice adopted by DocNumber (an earlier try created it but its answer was lost) may have been paid
    or voided in QuickBooks meanwhile. Its webhooks came while Kadouri did not know the invoice and were
    ignored, and catch-up would now find the very version stored above: the order would stay `posted` with a
    zero balance (found by the soak). Record it as created — full balance, version unknown — and let the
    inbound handler apply what happened since, with its activity entries."""
    total = money(doc.get("TotalAmt", 0))
    balance = money(doc.get("Balance", total))
    if balance == total and not is_voided(doc):
        return
    Order.objects.filter(pk=order.pk).update(
        qbo_balance=total,
        qbo_sync_token="",
        qbo_last_updated=None,
        payment_status=Order.PaymentStatus.UNPAID,
        qbo_doc_state="Open",
    )

    invoice_apply(order_id=order.pk, doc_id=str(doc["Id"]), invoice=doc, cause=Cause(source="sync"))


@transaction.atomic
def mark_updated(job: QboSyncJob, order_id: int, doc: dict, fingerprint: str, *, entity: str) -> Order:
    order = Order.objects.select_for_update().get(pk=order_id)
    Order.objects.filter(pk=order_id).update(pushed_fingerprint=fingerprint)
    order.pushed_fingerprint = fingerprint
    job_log(
        job,
        OrderActivity.Type.INVOICE_UPDATED,
        f"{doc_label(order).title()} #{doc.get('DocNumber') or order.qbo_doc_number} updated in QuickBooks by "
        f"{job_user_name(job)}.",
        job_details(job, docId=order.qbo_doc_id, total=str(money(doc.get("TotalAmt")))),
        order,
    )
    # Between QuickBooks' answer and this lock a webhook may have stored a newer version (a payment: the order is
    # paid) or switched the order to another document (an estimate converted in QuickBooks): the answer is then
    # not applied, or an older version would move the order backwards.
    if follows(order, entity, doc.get("Id")) and not older_than_stored(order, doc, entity=entity):
        # An invoice edited down to what was already paid is paid now: the same status change a webhook would make.
        # A payment the answer shows first (its webhook not processed yet) is logged as received, as it would be.
        document_apply(
            order=order,
            doc=doc,
            entity=entity,
            actor=job_actor(job, docId=order.qbo_doc_id),
            payments_since=(order.qbo_total, order.qbo_balance),
        )
    return order


def checked_target(job: QboSyncJob, order: Order, current: dict) -> WriteTarget:
    """documents.write_target, with a wrong link recorded on the order (its panel then says so)."""
    try:
        return write_target(order, current)
    except QboWrongLinkError as e:
        with transaction.atomic():
            locked = Order.objects.select_for_update().get(pk=order.pk)
            link_problem_record(order=locked, problem=e.message, actor=job_actor(job))
        raise


def refuse_if_settled(entity: str, current: dict) -> None:
    if entity == "Invoice" and is_voided(current):
        raise QboValidationError("QuickBooks shows this invoice as voided; it cannot be changed. Reload the order.")
    if (
        entity == "Invoice"
        and payment_status(money(current.get("TotalAmt")), money(current.get("Balance"))) == Order.PaymentStatus.PAID
    ):
        raise QboValidationError(
            "QuickBooks shows this invoice as paid, so Kadouri will not change it. Make changes in QuickBooks instead."
        )
