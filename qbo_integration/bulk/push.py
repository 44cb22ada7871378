"""Running a push: start it in the background, take its lease, claim each pending order's job, create the
customers and items they need, write the documents in batches, and settle what is left when it stops early."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from orders.models import Order

from .. import mapping
from ..adapt import currency
from ..client.errors import QboAuthError, QboError, QboTransientError, QboValidationError
from ..connection import budget
from ..connection.profile import one_profile_read
from ..connection.vault import usable_connection
from ..models import BulkPush, QboConnection, QboSyncJob
from ..outbound.requests import enqueue_order_job
from ..outbound.rules import check_class, check_period, check_tax_codes
from ..outbound.stock import quantities_after_push
from ..outbox.jobs import SyncRefused, claim, crashed, enqueue_bulk_push
from ..outbox.log import person_or_none
from ..refs.accounts import term_ids
from ..refs.ensure import ensure_refs
from ..refs.pacing import Pacer
from .lease import (
    BULK_MAX_RESUMES,
    LeaseLost,
    Work,
    fail_work,
    progress,
    settle_transient,
    sleeping_alive,
    take_lease,
)
from .outcomes import pending_orders
from .read_ahead import read_ahead
from .writes import bulk_creates, bulk_updates, checked_updates

log = logging.getLogger(__name__)

Action = QboSyncJob.Action
State = QboSyncJob.State


def bulk_push_start(*, by) -> BulkPush:
    """Starts a background push (django-q2) unless one is already running; returns the run. Looking and starting
    is one step under the company's connection row lock: two clicks at the same instant, on two app servers, start
    one push and both pages follow it (they used to start two, each page showing its share)."""
    conn = usable_connection()  # refuse at once when QuickBooks is not connected
    with transaction.atomic():
        list(QboConnection.objects.select_for_update().filter(pk=conn.pk).values_list("pk", flat=True))
        running = BulkPush.objects.filter(state__in=[BulkPush.State.QUEUED, BulkPush.State.RUNNING]).first()
        if running is not None:
            return running
        bulk = BulkPush.objects.create(total=len(pending_orders()), created_by=person_or_none(by))
    enqueue_bulk_push(bulk.pk)
    return bulk


def _claim_bulk_jobs(bulk: BulkPush, order_ids: list[int]) -> list[Work]:
    work = []
    by = bulk.created_by
    for order in (
        Order.objects.filter(pk__in=order_ids).select_related("buyer", "seller").prefetch_related("lines__product")
    ):
        action = Action.CREATE_INVOICE if order.status == Order.Status.DRAFT else Action.UPDATE_DOCUMENT
        try:
            job = enqueue_order_job(order=order, action=action, by=by, ip=None, bulk=bulk)[0]
        except (SyncRefused, QboError):
            continue
        if job.bulk_push_id == bulk.pk and claim(job.pk):
            job.refresh_from_db()
            work.append(Work(job, order))
    return work


def _held_work(bulk: BulkPush) -> list[Work]:
    """What a resumed push takes back: the jobs its dead worker held. In doubt: a batch may have reached QuickBooks,
    so the DocNumber look-up before creating finds what it created."""
    held = list(QboSyncJob.objects.filter(bulk_push=bulk, state=State.RUNNING, order__isnull=False))
    QboSyncJob.objects.filter(pk__in=[job.pk for job in held]).update(in_doubt=True, claimed_at=timezone.now())
    orders = (
        Order.objects.filter(pk__in=[job.order_id for job in held])
        .select_related("buyer", "seller")
        .prefetch_related("lines__product")
    )
    by_id = {order.pk: order for order in orders}
    return [Work(job, by_id[job.order_id]) for job in held if job.order_id in by_id]


def bulk_push_run(*, bulk_id: int, pacer: Pacer | None = None) -> BulkPush:
    """Pushes every pending order with batch requests. Each order still has its own job (request id,
    lease, DocNumber look-up before create) and its own activity entry. Runs once per push at a time: a second
    delivery of the task, or the drain's resume, finds the lease held and does nothing."""
    bulk = BulkPush.objects.get(pk=bulk_id)
    resumed = take_lease(bulk)
    if resumed is None:
        return bulk  # ended, or alive in another worker
    pacer = pacer or Pacer()
    pacer.sleep = sleeping_alive(bulk, pacer.sleep)
    pacer.used += bulk.requests_used  # a resumed push counts what its dead worker sent too
    try:
        if resumed and bulk.resumes > BULK_MAX_RESUMES:
            return _bulk_abandon(bulk, pacer)
        with budget.sleeping(pacer.sleep):  # waiting for the company's request budget keeps the heartbeat too
            return _bulk_run(bulk, pacer, resumed=resumed)
    except LeaseLost:
        log.warning("bulk push %s: another worker took it over; this one stops", bulk.pk)
        return BulkPush.objects.get(pk=bulk.pk)


