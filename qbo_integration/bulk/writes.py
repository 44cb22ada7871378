"""A push's writes: invoices created 30 per batch request (after one DocNumber or marker look-up for them all) and
documents updated 30 per batch (after reading them all: a paid, voided or wrongly linked one is not written)."""

from __future__ import annotations

from django.db import transaction

from orders.models import Order

from .. import mapping
from ..adapt import classes, names
from ..adapt.numbering import quickbooks_numbers
from ..client.errors import (
    QboError,
    QboNotFoundError,
    QboStaleError,
    QboThrottledError,
    QboTransientError,
    batch_fault,
)
from ..connection import calls
from ..documents.reading import txn_date
from ..documents.store import entity_of
from ..models import BulkPush
from ..outbound.adopt import adoptable
from ..outbound.record import checked_target, mark_created, mark_updated, refuse_if_settled
from ..outbound.rules import check_class, check_period
from ..outbox.broker import broker_sync_enqueue
from ..outbox.jobs import SyncRefused, job_done, reapply_id, request_id
from ..refs import pacing
from ..refs.lookups import lookup_by_name, rows_by_id
from ..refs.markers import lookup_markers
from ..refs.pacing import BATCH_MAX_ITEMS, Pacer
from .lease import Work, fail_work, heartbeat, progress, settle_transient


def bulk_creates(bulk: BulkPush, work: list[Work], pacer: Pacer) -> None:
    for w in [w for w in work if w.order.qbo_doc_id]:
        # Recorded by an earlier run whose worker died before it closed the job: nothing to send or log again, but
        # the broker document's job it may not have recorded yet (the same job again is the one job: its key).
        with transaction.atomic():
            job_done(w.job, {"docId": w.order.qbo_doc_id, "docNumber": w.order.qbo_doc_number, "adopted": True})
            broker_sync_enqueue(w.order, by=w.job.created_by)
        progress(bulk, pacer, succeeded=1)
    work = [w for w in work if not w.order.qbo_doc_id]
    found = _existing_invoices(work, pacer)
    fresh = []
    for w in work:
        doc = found.get(w.order.pk)
        if doc is None:
            fresh.append(w)
            continue
        _bulk_adopt(bulk, w, doc, pacer)
    for start in range(0, len(fresh), BATCH_MAX_ITEMS):
        chunk = fresh[start : start + BATCH_MAX_ITEMS]
        items = [{"bId": f"j{w.job.pk}", "operation": "create", "Invoice": w.payload} for w in chunk]
        heartbeat(bulk, force=True)  # still this worker's push: never send a batch another worker now owns
        try:
            rid = request_id("bulk-create:" + ",".join(w.job.request_id for w in chunk))
            answers = pacing.batch(items, pacer, request_id=rid)
        except (QboTransientError, QboThrottledError) as e:
            settle_transient(bulk, chunk, e, pacer)
            continue
        for w in chunk:
            answer = answers.get(f"j{w.job.pk}", {})
            if "Invoice" in answer:
                _bulk_created(bulk, w, answer["Invoice"], pacer)
                continue
            error = batch_fault(answer.get("Fault"), f"Invoice #{w.order.number}")
            try:
                doc = _existing_invoices([w], pacer).get(w.order.pk) if error.code == "6140" else None
            except QboError as lookup_error:
                error, doc = lookup_error, None
            if doc is not None:
                _bulk_adopt(bulk, w, doc, pacer)
            elif error.code == "2500":
                _bulk_inactive_ref(bulk, w, error, pacer)
            else:
                fail_work(bulk, w, error, pacer)


def _bulk_inactive_ref(bulk: BulkPush, w: Work, error: QboError, pacer: Pacer) -> None:
    """2500 on a create: as for one order (outbound/adopt.py), the class, the customer or an item made inactive in
    QuickBooks since Kadouri linked it is refused in plain words, or made active again by the company rule and the
    invoice created once more (adapt/classes.py, adapt/names.py)."""
    try:
        classes.raise_if_class_fault(w.order, w.payload, error)
        names.settle_inactive_refs(w.order, w.payload, error)
        pacer.before()
        doc = calls.create("Invoice", w.payload, request_id=reapply_id(w.job))
    except (QboTransientError, QboThrottledError) as e:
        settle_transient(bulk, [w], e, pacer)
    except QboError as e:
        fail_work(bulk, w, e, pacer)
    else:
        _bulk_created(bulk, w, doc, pacer)


def _existing_invoices(work: list[Work], pacer: Pacer) -> dict[int, dict]:
    """What earlier tries created, by order: a DocNumber look-up for every order (one batch request per 3,000
    orders), or where QuickBooks numbers documents itself, a marker look-up (one query per customer)."""
    if not work:
        return {}
    if quickbooks_numbers():
        return lookup_markers("Invoice", [(w.order, w.customer_id) for w in work], pacer)
    found = lookup_by_name("Invoice", "DocNumber", [w.order.number for w in work], pacer)
    return {w.order.pk: found[w.order.number.casefold()] for w in work if w.order.number.casefold() in found}