def _bulk_run(bulk: BulkPush, pacer: Pacer, *, resumed: bool) -> BulkPush:
    work = _held_work(bulk) if resumed else []
    if resumed:
        log.warning("bulk push %s resumed after its worker stopped; %s orders taken back", bulk.pk, len(work))
    taken = {w.order.pk for w in work}
    work += _claim_bulk_jobs(bulk, [pk for pk in pending_orders() if pk not in taken])
    bulk.total = bulk.succeeded + bulk.failed + bulk.retrying + len(work)
    BulkPush.objects.filter(pk=bulk.pk).update(total=bulk.total)
    try:
        with one_profile_read():  # every order passes the same company checks: one read of the profile
            work = _bulk_prepare(bulk, work, pacer)
            bulk_creates(bulk, [w for w in work if w.job.action == Action.CREATE_INVOICE], pacer)
            bulk_updates(bulk, [w for w in work if w.job.action == Action.UPDATE_DOCUMENT], pacer)
            quantities_after_push([w.order for w in work])  # docs/quickbooks/beyond.md#stock
    except LeaseLost:
        raise
    except QboAuthError as e:  # stop everything: the banner asks an admin to reconnect
        _bulk_release(bulk, work, pacer, e)
        return _bulk_done(bulk, pacer, BulkPush.State.FAILED, e.message)
    except QboTransientError as e:
        # QuickBooks kept failing through every resend: what is left goes to each order's own retry queue.
        _bulk_release(bulk, work, pacer, e)
        return _bulk_done(bulk, pacer, BulkPush.State.DONE, _bulk_summary(bulk, pacer))
    except QboError as e:
        _bulk_release(bulk, work, pacer, e)
        return _bulk_done(bulk, pacer, BulkPush.State.FAILED, e.message)
    except Exception as e:  # a bug or an unexpected answer: never leave the push and its jobs `running`
        log.exception("bulk push %s crashed", bulk.pk)
        for w in work:
            if QboSyncJob.objects.filter(pk=w.job.pk, state=State.RUNNING).exists():
                w.job.refresh_from_db()
                crashed(w.job, e)
                progress(bulk, pacer, failed=1)
        return _bulk_done(
            bulk,
            pacer,
            BulkPush.State.FAILED,
            f"The push stopped on an unexpected error ({e.__class__.__name__}); its remaining orders "
            "are retried one by one. If this keeps happening, an operator should look at the worker "
            "logs.",
        )
    return _bulk_done(bulk, pacer, BulkPush.State.DONE, _bulk_summary(bulk, pacer))


def _bulk_release(bulk: BulkPush, work: list[Work], pacer: Pacer, error: QboError) -> None:
    """The push stops early: each order it still holds is retried on its own (transient) or fails with the
    reason."""
    for w in work:
        w.job.refresh_from_db()
        if w.job.state != State.RUNNING:
            continue
        if isinstance(error, QboTransientError):
            settle_transient(bulk, [w], error, pacer)
        else:
            fail_work(bulk, w, error, pacer)