def _bulk_adopt(bulk: BulkPush, w: Work, doc: dict, pacer: Pacer) -> None:
    """An invoice with the order's number already exists: ours (adopted) or not (the job fails)."""
    try:
        adoptable(doc, customer_id=w.customer_id, order=w.order, entity="Invoice")
    except QboError as e:
        fail_work(bulk, w, e, pacer)
    else:
        _bulk_created(bulk, w, doc, pacer)


def _bulk_created(bulk: BulkPush, w: Work, doc: dict, pacer: Pacer) -> None:
    # One transaction: a worker killed mid-way leaves the order, its job and its broker document's job
    # (docs/quickbooks/beyond.md#the-brokers-own-books) all recorded or none (the resumed push adopts the invoice).
    with transaction.atomic():
        order = mark_created(w.job, doc, Order.DocType.INVOICE, w.fingerprint)
        job_done(w.job, {"docId": order.qbo_doc_id, "docNumber": order.qbo_doc_number, "docType": "invoice"})
        broker_sync_enqueue(order, by=w.job.created_by)
    progress(bulk, pacer, succeeded=1)


def _current_documents(work: list[Work], pacer: Pacer, entities: tuple[str, ...]) -> dict[tuple[str, str], dict]:
    """The documents as QuickBooks has them now, by (entity, Id): one query per entity and 100 documents."""
    current: dict[tuple[str, str], dict] = {}
    for entity in entities:
        ids = [w.order.qbo_doc_id for w in work if entity_of(w.order) == entity]
        current |= {(entity, doc_id): row for doc_id, row in rows_by_id(entity, ids, pacer).items()}
    return current


def checked_updates(bulk: BulkPush, work: list[Work], pacer: Pacer) -> list[Work]:
    """The single-order update's rules in bulk, checked on the documents as QuickBooks has them (read before any
    customer or item is written, and again after a 5010): the document read must be the order's own (a wrong link
    gets no write), an invoice paid or voided in QuickBooks is not overwritten, and its date and class are checked;
    such a job fails with the reason in the order's Activity Log. Returns the orders still to update, each with its
    write target."""
    current = _current_documents(work, pacer, _entities(work))
    ready = []
    for w in work:
        entity = entity_of(w.order)
        doc = current.get((entity, str(w.order.qbo_doc_id)))
        try:
            if doc is None:
                raise QboNotFoundError(
                    f"QuickBooks no longer has {entity.lower()} {w.order.qbo_doc_id}; nothing was updated."
                )
            w.target = checked_target(w.job, w.order, doc)
            refuse_if_settled(entity, doc)
            check_period(w.order, w.job.action, doc_date=txn_date(doc))
            check_class(w.order, w.job.action, current=doc)
        except (QboError, SyncRefused) as e:
            fail_work(bulk, w, e, pacer)
            continue
        ready.append(w)
    return ready


def bulk_updates(bulk: BulkPush, work: list[Work], pacer: Pacer, *, reapply: bool = False) -> None:
    """`work` checked by `checked_updates` (bulk/push.py, before the customers and items are written)."""
    stale: list[Work] = []
    for start in range(0, len(work), BATCH_MAX_ITEMS):
        chunk = work[start : start + BATCH_MAX_ITEMS]
        items = [
            {
                "bId": f"j{w.job.pk}",
                "operation": "update",
                entity_of(w.order): mapping.sales_document_update(w.payload, w.target),
            }
            for w in chunk
        ]
        prefix = "bulk-update-reapply:" if reapply else "bulk-update:"
        heartbeat(bulk, force=True)
        try:
            rid = request_id(prefix + ",".join(w.job.request_id for w in chunk))
            answers = pacing.batch(items, pacer, request_id=rid)
        except (QboTransientError, QboThrottledError) as e:
            settle_transient(bulk, chunk, e, pacer)
            continue
        for w in chunk:
            answer, entity = answers.get(f"j{w.job.pk}", {}), entity_of(w.order)
            if entity in answer:
                _bulk_updated(bulk, w, answer[entity], entity, pacer)
                continue
            error = batch_fault(answer.get("Fault"), f"{entity} #{w.order.qbo_doc_number}")
            if isinstance(error, QboStaleError) and not reapply:
                stale.append(w)
                continue
            try:
                classes.raise_if_class_fault(w.order, w.payload, error)  # 2500 for the class: plain words
            except QboError as e:
                error = e
            fail_work(bulk, w, error, pacer)
    if stale:
        # 5010: someone changed them in QuickBooks. Re-read them (one query per entity and 100 documents); one paid
        # or voided meanwhile is not overwritten (the same check as above); the rest are re-applied once.
        stale = checked_updates(bulk, stale, pacer)
        bulk_updates(bulk, stale, pacer, reapply=True)


def _entities(work: list[Work]) -> tuple[str, ...]:
    return tuple(sorted({entity_of(w.order) for w in work}))


def _bulk_updated(bulk: BulkPush, w: Work, doc: dict, entity: str, pacer: Pacer) -> None:
    with transaction.atomic():  # all recorded or none, as for a creation (_bulk_created)
        order = mark_updated(w.job, w.order.pk, doc, w.fingerprint, entity=entity)
        job_done(w.job, {"docId": order.qbo_doc_id, "docNumber": order.qbo_doc_number})
        broker_sync_enqueue(order, by=w.job.created_by)
    progress(bulk, pacer, succeeded=1)