def _bulk_abandon(bulk: BulkPush, pacer: Pacer) -> BulkPush:
    error = QboTransientError(
        f"The push was interrupted {bulk.resumes} times; Kadouri retries this order on its own.", in_doubt=True
    )
    _bulk_release(bulk, _held_work(bulk), pacer, error)
    return _bulk_done(
        bulk,
        pacer,
        BulkPush.State.FAILED,
        f"The worker stopped {bulk.resumes} times during this push; the orders it held retry one by one.",
    )


def _bulk_summary(bulk: BulkPush, pacer: Pacer) -> str:
    note = f"{bulk.succeeded} of {bulk.total} orders pushed in batch requests ({pacer.used} QuickBooks requests)."
    if bulk.retrying:
        note += f" Retrying on their own: {bulk.retrying}."
    if bulk.failed:
        note += f" Failed: {bulk.failed} (see the list below)."
    return note


def _bulk_done(bulk: BulkPush, pacer: Pacer, state: str, message: str) -> BulkPush:
    BulkPush.objects.filter(pk=bulk.pk, lease=bulk.lease).update(
        state=state, message=message[:500], finished_at=timezone.now(), requests_used=pacer.used
    )
    bulk.refresh_from_db()
    return bulk


def _check_before_sending(w: Work) -> None:
    """Every refusal that needs no QuickBooks write, made before any customer or item of the push is created or
    updated: an order refused here sends nothing at all. Raises SyncRefused or QboError with the reason; the next
    such check goes here too. Reads come from what `read_ahead` cached."""
    check_tax_codes(w.order, w.job.action)  # a tax-code company needs a code on every line (adapt/tax.py)
    check_period(w.order, w.job.action)  # the closing date (an update's document date: `checked_updates`)
    check_class(w.order, w.job.action)  # an inactive or unknown class (an update's: against its document)
    problem = currency.currency_problem(w.order)  # docs/quickbooks/next.md#multicurrency
    if problem:
        raise QboValidationError(problem, code="currency")
    w.currency = currency.document_currency(w.order)  # no rate for its date: refused
    w.fingerprint = w.order.compute_fingerprint()


def _refusals(bulk: BulkPush, work: list[Work], pacer: Pacer) -> list[Work]:
    """Orders refused before anything is sent fail on their own line (a transient read goes to their own retry);
    an update's document is read and checked too (`checked_updates`). The rest go on."""
    read_ahead(work, pacer)
    ready = []
    for w in work:
        try:
            _check_before_sending(w)
        except QboTransientError as e:
            settle_transient(bulk, [w], e, pacer)
        except (SyncRefused, QboError) as e:
            fail_work(bulk, w, e, pacer)
        else:
            ready.append(w)
    creates = [w for w in ready if w.job.action == Action.CREATE_INVOICE]
    return creates + checked_updates(bulk, [w for w in ready if w.job.action == Action.UPDATE_DOCUMENT], pacer)


def _bulk_prepare(bulk: BulkPush, work: list[Work], pacer: Pacer) -> list[Work]:
    work = _refusals(bulk, work, pacer)
    buyers = [w.order.buyer for w in work]
    products = [line.product for w in work for line in w.order.lines.all()]
    refs = ensure_refs(accounts=buyers, products=products, pacer=pacer)
    terms = term_ids(pacer)
    ready = []
    for w in work:
        keys = [("account", w.order.buyer_id)] + [("product", line.product_id) for line in w.order.lines.all()]
        error = next((refs.errors[k] for k in keys if k in refs.errors), None)
        error = currency.plain_currency_fault(error, w.order.buyer) if error is not None else None
        if isinstance(error, QboTransientError):
            settle_transient(bulk, [w], error, pacer)
            continue
        if error is not None:
            fail_work(bulk, w, error, pacer)
            continue
        w.customer_id = refs.customers[w.order.buyer_id]
        w.payload = mapping.sales_document_payload(
            w.order,
            customer_id=w.customer_id,
            item_ids=refs.items,
            term_id=terms.get(mapping.TERM_NAMES[w.order.terms].casefold()),
            currency=w.currency,
        )
        ready.append(w)
    return ready
