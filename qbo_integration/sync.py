"""Orders, accounts and products → QuickBooks, exactly once, under any failure.

How "exactly once" holds (field-lessons §3.1; no single layer is trusted on its own):

1. Per-order lock. A request locks the order row (`select_for_update`) to check the status table and to
   pick the job; an order has at most one active (pending or running) job at a time.
2. The job row (the outbox, STYLE C6). Its `request_id` is uuid5(realm, order, operation, order version,
   generation): a double click, a second staff member or a browser retry at the same version finds the
   same row (the column is unique, so even racing inserts end with one row). Running a job is a lease
   taken by a compare-and-set UPDATE pending→running, so one worker at a time sends it.
3. QuickBooks' `requestid` (§3.9): every write of a job carries the job's id, reused on every retry, so a
   replay after a dropped connection is answered from QuickBooks' cache instead of being run again.
4. DocNumber look-up. `requestid` has been reported not to dedupe (field-lessons §2.3), and an earlier job
   (failed while in doubt, or from before an edit: the key holds the version) has another id, so before
   every create or convert the job looks for a document with the order's number (one query) and adopts it
   when customer and total match, or refuses when it does not. A 6140 "Duplicate Doc Num" answer leads to
   the same look-up.

Failures: transient ones (5xx, timeouts, dropped connections) are retried a few times inside the request,
then the job is queued with exponential backoff on django-q2 (the row owns attempts and `not_before`;
django-q2 runs each task once). A 429 pauses the company (client.py) and queues the job until the pause
ends. A stale SyncToken (5010) is re-read and re-applied once. Validation and duplicates stop and say what
to fix. An auth failure stops and the banner asks an admin to reconnect. Every outcome writes an
OrderActivity with QuickBooks' error code in `details`.
"""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Account
from kadouri.display import money as display_money, when
from orders.models import Order, OrderActivity
from orders.services import order_activity_log, order_set_status, user_display_name
from products.models import Product

from . import client, mapping
from .client import (
    QboAuthError,
    QboDuplicateError,
    QboError,
    QboPausedError,
    QboStaleError,
    QboThrottledError,
    QboTransientError,
    QboValidationError,
    QboWrongLinkError,
)
from .documents.apply import Cause, converting_invoice, invoice_apply
from .documents.reading import is_voided, money, paid_amount, payment_status
from .documents.store import (
    Actor,
    WriteTarget,
    document_apply,
    document_link,
    document_store,
    entity_of,
    follow_invoice,
    follows,
    link_problem,
    link_problem_record,
    older_than_stored,
    write_target,
)
from .models import BulkPush, QboConnection, QboSyncJob

log = logging.getLogger(__name__)

REQUEST_NAMESPACE = uuid.UUID("6f1c1f3e-4a57-4d0e-9a51-6b2d8f0c3a11")
BATCH_MAX_ITEMS = 30  # §3.7
QUERY_IN_CHUNK = 100  # names or numbers per IN (...) query; each query answers up to 1000 rows
QUERY_MAX_RESULTS = 1000  # §3.6
# Production values by default; settings (env) may compress them, as the soak does (manage.py soak).
RETRY_BASE = timedelta(seconds=settings.QBO_RETRY_BASE_SECONDS)
RETRY_CAP = timedelta(hours=1)
# A running job whose worker died is reclaimed (in doubt) after this long.
STUCK_AFTER = timedelta(seconds=settings.QBO_JOB_STUCK_AFTER_SECONDS)
TERM_CACHE_SECONDS = 3600

Action = QboSyncJob.Action
State = QboSyncJob.State
ACTIVE = (State.PENDING, State.RUNNING)
CREATE_ACTIONS = {Action.CREATE_INVOICE: Order.DocType.INVOICE, Action.CREATE_ESTIMATE: Order.DocType.ESTIMATE}


class SyncRefused(Exception):
    """The status table or the order's content refuses the action; nothing was sent. `status` is the
    HTTP status the API answers (409 forbidden by the status table, 422 incomplete order)."""

    def __init__(self, message: str, *, status: int = 409) -> None:
        super().__init__(message)
        self.message, self.status = message, status


# --- the status table (spec: Business Rules) ------------------------------------------------------

def doc_label(order: Order) -> str:
    return entity_of(order).lower()


def allowed_actions(order: Order) -> set[str]:
    """What the order page may offer; the server applies the same table in `check_action`. Nothing is
    offered for a wrongly linked order: every action would write to another document."""
    if order.qbo_link_problem:
        return set()
    if order.status == Order.Status.DRAFT and not order.qbo_doc_id:
        return {Action.CREATE_INVOICE, Action.CREATE_ESTIMATE}
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
    if order.status == Order.Status.PAID:
        return f"Order {order.number} is paid in QuickBooks and read-only. Make changes in QuickBooks instead."
    if order.status == Order.Status.CANCELLED:
        return f"Order {order.number} is cancelled; its {label} was voided. Create a new order instead."
    if action in CREATE_ACTIONS:
        return (f"Order {order.number} already has {label} #{order.qbo_doc_number} in QuickBooks. "
                f"Use “Update QB {label.title()}” instead.")
    if action == Action.CONVERT_ESTIMATE and order.status == Order.Status.POSTED_TO_QB:
        return f"Order {order.number} is posted as an invoice, not an estimate; there is nothing to convert."
    return f"Order {order.number} is a draft and not in QuickBooks yet. Create the invoice first."


def check_action(order: Order, action: str) -> None:
    if action not in allowed_actions(order):
        raise SyncRefused(_refusal(order, action), status=409)
    if action in CREATE_ACTIONS or action in (Action.UPDATE_DOCUMENT, Action.CONVERT_ESTIMATE):
        missing = [what for what, ok in (("a seller", order.seller_id), ("a buyer", order.buyer_id),
                                          ("at least one line", order.lines.exists())) if not ok]
        if missing:
            raise SyncRefused(f"Order {order.number} needs {', '.join(missing)} before it can go to QuickBooks.",
                              status=422)


# --- jobs: creation, lease, outcome ----------------------------------------------------------------

def _reapply_id(job: QboSyncJob) -> str:
    """The request id of a job's second write after a stale SyncToken (5010): its own, so a replay is recognised."""
    return _request_id(f"{job.request_id}:reapply")


def _request_id(key: str) -> str:
    return str(uuid.uuid5(REQUEST_NAMESPACE, key))  # 36 characters: fits requestid (50) and batch (36)


def _realm_id() -> str:
    return client.usable_connection().realm_id


def _job_for(*, key: str, defaults: dict, lookup: dict) -> tuple[QboSyncJob, bool]:
    """The job for this piece of work. A failed job is never re-armed (QuickBooks would replay its
    answer for the same requestid); a new try gets the next generation's id."""
    existing = {j.request_id: j for j in QboSyncJob.objects.filter(**lookup)}
    for generation in itertools.count():
        request_id = _request_id(f"{key}:g{generation}")
        job = existing.get(request_id)
        if job is None:
            try:
                with transaction.atomic():
                    return QboSyncJob.objects.create(request_id=request_id, **lookup, **defaults), True
            except IntegrityError:  # a racing request inserted the same id first: use its row
                return QboSyncJob.objects.get(request_id=request_id), False
        if job.state != State.FAILED:
            return job, False
    raise AssertionError("unreachable")


def _enqueue_order_job(*, order: Order, action: str, by, ip: str | None, bulk: BulkPush | None = None) -> tuple[QboSyncJob, bool]:
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)  # the per-order lock
        active = locked.qbo_jobs.filter(state__in=ACTIVE).first()
        if active is not None:
            if active.action == action:
                return active, False  # the same work is already queued or running: join it
            raise SyncRefused(f"QuickBooks is already working on order {locked.number} "
                              f"({active.get_action_display().lower()}); wait for it to finish.", status=409)
        check_action(locked, action)  # the status table first: a paid order is 409 even while disconnected
        realm_id = _realm_id()
        key = f"{realm_id}:order:{locked.pk}:{action}:v{locked.version}"
        return _job_for(key=key, lookup={"order": locked, "action": action},
                        defaults={"realm_id": realm_id, "created_by": _user(by), "ip_address": ip, "bulk_push": bulk})


def _user(by):
    return by if by is not None and getattr(by, "is_authenticated", False) else None


def _claim(job_id: int) -> bool:
    """Compare-and-set lease: exactly one worker moves a due pending job to running."""
    now = timezone.now()
    return bool(QboSyncJob.objects.filter(pk=job_id, state=State.PENDING, not_before__lte=now).update(
        state=State.RUNNING, claimed_at=now, attempts=F("attempts") + 1))


def _finish(job: QboSyncJob, result: dict) -> None:
    job.state, job.result, job.finished_at = State.DONE, result, timezone.now()
    job.error_kind = job.error_code = job.last_error = ""
    job.save(update_fields=["state", "result", "finished_at", "error_kind", "error_code", "last_error", "updated_at"])


def _backoff(attempts: int) -> timedelta:
    return min(RETRY_BASE * (2 ** max(attempts - 1, 0)), RETRY_CAP)


def _details(job: QboSyncJob, error: QboError | None = None, **extra) -> dict:
    details = {"requestId": job.request_id, "action": job.action, "attempt": job.attempts, **extra}
    if error is not None:
        details |= {"code": error.code, "kind": error.kind, "detail": error.detail[:300]}
    return details


def _log(job: QboSyncJob, activity_type: str, description: str, details: dict, order: Order | None = None) -> None:
    order = order or (Order.objects.filter(pk=job.order_id).first() if job.order_id else None)
    if order is None:
        return
    user = job.created_by
    order_activity_log(order=order, activity_type=activity_type, description=description, user=user,
                       user_name=user_display_name(user) if user else "QuickBooks sync", ip=job.ip_address,
                       details=details)


def _queue_retry(job: QboSyncJob, error: QboError) -> None:
    paused = isinstance(error, QboPausedError)
    if paused and job.attempts > 0:
        # Nothing was sent: the company is paused after someone's 429. Waiting for the pause is not a failed
        # attempt — otherwise a busy company uses up every queued job's attempts and they fail for good.
        job.attempts -= 1
    if job.attempts >= job.max_attempts:
        _fail(job, error, note=f" Gave up after {job.attempts} attempts.")
        return
    retry_at = max(error.retry_at or timezone.now(), timezone.now() + _backoff(job.attempts))
    job.state, job.not_before, job.claimed_at = State.PENDING, retry_at, None
    job.in_doubt = job.in_doubt or error.in_doubt
    job.error_kind, job.error_code, job.last_error = error.kind, error.code, error.message[:500]
    job.save()
    _log(job, OrderActivity.Type.SYNC_QUEUED,
         f"{job.get_action_display()} queued — retrying at {when(retry_at)} "
         f"({'QuickBooks paused this company' if paused else f'attempt {job.attempts} of {job.max_attempts}'}): "
         f"{error.message}", _details(job, error, retryAt=retry_at.isoformat()))
    _schedule(job)


def _schedule(job: QboSyncJob) -> None:
    """One django-q2 task at `not_before`; the every-minute drain is the safety net (tasks.py)."""
    from django_q.models import Schedule

    Schedule.objects.create(name=f"qbo-job-{job.pk}-{job.attempts}", func="qbo_integration.tasks.qbo_run_job",
                            args=str(job.pk), schedule_type=Schedule.ONCE, repeats=1, next_run=job.not_before)
    # Not get_or_create: the name is not unique, so two requests racing here both create it and every later
    # get_or_create raised MultipleObjectsReturned (a 500 from the API; found by the soak). A duplicate drain
    # is harmless (jobs are leased by compare-and-set); an exception here is not.
    if not Schedule.objects.filter(func="qbo_integration.tasks.qbo_drain_due_jobs").exists():
        Schedule.objects.create(name="qbo-drain", func="qbo_integration.tasks.qbo_drain_due_jobs",
                                schedule_type=Schedule.MINUTES, minutes=1, repeats=-1)


def _fail(job: QboSyncJob, error: QboError | SyncRefused, note: str = "") -> None:
    message = error.message
    job.state, job.finished_at, job.claimed_at = State.FAILED, timezone.now(), None
    job.error_kind = getattr(error, "kind", "refused")
    job.error_code = getattr(error, "code", "")
    job.last_error = (message + note)[:500]
    job.save()
    code = f" (QuickBooks error {job.error_code})" if job.error_code and job.error_code not in message else ""
    qbo_error = error if isinstance(error, QboError) else None
    _log(job, OrderActivity.Type.SYNC_FAILED, f"{job.get_action_display()} failed{code}: {message}{note}",
         _details(job, qbo_error) | ({} if qbo_error else {"kind": "refused", "code": ""}))


def _inline_delays() -> list[float]:
    return list(getattr(settings, "QBO_INLINE_RETRY_DELAYS", (0.5, 1.5)))


def qbo_job_run(*, job_id: int) -> QboSyncJob:
    """Runs a due job once (with a short bounded in-request retry for transient failures)."""
    if not _claim(job_id):
        return QboSyncJob.objects.get(pk=job_id)
    job = QboSyncJob.objects.get(pk=job_id)
    delays = _inline_delays()
    while True:
        with client.writes_sent() as sent:
            try:
                result = RUNNERS[job.action](job)
            except QboThrottledError as e:  # the company is paused: never hammer it inside the request
                _queue_retry(job, e)
            except QboTransientError as e:
                if e.in_doubt or _own_write_left(job, sent):
                    job.in_doubt = True  # the next try looks for the document before creating it
                    job.save(update_fields=["in_doubt", "updated_at"])
                if delays:
                    time.sleep(delays.pop(0))
                    continue
                _queue_retry(job, e)
            except (QboError, SyncRefused) as e:
                _fail(job, e)
            except Exception as e:  # a bug or an unexpected answer must not leave the job `running` (and answer 500)
                log.exception("quickbooks job %s (%s) crashed", job.pk, job.action)
                _crashed(job, e, wrote=_own_write_left(job, sent))
            else:
                _finish(job, result)
        break
    return QboSyncJob.objects.filter(pk=job.pk).first() or job


def _own_write_left(job: QboSyncJob, sent: list[str]) -> bool:
    """Whether this job's own write went out: an order job's document carries the job's requestid (or the
    re-apply id after a stale SyncToken); the customers and items created on the way have their own markers."""
    if not job.order_id:
        return bool(sent)
    return bool({job.request_id, _reapply_id(job)} & set(sent))


def _crashed(job: QboSyncJob, error: Exception, *, wrote: bool = True) -> None:
    """The last resort for an exception nobody classified. If the job's write left (`wrote`), it may have
    reached QuickBooks: the job is queued again in doubt (its retry looks the document up first). If nothing
    left, the error happened while preparing the request and would happen again on every retry: the job fails
    at once, and nothing is in doubt. Only the exception's class goes on the row and the activity entry: its
    text may hold anything."""
    if not QboSyncJob.objects.filter(pk=job.pk).exists():
        return  # the order, and with it the job, is gone: nothing left to record
    if isinstance(error, ObjectDoesNotExist):
        what = "order" if job.order_id else ("account" if job.account_id else "product")
        _fail(job, SyncRefused(f"The {what} no longer exists in Kadouri, so nothing more is sent to QuickBooks "
                               f"for it ({error.__class__.__name__}).", status=409))
        return
    if not wrote:
        _fail(job, SyncRefused(
            f"Kadouri could not prepare the request for QuickBooks ({error.__class__.__name__}); nothing was sent, "
            "and retrying would fail the same way. Check the order's dates and amounts; if they look right, an "
            "operator should look at the worker logs.", status=422))
        return
    _queue_retry(job, QboTransientError(
        f"Kadouri hit an unexpected error ({error.__class__.__name__}) while talking to QuickBooks; it retries "
        "automatically. If this keeps happening, an operator should look at the worker logs.", in_doubt=True))


def qbo_jobs_process_due(*, limit: int = 100) -> int:
    """The drain: reclaim stuck jobs, resume dead bulk pushes, then run due jobs (scheduled every minute)."""
    stuck = timezone.now() - STUCK_AFTER
    # A running push's jobs are its own: its heartbeat tells whether it lives, and a dead push is resumed below
    # (taking them back) instead of scattering them into one-by-one retries.
    QboSyncJob.objects.filter(state=State.RUNNING, claimed_at__lt=stuck).exclude(
        bulk_push__state=BulkPush.State.RUNNING).update(state=State.PENDING, in_doubt=True, claimed_at=None)
    _resume_dead_bulk_pushes(stuck)
    due = list(QboSyncJob.objects.filter(state=State.PENDING, not_before__lte=timezone.now())
               .order_by("not_before").values_list("pk", flat=True)[:limit])
    for job_id in due:
        qbo_job_run(job_id=job_id)
    return len(due)


def _dead_pushes(stuck: datetime):
    """Pushes whose worker stopped: running without a heartbeat since `stuck`, or queued and never started."""
    silent = Q(heartbeat_at__lt=stuck) | Q(heartbeat_at__isnull=True, started_at__lt=stuck)
    return BulkPush.objects.filter((Q(state=BulkPush.State.RUNNING) & silent)
                                   | Q(state=BulkPush.State.QUEUED, created_at__lt=stuck))


def _resume_dead_bulk_pushes(stuck: datetime) -> None:
    """A push whose worker died (SIGKILL, a deploy, django-q2's timeout) is handed to a worker again; the run
    takes its lease only if the heartbeat is still stale, so a push is never run by two workers at once."""
    for bulk_id in _dead_pushes(stuck).values_list("pk", flat=True):
        log.warning("bulk push %s: its worker stopped; resuming it", bulk_id)
        _enqueue_bulk(bulk_id)


def _enqueue_bulk(bulk_id: int) -> None:
    from django_q.tasks import async_task

    async_task("qbo_integration.tasks.qbo_bulk_push_run", bulk_id)


# --- public services: what the views call ---------------------------------------------------------

def _request(order: Order, action: str, by, ip: str | None) -> QboSyncJob:
    job, _ = _enqueue_order_job(order=order, action=action, by=by, ip=ip)
    if job.state == State.PENDING and job.not_before <= timezone.now():
        return qbo_job_run(job_id=job.pk)
    return job


def order_push_request(*, order: Order, doc_type: str, by, ip: str | None = None) -> QboSyncJob:
    """Create Invoice / Create Estimate in QB."""
    if doc_type not in Order.DocType.values:
        raise SyncRefused(f"docType must be one of: {', '.join(Order.DocType.values)}.", status=400)
    action = Action.CREATE_ESTIMATE if doc_type == Order.DocType.ESTIMATE else Action.CREATE_INVOICE
    return _request(order, action, by, ip)


def order_update_request(*, order: Order, by, ip: str | None = None) -> QboSyncJob:
    return _request(order, Action.UPDATE_DOCUMENT, by, ip)


def order_void_request(*, order: Order, by, ip: str | None = None) -> QboSyncJob:
    return _request(order, Action.VOID_DOCUMENT, by, ip)


def order_convert_request(*, order: Order, by, ip: str | None = None) -> QboSyncJob:
    return _request(order, Action.CONVERT_ESTIMATE, by, ip)


def _ref_request(*, obj, kind: str, by, ip: str | None) -> QboSyncJob:
    realm_id = _realm_id()
    action = Action.SYNC_ACCOUNT if kind == "account" else Action.SYNC_PRODUCT
    stamp = int(obj.updated_at.timestamp() * 1000)
    job, _ = _job_for(key=f"{realm_id}:{kind}:{obj.pk}:{stamp}", lookup={kind: obj, "action": action},
                      defaults={"realm_id": realm_id, "created_by": _user(by), "ip_address": ip})
    if job.state == State.PENDING and job.not_before <= timezone.now():
        return qbo_job_run(job_id=job.pk)
    return job


def account_sync_request(*, account: Account, by, ip: str | None = None) -> QboSyncJob:
    return _ref_request(obj=account, kind="account", by=by, ip=ip)


def product_sync_request(*, product: Product, by, ip: str | None = None) -> QboSyncJob:
    return _ref_request(obj=product, kind="product", by=by, ip=ip)


def order_qbo_status(*, order: Order) -> dict:
    """The document as QuickBooks has it now (spec: GET /api/quickbooks/status/order/:id)."""
    if not order.qbo_doc_id:
        raise SyncRefused(f"Order {order.number} is not in QuickBooks.", status=409)
    doc = client.read(entity_of(order), order.qbo_doc_id)
    problem = link_problem(order, entity_of(order), doc)
    total, balance = Decimal(str(doc.get("TotalAmt", 0))), Decimal(str(doc.get("Balance", doc.get("TotalAmt", 0))))
    payment = Order.PaymentStatus.UNPAID if order.qbo_doc_type == Order.DocType.ESTIMATE \
        else payment_status(money(total), money(balance))
    return {"orderId": order.pk, "docId": doc["Id"], "docNumber": doc.get("DocNumber", ""),
            "docType": order.qbo_doc_type, "total": str(total), "balance": str(balance),
            "paymentStatus": payment, "syncToken": doc.get("SyncToken"),
            "lastUpdated": (doc.get("MetaData") or {}).get("LastUpdatedTime"), "status": doc.get("TxnStatus"),
            "wrongLink": bool(problem), "linkProblem": problem}


# --- QuickBooks look-ups (cached reference data) ---------------------------------------------------

class Pacer:
    """Keeps a run under the company's limits (§5): 500 requests and 120 batch requests a minute,
    one request at a time (well under 10 concurrent). Counts what it lets through."""

    def __init__(self, per_minute: int = 480, batch_per_minute: int = 110, sleep=time.sleep, clock=time.monotonic) -> None:
        self.per_minute, self.batch_per_minute = per_minute, batch_per_minute
        self.sleep, self.clock = sleep, clock
        self.window: deque[float] = deque()
        self.batch_window: deque[float] = deque()
        self.used = 0
        self.waited = 0.0

    def before(self, *, is_batch: bool = False) -> None:
        for window, limit, applies in ((self.window, self.per_minute, True), (self.batch_window, self.batch_per_minute, is_batch)):
            now = self.clock()
            while window and window[0] <= now - 60:
                window.popleft()
            if applies and len(window) >= limit:
                pause = 60 - (now - window[0]) + 0.05
                self.waited += pause
                self.sleep(pause)
        now = self.clock()
        self.window.append(now)
        if is_batch:
            self.batch_window.append(now)
        self.used += 1

    def wait(self, seconds: float) -> None:
        if seconds > 0:
            self.waited += seconds
            self.sleep(seconds)


NO_PACER = Pacer(per_minute=10**9, batch_per_minute=10**9)


def _bulk_retry_delays() -> list[float]:
    return list(getattr(settings, "QBO_BULK_RETRY_DELAYS", (1, 2, 4, 8, 16)))


BULK_MAX_PAUSES = 20  # waits for a pause another request's 429 set, before the push gives the work back


def _seconds_until(moment: datetime | None) -> float:
    return max((moment - timezone.now()).total_seconds(), 0.0) + 0.05 if moment else 0.0


def _retrying(call, pacer: Pacer):
    """A bulk push's request, resent unchanged after a transient failure — the same body and requestid, so a
    write QuickBooks already ran (its answer lost) is answered from its cache, not run twice. It waits as long as
    QuickBooks asks (a 429's pause), else a growing delay, a bounded number of times; then the error goes to the
    caller, which hands the orders to their own retry queue."""
    delays, pauses = _bulk_retry_delays(), 0
    while True:
        try:
            return call()
        except QboPausedError as e:  # nothing was sent: the company is paused after someone's 429
            pauses += 1
            if pauses > BULK_MAX_PAUSES:
                raise
            pacer.wait(_seconds_until(e.retry_at))
        except QboTransientError as e:
            if not delays:
                raise
            pacer.wait(max(delays.pop(0), _seconds_until(e.retry_at)))


def _query(sql: str, pacer: Pacer) -> dict:
    def call():
        pacer.before()
        return client.query(sql)

    return call() if pacer is NO_PACER else _retrying(call, pacer)  # single jobs retry as a whole (qbo_job_run)


def _batch(items: list[dict], pacer: Pacer, request_id: str | None = None) -> dict[str, dict]:
    def call():
        pacer.before(is_batch=True)
        return {answer.get("bId"): answer for answer in client.batch(items, request_id=request_id)}

    return call() if pacer is NO_PACER else _retrying(call, pacer)


def _term_ids(pacer: Pacer) -> dict[str, str]:
    conn = client.usable_connection()  # disconnected while the job waited: say so
    key = f"qbo-terms:{conn.realm_id}:{conn.connected_at.timestamp() if conn.connected_at else 0}"
    terms = cache.get(key)
    if terms is None:
        rows = _query(f"select * from Term MAXRESULTS {QUERY_MAX_RESULTS}", pacer).get("Term", [])
        terms = {row["Name"].casefold(): row["Id"] for row in rows}
        cache.set(key, terms, TERM_CACHE_SECONDS)
    return terms


def term_id_for(order: Order, pacer: Pacer = NO_PACER) -> str | None:
    return _term_ids(pacer).get(mapping.TERM_NAMES[order.terms].casefold())


def income_account_id(pacer: Pacer = NO_PACER) -> str:
    """Configured on the connection, else settings.QBO_INCOME_ACCOUNT_ID, else the company's first
    Income account (kept on the connection so the choice stays stable). The one lookup: the inbound item
    handler uses it too, so both sides compute the same item fingerprint."""
    conn = client.usable_connection()
    if conn.income_account_id:
        return conn.income_account_id
    if settings.QBO_INCOME_ACCOUNT_ID:
        return settings.QBO_INCOME_ACCOUNT_ID
    rows = _query("select * from Account where AccountType = 'Income'", pacer).get("Account", [])
    if not rows:
        raise QboValidationError("The QuickBooks company has no Income account for new items. Create one in "
                                 "QuickBooks, or set QBO_INCOME_ACCOUNT_ID.")
    first = min(rows, key=lambda row: int(row["Id"]))  # Ids are not sortable server-side any more (field-lessons §0)
    QboConnection.objects.filter(pk=conn.pk).update(income_account_id=first["Id"])
    return first["Id"]


# --- customers and items: link by name, create in batches, update what changed -----------------------

@dataclass
class RefResult:
    customers: dict[int, str] = field(default_factory=dict)  # account pk → Customer Id
    items: dict[int, str] = field(default_factory=dict)  # product pk → Item Id
    errors: dict[tuple[str, int], QboError] = field(default_factory=dict)


def _fault_error(fault: dict, what: str) -> QboError:
    errors = (fault or {}).get("Error") or [{}]
    first = errors[0]
    detail = f"{what}: {first.get('Detail') or first.get('Message') or ''}".strip()
    # A batch item cannot be refreshed and replayed on its own: a rejected token is an auth failure to stop on.
    return client.classify(code=first.get("code", ""), status=400, detail=detail[:500], token_rejected_as_auth=True)


def _lookup_by_name(entity: str, field_name: str, names: list[str], pacer: Pacer) -> dict[str, dict]:
    return _lookup_many([(entity, field_name, names)], pacer)[entity]


def _lookup_many(specs: list[tuple[str, str, list[str]]], pacer: Pacer) -> dict[str, dict[str, dict]]:
    """Batch requests of IN (...) queries (30 per request) find every existing name or number at once
    (active names only, §3.6). Answers {entity: {casefolded value: row}}."""
    found: dict[str, dict[str, dict]] = {entity: {} for entity, _, _ in specs}
    queries, owners = [], {}
    for entity, field_name, names in specs:
        for start in range(0, len(names), QUERY_IN_CHUNK):
            chunk = names[start:start + QUERY_IN_CHUNK]
            bid = f"q{len(queries)}"
            owners[bid] = (entity, field_name)
            queries.append({"bId": bid, "Query": f"select * from {entity} where {field_name} in "
                            f"({', '.join(repr_q(name) for name in chunk)}) MAXRESULTS {QUERY_MAX_RESULTS}"})
    for start in range(0, len(queries), BATCH_MAX_ITEMS):
        for bid, answer in _batch(queries[start:start + BATCH_MAX_ITEMS], pacer).items():
            entity, field_name = owners[bid]
            if "Fault" in answer:
                raise _fault_error(answer["Fault"], f"looking up {entity.lower()}s")
            for row in (answer.get("QueryResponse") or {}).get(entity, []):
                found[entity][str(row.get(field_name, "")).casefold()] = row
    return found


def repr_q(value: str) -> str:
    return f"'{client.query_escape(value)}'"


def _inactive_duplicate(kind: str, name: str, error: QboError) -> QboError:
    if not isinstance(error, QboDuplicateError):
        return error
    what = "customer, vendor or employee" if kind == "account" else "product or service"
    fix = ("Make it active in QuickBooks (Customers → include inactive), or rename the account in Kadouri"
           if kind == "account" else "Make it active in QuickBooks (Products and services → inactive), or rename the product in Kadouri")
    message = (f"QuickBooks already has a {what} named “{name}” that Kadouri cannot use (it is probably inactive) "
               f"(QuickBooks error {error.code}). {fix}, then try again.")
    return QboDuplicateError(message, code=error.code, detail=error.detail, status=error.status)


@dataclass
class _Ref:
    kind: str  # account | product
    obj: Account | Product
    name: str
    payload: dict


def _refs_to_push(accounts: list[Account], products: list[Product], pacer: Pacer) -> list[_Ref]:
    refs: list[_Ref] = []
    names = mapping.customer_display_names(accounts)
    for account in accounts:
        refs.append(_Ref("account", account, names[account.pk],
                         mapping.customer_payload(account, display_name=names[account.pk])))
    if products:
        income = income_account_id(pacer)
        for product in products:
            refs.append(_Ref("product", product, mapping.item_name(product),
                             mapping.item_payload(product, income_account_id=income)))
    return refs


ENTITY = {"account": ("Customer", "DisplayName", "qbo_customer_id"), "product": ("Item", "Name", "qbo_item_id")}


def ensure_refs(*, accounts: list[Account], products: list[Product], pacer: Pacer = NO_PACER,
                force_update: bool = False) -> RefResult:
    """Customers for `accounts` and items for `products`: stored ids are used as they are; rows without
    an id are linked to a same-name QuickBooks record or created (30 per batch request); linked rows whose
    content changed since the last push are updated (sparse, 30 per batch; 5010 → re-read once)."""
    result = RefResult()
    refs = _refs_to_push(list({a.pk: a for a in accounts}.values()), list({p.pk: p for p in products}.values()), pacer)
    to_link = [r for r in refs if not getattr(r.obj, ENTITY[r.kind][2])]
    to_update = [r for r in refs if getattr(r.obj, ENTITY[r.kind][2])
                 and (force_update or r.obj.qbo_fingerprint != mapping.fingerprint(r.payload))]
    for ref in refs:
        if getattr(ref.obj, ENTITY[ref.kind][2]):
            _remember(result, ref, getattr(ref.obj, ENTITY[ref.kind][2]))
    to_link = _replay_in_flight(to_link, result, pacer)
    to_create = _link_existing(to_link, result, pacer)
    _create_refs(to_create, result, pacer)
    _update_refs(to_update, result, pacer)
    return result


def _remember(result: RefResult, ref: _Ref, qbo_id: str) -> None:
    (result.customers if ref.kind == "account" else result.items)[ref.obj.pk] = qbo_id


def _save_ref(ref: _Ref, row: dict, result: RefResult) -> None:
    model = type(ref.obj)
    id_field = ENTITY[ref.kind][2]
    model.objects.filter(pk=ref.obj.pk).update(**{id_field: row["Id"], "qbo_sync_token": row.get("SyncToken", ""),
                                                  "qbo_fingerprint": mapping.fingerprint(ref.payload),
                                                  "qbo_create_request": ""})
    setattr(ref.obj, id_field, row["Id"])
    ref.obj.qbo_create_request = ""
    ref.obj.qbo_sync_token, ref.obj.qbo_fingerprint = row.get("SyncToken", ""), mapping.fingerprint(ref.payload)
    _remember(result, ref, row["Id"])


def _link_existing(refs: list[_Ref], result: RefResult, pacer: Pacer) -> list[_Ref]:
    groups = {kind: [r for r in refs if r.kind == kind] for kind in ("account", "product")}
    specs = [(ENTITY[kind][0], ENTITY[kind][1], [r.name for r in group]) for kind, group in groups.items() if group]
    found = _lookup_many(specs, pacer) if specs else {}
    missing = []
    for kind, group in groups.items():
        entity, _, id_field = ENTITY[kind]
        model = Account if kind == "account" else Product
        for ref in group:
            row = found[entity].get(ref.name.casefold())
            if row is None:
                missing.append(ref)
            elif model.objects.filter(**{id_field: row["Id"]}).exclude(pk=ref.obj.pk).exists():
                result.errors[(kind, ref.obj.pk)] = QboDuplicateError(
                    f"QuickBooks {entity.lower()} “{ref.name}” is already linked to another Kadouri "
                    f"{kind}. Rename this {kind} in Kadouri so the names differ, then try again.", code="6240")
            else:
                _save_ref(ref, row, result)  # an existing same-name record is linked, not duplicated
    return missing


def _replay_in_flight(refs: list[_Ref], result: RefResult, pacer: Pacer) -> list[_Ref]:
    """Refs whose create batch got no answer (a worker died, a connection dropped) may exist in QuickBooks under
    a name changed since. Resending that batch's requestid makes QuickBooks answer what it did then (§3.9), so
    they are linked by id instead of created again (found by the soak). Returns the refs still unlinked."""
    pending: dict[str, list[tuple[str, _Ref]]] = {}
    for ref in refs:
        request_id, _, bid = ref.obj.qbo_create_request.partition("#")
        if request_id and bid:
            pending.setdefault(request_id, []).append((bid, ref))
    for request_id, pairs in pending.items():
        items = [{"bId": bid, "operation": "create", ENTITY[ref.kind][0]: ref.payload} for bid, ref in pairs]
        answers = _batch(items, pacer, request_id=request_id)
        for bid, ref in pairs:
            answer = answers.get(bid, {})
            if ENTITY[ref.kind][0] in answer:
                _save_ref(ref, answer[ENTITY[ref.kind][0]], result)
            elif answer:  # a definite refusal: nothing was created, the normal path decides
                _set_in_flight(ref, "")
    return [ref for ref in refs if not getattr(ref.obj, ENTITY[ref.kind][2])]


def _set_in_flight(ref: _Ref, marker: str) -> None:
    ref.obj.qbo_create_request = marker
    type(ref.obj).objects.filter(pk=ref.obj.pk).update(qbo_create_request=marker)


def _mark_in_flight(chunk: list[_Ref], items: list[dict], request_id: str) -> None:
    # Committed before the request leaves, so even a worker killed mid-request leaves the marker behind.
    for ref, item in zip(chunk, items):
        _set_in_flight(ref, f"{request_id}#{item['bId']}")


def _create_refs(refs: list[_Ref], result: RefResult, pacer: Pacer) -> None:
    for start in range(0, len(refs), BATCH_MAX_ITEMS):
        chunk = refs[start:start + BATCH_MAX_ITEMS]
        items = [{"bId": f"r{n}", "operation": "create", ENTITY[r.kind][0]: r.payload} for n, r in enumerate(chunk)]
        request_id = _request_id("refs:" + "|".join(f"{r.kind}{r.obj.pk}:{mapping.fingerprint(r.payload)}" for r in chunk))
        _mark_in_flight(chunk, items, request_id)
        answers = _batch(items, pacer, request_id=request_id)
        taken: list[tuple[_Ref, QboError]] = []
        for n, ref in enumerate(chunk):
            answer = answers.get(f"r{n}", {})
            entity = ENTITY[ref.kind][0]
            if entity in answer:
                _save_ref(ref, answer[entity], result)
                continue
            if not answer:  # no word on this item: it may exist; the marker stays for the next try's replay
                result.errors[(ref.kind, ref.obj.pk)] = QboTransientError(
                    f"QuickBooks did not answer for {entity.lower()} “{ref.name}”; Kadouri retries.", in_doubt=True)
                continue
            _set_in_flight(ref, "")  # a definite refusal: nothing was created
            error = _fault_error(answer.get("Fault"), f"{entity} “{ref.name}”")
            if isinstance(error, QboDuplicateError):
                taken.append((ref, error))
            else:
                result.errors[(ref.kind, ref.obj.pk)] = error
        if taken:
            # The name was free at our look-up and taken at our create: another push of an order with the same
            # buyer or product created it in between (found by the soak), or an earlier try whose answer was
            # lost did. Link it as the look-up would have; only a name that stays invisible (an inactive
            # record) is the person's to fix.
            missing = {id(ref) for ref in _link_existing([ref for ref, _ in taken], result, pacer)}
            for ref, error in taken:
                if id(ref) in missing:
                    result.errors[(ref.kind, ref.obj.pk)] = _inactive_duplicate(ref.kind, ref.name, error)


def _update_refs(refs: list[_Ref], result: RefResult, pacer: Pacer, *, reread: bool = True) -> None:
    stale: list[_Ref] = []
    for start in range(0, len(refs), BATCH_MAX_ITEMS):
        chunk = refs[start:start + BATCH_MAX_ITEMS]
        items = [{"bId": f"u{n}", "operation": "update", ENTITY[r.kind][0]: {
            "Id": getattr(r.obj, ENTITY[r.kind][2]), "SyncToken": r.obj.qbo_sync_token or "0", "sparse": True, **r.payload}}
            for n, r in enumerate(chunk)]
        # Stable per content of the batch: a retry of the same updates is replayed by QuickBooks (§3.9); after a
        # 5010 re-read (other SyncTokens) or a correction in Kadouri (other content) it gets its own id, or
        # QuickBooks would answer the corrected batch with the cached failure.
        request_id = _request_id("ref-updates:" + "|".join(
            f"{r.kind}:{getattr(r.obj, ENTITY[r.kind][2])}:{r.obj.qbo_sync_token or '0'}:{mapping.fingerprint(r.payload)}"
            for r in chunk))
        answers = _batch(items, pacer, request_id=request_id)
        for n, ref in enumerate(chunk):
            answer, entity = answers.get(f"u{n}", {}), ENTITY[ref.kind][0]
            if entity in answer:
                _save_ref(ref, answer[entity], result)
                continue
            error = _fault_error(answer.get("Fault"), f"{entity} “{ref.name}”")
            if isinstance(error, QboStaleError) and reread:
                stale.append(ref)
            else:
                result.errors[(ref.kind, ref.obj.pk)] = _inactive_duplicate(ref.kind, ref.name, error)
    if stale:  # 5010: someone changed it in QuickBooks; re-read the SyncTokens and re-apply once
        for kind in ("account", "product"):
            group = [r for r in stale if r.kind == kind]
            if not group:
                continue
            entity, _, id_field = ENTITY[kind]
            ids = ", ".join(repr_q(getattr(r.obj, id_field)) for r in group)
            rows = {row["Id"]: row for row in _query(f"select * from {entity} where Id in ({ids})", pacer).get(entity, [])}
            for ref in group:
                ref.obj.qbo_sync_token = rows.get(getattr(ref.obj, id_field), {}).get("SyncToken", ref.obj.qbo_sync_token)
        _update_refs(stale, result, pacer, reread=False)


def _refs_for_order(order: Order, pacer: Pacer = NO_PACER) -> tuple[str, dict[int, str]]:
    products = [line.product for line in order.lines.all()]
    refs = ensure_refs(accounts=[order.buyer], products=products, pacer=pacer)
    for key in [("account", order.buyer_id)] + [("product", p.pk) for p in products]:
        if key in refs.errors:
            raise refs.errors[key]
    return refs.customers[order.buyer_id], refs.items


# --- running the order jobs ----------------------------------------------------------------------

def _load_order(job: QboSyncJob) -> Order:
    return (Order.objects.select_related("buyer", "seller").prefetch_related("lines__product").get(pk=job.order_id))


def _find_by_doc_number(entity: str, number: str, pacer: Pacer = NO_PACER) -> dict | None:
    rows = _query(f"select * from {entity} where DocNumber = {repr_q(number)}", pacer).get(entity, [])
    return rows[0] if rows else None


def _adoptable(doc: dict, *, customer_id: str, order: Order, entity: str) -> dict:
    """A document found by DocNumber is ours only if customer and total match (Invoice Ninja's check)."""
    same_customer = str((doc.get("CustomerRef") or {}).get("value")) == str(customer_id)
    same_total = money(doc.get("TotalAmt", "0")) == order.total
    # A voided invoice keeps its number and customer but every amount is 0 (§3.5): ours, voided by the bookkeeper
    # after a try whose answer was lost (found by the soak). Refusing it would fail the job for good.
    voided = entity == "Invoice" and is_voided(doc)
    if same_customer and (same_total or voided):
        return doc
    raise QboDuplicateError(
        f"QuickBooks already has {entity.lower()} #{order.number} (Id {doc.get('Id')}) for another customer or amount. "
        f"Check it in QuickBooks: delete or renumber it there if it is not this order, then try again.",
        code="6140")


def _create_or_adopt(job: QboSyncJob, order: Order, entity: str, payload: dict, customer_id: str) -> dict:
    # Always look before creating (one query): not only this job's earlier tries, but an earlier job that
    # ended failed while in doubt, or one from before the order was edited (the job key holds the version),
    # may have reached QuickBooks although we saw an error.
    found = _find_by_doc_number(entity, order.number)
    if found is not None:
        return _adoptable(found, customer_id=customer_id, order=order, entity=entity)
    try:
        return client.create(entity, payload, request_id=job.request_id)
    except QboDuplicateError as e:
        if e.code != "6140":
            raise
        found = _find_by_doc_number(entity, order.number)
        if found is None:
            raise
        return _adoptable(found, customer_id=customer_id, order=order, entity=entity)


def _who(job: QboSyncJob) -> str:
    return user_display_name(job.created_by) if job.created_by else "QuickBooks sync"


def _actor(job: QboSyncJob, **details) -> Actor:
    return Actor(user_name=_who(job), user=job.created_by, ip=job.ip_address, details=_details(job, **details))


@transaction.atomic
def _mark_created(job: QboSyncJob, doc: dict, doc_type: str, pushed_fingerprint: str) -> Order:
    order = Order.objects.select_for_update().get(pk=job.order_id)
    document_link(order, doc, doc_type=doc_type)
    document_store(order, doc, entity=entity_of(order))
    if order.status == Order.Status.DRAFT:
        order_set_status(order=order, status=Order.Status.POSTED_TO_QB, by=job.created_by,
                         user_name=_who(job), ip=job.ip_address, reason=f"{doc_type} created in QuickBooks")
    Order.objects.filter(pk=order.pk).update(pushed_fingerprint=pushed_fingerprint)
    kind = OrderActivity.Type.ESTIMATE_CREATED if doc_type == Order.DocType.ESTIMATE else OrderActivity.Type.INVOICE_CREATED
    _log(job, kind, f"{doc_type.title()} #{order.qbo_doc_number} created in QuickBooks by {_who(job)}.",
         _details(job, docId=order.qbo_doc_id, docNumber=order.qbo_doc_number, total=str(order.qbo_total)), order)
    if doc_type == Order.DocType.INVOICE:
        _apply_bookkeeping_since_creation(order, doc)
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
    Order.objects.filter(pk=order.pk).update(qbo_balance=total, qbo_sync_token="", qbo_last_updated=None,
                                             payment_status=Order.PaymentStatus.UNPAID, qbo_doc_state="Open")

    invoice_apply(order_id=order.pk, doc_id=str(doc["Id"]), invoice=doc, cause=Cause(source="sync"))


def _run_create(job: QboSyncJob) -> dict:
    doc_type = CREATE_ACTIONS[job.action]
    order = _load_order(job)
    if order.qbo_doc_id:  # done by an earlier job already (e.g. bulk push); nothing to send
        return {"docId": order.qbo_doc_id, "docNumber": order.qbo_doc_number, "adopted": True}
    check_action(order, job.action)
    fingerprint = order.compute_fingerprint()
    customer_id, item_ids = _refs_for_order(order)
    payload = mapping.sales_document_payload(order, customer_id=customer_id, item_ids=item_ids, term_id=term_id_for(order))
    entity = "Estimate" if doc_type == Order.DocType.ESTIMATE else "Invoice"
    doc = _create_or_adopt(job, order, entity, payload, customer_id)
    order = _mark_created(job, doc, doc_type, fingerprint)
    return {"docId": order.qbo_doc_id, "docNumber": order.qbo_doc_number, "docType": doc_type}


def _stale_safe(job: QboSyncJob, order: Order, write) -> dict:
    """Read the current SyncToken, check the document is the order's own, write; on 5010 re-read and re-apply
    once, then report (spec)."""
    entity = entity_of(order)
    for attempt in (1, 2):
        current = client.read(entity, order.qbo_doc_id)
        target = _checked_target(job, order, current)
        request_id = job.request_id if attempt == 1 else _reapply_id(job)
        try:
            return write(current, target, request_id)
        except QboStaleError as e:
            if attempt == 2:
                raise QboStaleError(
                    f"The {entity.lower()} was changed in QuickBooks twice while Kadouri updated it (QuickBooks error "
                    f"{e.code}). Reload the order, check the {entity.lower()} in QuickBooks, then try again.",
                    code=e.code, detail=e.detail) from None
    raise AssertionError("unreachable")


def _checked_target(job: QboSyncJob, order: Order, current: dict) -> WriteTarget:
    """documents.write_target, with a wrong link recorded on the order (its panel then says so)."""
    try:
        return write_target(order, current)
    except QboWrongLinkError as e:
        with transaction.atomic():
            locked = Order.objects.select_for_update().get(pk=order.pk)
            link_problem_record(order=locked, problem=e.message, actor=_actor(job))
        raise


def _refuse_if_settled(entity: str, current: dict) -> None:
    if entity == "Invoice" and is_voided(current):
        raise QboValidationError("QuickBooks shows this invoice as voided; it cannot be changed. Reload the order.")
    if entity == "Invoice" and payment_status(money(current.get("TotalAmt")), money(current.get("Balance"))) \
            == Order.PaymentStatus.PAID:
        raise QboValidationError("QuickBooks shows this invoice as paid, so Kadouri will not change it. "
                                 "Make changes in QuickBooks instead.")


def _refuse_below_paid(entity: str, current: dict, order: Order) -> None:
    """QuickBooks refuses a total below the payments applied, and its answer sends the user to QuickBooks; the
    fix is the order's lines in Kadouri, so say that, and send nothing."""
    total, balance = money(current.get("TotalAmt")), money(current.get("Balance"))
    if entity != "Invoice" or total is None or balance is None:
        return
    paid = paid_amount(total, balance)
    if paid > 0 and order.total < paid:
        raise SyncRefused(
            f"{display_money(paid)} has already been paid on invoice #{current.get('DocNumber') or order.number} in "
            f"QuickBooks, but this order's total is {display_money(order.total)}. Edit the order in Kadouri to a total "
            f"of at least {display_money(paid)}, then update the invoice again.", status=409)


def _quickbooks_matches(order: Order, fingerprint: str, current: dict) -> bool:
    """Nothing changed in Kadouri since the last push, and QuickBooks' document still shows that push's number
    and total (an edit made in QuickBooks is overwritten by an update, as reconciliation's "Push Kadouri's" asks)."""
    return (fingerprint == order.pushed_fingerprint
            and str(current.get("DocNumber") or "") == (order.qbo_doc_number or order.number)
            and money(current.get("TotalAmt")) == order.total)


def _run_update(job: QboSyncJob) -> dict:
    order = _load_order(job)
    check_action(order, job.action)
    entity = entity_of(order)
    fingerprint = order.compute_fingerprint()
    customer_id, item_ids = _refs_for_order(order)
    payload = mapping.sales_document_payload(order, customer_id=customer_id, item_ids=item_ids, term_id=term_id_for(order))
    unchanged: list[dict] = []

    def write(current: dict, target: WriteTarget, request_id: str) -> dict:
        _refuse_if_settled(entity, current)
        _refuse_below_paid(entity, current, order)
        if _quickbooks_matches(order, fingerprint, current):
            unchanged.append(current)  # nothing to send: QuickBooks' history gets no empty edit
            return current
        return client.update(entity, mapping.sales_document_update(payload, target), request_id=request_id)

    doc = _stale_safe(job, order, write)
    if unchanged:
        _log(job, OrderActivity.Type.NOTHING_TO_UPDATE,
             f"Nothing to update: {doc_label(order)} #{doc.get('DocNumber') or order.qbo_doc_number} in QuickBooks "
             f"already matches this order ({_who(job)} asked to update it).", _details(job, docId=order.qbo_doc_id), order)
        return {"docId": order.qbo_doc_id, "docNumber": order.qbo_doc_number, "nothingToUpdate": True}
    order = _mark_updated(job, order.pk, doc, fingerprint, entity=entity)
    return {"docId": order.qbo_doc_id, "docNumber": order.qbo_doc_number}


@transaction.atomic
def _mark_updated(job: QboSyncJob, order_id: int, doc: dict, fingerprint: str, *, entity: str) -> Order:
    order = Order.objects.select_for_update().get(pk=order_id)
    Order.objects.filter(pk=order_id).update(pushed_fingerprint=fingerprint)
    order.pushed_fingerprint = fingerprint
    _log(job, OrderActivity.Type.INVOICE_UPDATED,
         f"{doc_label(order).title()} #{doc.get('DocNumber') or order.qbo_doc_number} updated in QuickBooks by {_who(job)}.",
         _details(job, docId=order.qbo_doc_id, total=str(money(doc.get("TotalAmt")))), order)
    # Between QuickBooks' answer and this lock a webhook may have stored a newer version (a payment: the order is
    # paid) or switched the order to another document (an estimate converted in QuickBooks): the answer is then
    # not applied, or an older version would move the order backwards.
    if follows(order, entity, doc.get("Id")) and not older_than_stored(order, doc, entity=entity):
        # An invoice edited down to what was already paid is paid now: the same status change a webhook would make.
        # A payment the answer shows first (its webhook not processed yet) is logged as received, as it would be.
        document_apply(order=order, doc=doc, entity=entity, actor=_actor(job, docId=order.qbo_doc_id),
                       payments_since=(order.qbo_total, order.qbo_balance))
    return order


def _run_void(job: QboSyncJob) -> dict:
    order = _load_order(job)
    check_action(order, job.action)
    entity = entity_of(order)

    def write(current: dict, target: WriteTarget, request_id: str) -> dict:
        if entity == "Estimate":  # QuickBooks cannot void estimates; Rejected keeps it on the books, closed
            return client.update("Estimate", mapping.estimate_reject(target), request_id=request_id)
        return client.void_invoice(target.doc_id, target.sync_token, request_id=request_id)

    doc = _stale_safe(job, order, write)
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        text = (f"Estimate #{locked.qbo_doc_number} marked Rejected in QuickBooks by {_who(job)} (QuickBooks cannot void estimates)."
                if entity == "Estimate" else f"Invoice #{locked.qbo_doc_number} voided in QuickBooks by {_who(job)}.")
        document_apply(order=locked, doc=doc, entity=entity, actor=_actor(job, docId=locked.qbo_doc_id), void_hint=True,
                       voided_text=text)
        if locked.status != Order.Status.CANCELLED:  # an estimate (Rejected), or an answer that does not look voided
            locked.qbo_doc_state = "Rejected" if entity == "Estimate" else "Voided"
            locked.save(update_fields=["qbo_doc_state", "updated_at"])
            order_set_status(order=locked, status=Order.Status.CANCELLED, by=job.created_by, user_name=_who(job),
                             ip=job.ip_address, reason=f"{entity.lower()} {'rejected' if entity == 'Estimate' else 'voided'} in QuickBooks")
            _log(job, OrderActivity.Type.INVOICE_VOIDED, text, _details(job, docId=locked.qbo_doc_id), locked)
    return {"docId": locked.qbo_doc_id, "docNumber": locked.qbo_doc_number}


def _run_convert(job: QboSyncJob) -> dict:
    order = _load_order(job)
    if order.qbo_doc_type == Order.DocType.INVOICE and order.status != Order.Status.CANCELLED:
        # A convert job is only made for an estimate: the order follows the invoice made from it already (this
        # job's earlier try created it, its answer was lost, and the estimate's webhook moved the order on).
        return {"docId": order.qbo_doc_id, "docNumber": order.qbo_doc_number, "adopted": True}
    check_action(order, job.action)
    estimate_id, estimate_number = order.qbo_doc_id, order.qbo_doc_number
    fingerprint = order.compute_fingerprint()
    # The bookkeeper may have converted the estimate in QuickBooks already (its webhook not processed yet).
    # QuickBooks numbered that invoice itself, so the DocNumber look-up would miss it and a second invoice would
    # be created: the order follows theirs instead, as the estimate handler does.
    theirs = converting_invoice(client.read("Estimate", estimate_id))
    if theirs is not None:
        doc = theirs
    else:
        customer_id, item_ids = _refs_for_order(order)
        payload = mapping.sales_document_payload(order, customer_id=customer_id, item_ids=item_ids,
                                                 term_id=term_id_for(order), estimate_id=estimate_id)
        doc = _create_or_adopt(job, order, "Invoice", payload, customer_id)
    # Kadouri numbers its invoices with the order number: one found by the estimate's link with that number was
    # created by an earlier try of ours whose answer was lost.
    ours = theirs is None or str(theirs.get("DocNumber") or "") == order.number
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if not (follows(locked, "Estimate", estimate_id) or follows(locked, "Invoice", doc.get("Id"))):
            raise QboWrongLinkError(f"Order {locked.number} no longer follows estimate {estimate_id} "
                                    f"({locked.qbo_doc_type} {locked.qbo_doc_id}); the conversion is not applied.")
        if ours:
            locked.pushed_fingerprint = fingerprint
        locked.version += 1
        locked.save(update_fields=["pushed_fingerprint", "version", "updated_at"])
        if follows(locked, "Estimate", estimate_id):
            # The conversion first, then what the invoice brings (a payment already on it): the log reads in order.
            number = str(doc.get("DocNumber") or doc.get("Id"))
            text = (f"Estimate #{estimate_number} converted to Invoice #{number} in QuickBooks by {_who(job)}." if ours
                    else f"Estimate #{estimate_number} was already converted to Invoice #{number} in QuickBooks; the "
                         f"order now follows that invoice and no second invoice was created (Convert to Invoice by "
                         f"{_who(job)}).")
            _log(job, OrderActivity.Type.ESTIMATE_CONVERTED, text,
                 _details(job, estimateId=estimate_id, docId=str(doc.get("Id")), adopted=not ours), locked)
            follow_invoice(order=locked, invoice=doc, actor=_actor(job, estimateId=estimate_id))
        elif not older_than_stored(locked, doc, entity="Invoice"):
            # A webhook switched the order to this invoice already (and logged the conversion); a newer version it
            # stored (a payment) is kept: the older answer must not reopen a paid order.
            document_apply(order=locked, doc=doc, entity="Invoice", actor=_actor(job, estimateId=estimate_id))
    result = {"docId": locked.qbo_doc_id, "docNumber": locked.qbo_doc_number, "estimateId": estimate_id}
    return result if ours else result | {"adopted": True}


def _run_ref(job: QboSyncJob) -> dict:
    if job.account_id:
        account = Account.objects.get(pk=job.account_id)
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
    Action.UPDATE_DOCUMENT: _run_update,
    Action.VOID_DOCUMENT: _run_void,
    Action.CONVERT_ESTIMATE: _run_convert,
    Action.SYNC_ACCOUNT: _run_ref,
    Action.SYNC_PRODUCT: _run_ref,
}


# --- bulk push: "Push all pending" -------------------------------------------------------------------

def pending_orders():
    """Draft orders marked ready, and posted orders changed since their last push."""
    drafts = Order.objects.filter(status=Order.Status.DRAFT, ready_to_push=True, qbo_doc_id__isnull=True,
                                  lines__isnull=False)
    changed = Order.objects.filter(status=Order.Status.POSTED_TO_QB, qbo_doc_id__isnull=False).exclude(
        content_fingerprint=F("pushed_fingerprint"))
    ids = set(drafts.values_list("pk", flat=True)) | set(changed.values_list("pk", flat=True))
    busy = set(QboSyncJob.objects.filter(order_id__in=ids, state__in=ACTIVE).values_list("order_id", flat=True))
    return sorted(ids - busy)


def bulk_push_preview(*, limit: int) -> tuple[int, list[Order]]:
    """What "Push all pending" would send now, for the page to show before the click: how many, and the first
    `limit` of them (only those are loaded, with their lines)."""
    ids = pending_orders()
    shown = Order.objects.filter(pk__in=ids).select_related("buyer").prefetch_related("lines").order_by("number")
    return len(ids), list(shown[:limit])


@dataclass(frozen=True)
class BulkOutcome:
    """One order of a push, as it stands now: `done`, `failed` (with QuickBooks' reason), `retrying` (handed to
    its own retry queue; `retry_at`) or `running` (still in the push)."""

    order: Order
    outcome: str
    reason: str = ""
    retry_at: datetime | None = None


OUTCOME_ORDER = {"failed": 0, "retrying": 1, "running": 2, "done": 3}


def bulk_push_outcomes(bulk: BulkPush) -> list[BulkOutcome]:
    """Every order of the push, failures first, then those retrying on their own, then the rest."""
    outcomes = []
    jobs = bulk.jobs.filter(order__isnull=False).select_related("order__buyer").prefetch_related("order__lines")
    for job in jobs:
        if job.state == State.FAILED:
            outcomes.append(BulkOutcome(job.order, "failed", job.last_error))
        elif job.state == State.PENDING:
            outcomes.append(BulkOutcome(job.order, "retrying", job.last_error, job.not_before))
        else:
            outcomes.append(BulkOutcome(job.order, "done" if job.state == State.DONE else "running"))
    return sorted(outcomes, key=lambda o: (OUTCOME_ORDER[o.outcome], o.order.number))


def bulk_push_start(*, by) -> BulkPush:
    """Starts a background push (django-q2) unless one is already running; returns the run."""
    _realm_id()  # refuse at once when QuickBooks is not connected
    running = BulkPush.objects.filter(state__in=[BulkPush.State.QUEUED, BulkPush.State.RUNNING]).first()
    if running is not None:
        return running
    bulk = BulkPush.objects.create(total=len(pending_orders()), created_by=_user(by))
    _enqueue_bulk(bulk.pk)
    return bulk


@dataclass
class _Work:
    job: QboSyncJob
    order: Order
    fingerprint: str = ""
    payload: dict = field(default_factory=dict)
    customer_id: str = ""
    target: WriteTarget | None = None  # for updates: the order's own document, checked (documents.write_target)


# Seconds between heartbeats of a live push (its row and its jobs' claims): well inside STUCK_AFTER, so a push
# that paces itself or waits out a pause never looks dead.
HEARTBEAT_EVERY = min(30.0, STUCK_AFTER.total_seconds() / 4)
BULK_MAX_RESUMES = 3  # a push that keeps killing its worker stops taking it down again


class _LeaseLost(Exception):
    """Another worker took this push over (this one stalled longer than STUCK_AFTER): stop, touch nothing."""


def _progress(bulk: BulkPush, pacer: Pacer, **changes) -> None:
    for name, delta in changes.items():
        setattr(bulk, name, getattr(bulk, name) + delta)
    bulk.requests_used = pacer.used
    BulkPush.objects.filter(pk=bulk.pk).update(succeeded=bulk.succeeded, failed=bulk.failed, retrying=bulk.retrying,
                                               requests_used=bulk.requests_used)
    _heartbeat(bulk)


def _heartbeat(bulk: BulkPush, *, force: bool = False) -> None:
    """A live push renews its heartbeat and its jobs' claims, so however long it paces itself they are never taken
    for a dead worker's. Finding its lease taken means another worker resumed it: this one stops."""
    now = time.monotonic()
    if not force and now - getattr(bulk, "_heartbeat_at", 0.0) < HEARTBEAT_EVERY:
        return
    bulk._heartbeat_at = now
    stamp = timezone.now()
    mine = BulkPush.objects.filter(pk=bulk.pk, state=BulkPush.State.RUNNING, lease=bulk.lease)
    if not mine.update(heartbeat_at=stamp):
        raise _LeaseLost()
    QboSyncJob.objects.filter(bulk_push=bulk, state=State.RUNNING).update(claimed_at=stamp)


def _sleeping_alive(bulk: BulkPush, sleep):
    """`sleep` in slices, with a heartbeat after each, for the pacer's waits and QuickBooks' pauses."""
    def wait(seconds: float) -> None:
        while seconds > 0:
            step = min(seconds, HEARTBEAT_EVERY)
            sleep(step)
            seconds -= step
            _heartbeat(bulk)
    return wait


def _take_lease(bulk: BulkPush) -> bool | None:
    """Takes the push for this worker: a queued one (→ False), or a running one whose worker died (→ True:
    resumed). None: it ended, or a live worker has it."""
    lease, now = uuid.uuid4().hex, timezone.now()
    pushes = BulkPush.objects.filter(pk=bulk.pk)
    if pushes.filter(state=BulkPush.State.QUEUED).update(state=BulkPush.State.RUNNING, started_at=now,
                                                         heartbeat_at=now, lease=lease):
        resumed = False
    elif _dead_pushes(now - STUCK_AFTER).filter(pk=bulk.pk, state=BulkPush.State.RUNNING).update(
            heartbeat_at=now, lease=lease, resumes=F("resumes") + 1):
        resumed = True
    else:
        return None
    bulk.refresh_from_db()
    bulk._heartbeat_at = time.monotonic()
    return resumed


def _claim_bulk_jobs(bulk: BulkPush, order_ids: list[int]) -> list[_Work]:
    work = []
    by = bulk.created_by
    for order in Order.objects.filter(pk__in=order_ids).select_related("buyer").prefetch_related("lines__product"):
        action = Action.CREATE_INVOICE if order.status == Order.Status.DRAFT else Action.UPDATE_DOCUMENT
        try:
            job = _enqueue_order_job(order=order, action=action, by=by, ip=None, bulk=bulk)[0]
        except (SyncRefused, QboError):
            continue
        if job.bulk_push_id == bulk.pk and _claim(job.pk):
            job.refresh_from_db()
            work.append(_Work(job, order))
    return work


def _held_work(bulk: BulkPush) -> list[_Work]:
    """What a resumed push takes back: the jobs its dead worker held. In doubt: a batch may have reached QuickBooks,
    so the DocNumber look-up before creating finds what it created."""
    held = list(QboSyncJob.objects.filter(bulk_push=bulk, state=State.RUNNING, order__isnull=False))
    QboSyncJob.objects.filter(pk__in=[job.pk for job in held]).update(in_doubt=True, claimed_at=timezone.now())
    orders = (Order.objects.filter(pk__in=[job.order_id for job in held])
              .select_related("buyer").prefetch_related("lines__product"))
    by_id = {order.pk: order for order in orders}
    return [_Work(job, by_id[job.order_id]) for job in held if job.order_id in by_id]


def bulk_push_run(*, bulk_id: int, pacer: Pacer | None = None) -> BulkPush:
    """Pushes every pending order with batch requests. Each order still has its own job (request id,
    lease, DocNumber look-up before create) and its own activity entry. Runs once per push at a time: a second
    delivery of the task, or the drain's resume, finds the lease held and does nothing."""
    bulk = BulkPush.objects.get(pk=bulk_id)
    resumed = _take_lease(bulk)
    if resumed is None:
        return bulk  # ended, or alive in another worker
    pacer = pacer or Pacer()
    pacer.sleep = _sleeping_alive(bulk, pacer.sleep)
    pacer.used += bulk.requests_used  # a resumed push counts what its dead worker sent too
    try:
        if resumed and bulk.resumes > BULK_MAX_RESUMES:
            return _bulk_abandon(bulk, pacer)
        return _bulk_run(bulk, pacer, resumed=resumed)
    except _LeaseLost:
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
        work = _bulk_prepare(bulk, work, pacer)
        _bulk_creates(bulk, [w for w in work if w.job.action == Action.CREATE_INVOICE], pacer)
        _bulk_updates(bulk, [w for w in work if w.job.action == Action.UPDATE_DOCUMENT], pacer)
    except _LeaseLost:
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
                _crashed(w.job, e)
                _progress(bulk, pacer, failed=1)
        return _bulk_done(bulk, pacer, BulkPush.State.FAILED,
                          f"The push stopped on an unexpected error ({e.__class__.__name__}); its remaining orders are "
                          "retried one by one. If this keeps happening, an operator should look at the worker logs.")
    return _bulk_done(bulk, pacer, BulkPush.State.DONE, _bulk_summary(bulk, pacer))


def _bulk_release(bulk: BulkPush, work: list[_Work], pacer: Pacer, error: QboError) -> None:
    """The push stops early: each order it still holds is retried on its own (transient) or fails with the reason."""
    for w in work:
        w.job.refresh_from_db()
        if w.job.state != State.RUNNING:
            continue
        if isinstance(error, QboTransientError):
            _settle_transient(bulk, [w], error, pacer)
        else:
            _fail(w.job, error)
            _progress(bulk, pacer, failed=1)


def _bulk_abandon(bulk: BulkPush, pacer: Pacer) -> BulkPush:
    error = QboTransientError(f"The push was interrupted {bulk.resumes} times; Kadouri retries this order on its own.",
                              in_doubt=True)
    _bulk_release(bulk, _held_work(bulk), pacer, error)
    return _bulk_done(bulk, pacer, BulkPush.State.FAILED,
                      f"The worker stopped {bulk.resumes} times during this push; the orders it held retry one by one.")


def _bulk_summary(bulk: BulkPush, pacer: Pacer) -> str:
    note = f"{bulk.succeeded} of {bulk.total} orders pushed in batch requests ({pacer.used} QuickBooks requests)."
    if bulk.retrying:
        note += f" Retrying on their own: {bulk.retrying}."
    if bulk.failed:
        note += f" Failed: {bulk.failed} (see the list below)."
    return note


def _bulk_done(bulk: BulkPush, pacer: Pacer, state: str, message: str) -> BulkPush:
    BulkPush.objects.filter(pk=bulk.pk, lease=bulk.lease).update(
        state=state, message=message[:500], finished_at=timezone.now(), requests_used=pacer.used)
    bulk.refresh_from_db()
    return bulk


def _bulk_prepare(bulk: BulkPush, work: list[_Work], pacer: Pacer) -> list[_Work]:
    buyers = [w.order.buyer for w in work]
    products = [line.product for w in work for line in w.order.lines.all()]
    refs = ensure_refs(accounts=buyers, products=products, pacer=pacer)
    terms = _term_ids(pacer)
    ready = []
    for w in work:
        keys = [("account", w.order.buyer_id)] + [("product", line.product_id) for line in w.order.lines.all()]
        error = next((refs.errors[k] for k in keys if k in refs.errors), None)
        if isinstance(error, QboTransientError):
            _settle_transient(bulk, [w], error, pacer)
            continue
        if error is not None:
            _fail(w.job, error)
            _progress(bulk, pacer, failed=1)
            continue
        w.customer_id = refs.customers[w.order.buyer_id]
        w.fingerprint = w.order.compute_fingerprint()
        w.payload = mapping.sales_document_payload(
            w.order, customer_id=w.customer_id, item_ids=refs.items,
            term_id=terms.get(mapping.TERM_NAMES[w.order.terms].casefold()))
        ready.append(w)
    return ready


def _settle_transient(bulk: BulkPush, chunk: list[_Work], error: QboError, pacer: Pacer) -> None:
    """After every resend of their batch failed: each job goes back to its own queue, in doubt (its retry looks
    up the DocNumber first)."""
    for w in chunk:
        w.job.in_doubt = True
        _queue_retry(w.job, error)
        _progress(bulk, pacer, retrying=1)


def _bulk_creates(bulk: BulkPush, work: list[_Work], pacer: Pacer) -> None:
    for w in [w for w in work if w.order.qbo_doc_id]:
        # Recorded by an earlier run whose worker died before it closed the job: nothing to send or log again.
        _finish(w.job, {"docId": w.order.qbo_doc_id, "docNumber": w.order.qbo_doc_number, "adopted": True})
        _progress(bulk, pacer, succeeded=1)
    work = [w for w in work if not w.order.qbo_doc_id]
    # DocNumber look-up first, for every order: one batch request per 3,000 orders.
    numbers = [w.order.number for w in work]
    found = _lookup_by_name("Invoice", "DocNumber", numbers, pacer) if numbers else {}
    fresh = []
    for w in work:
        doc = found.get(w.order.number.casefold())
        if doc is None:
            fresh.append(w)
            continue
        _bulk_adopt(bulk, w, doc, pacer)
    for start in range(0, len(fresh), BATCH_MAX_ITEMS):
        chunk = fresh[start:start + BATCH_MAX_ITEMS]
        items = [{"bId": f"j{w.job.pk}", "operation": "create", "Invoice": w.payload} for w in chunk]
        _heartbeat(bulk, force=True)  # still this worker's push: never send a batch another worker now owns
        try:
            answers = _batch(items, pacer, request_id=_request_id("bulk-create:" + ",".join(w.job.request_id for w in chunk)))
        except (QboTransientError, QboThrottledError) as e:
            _settle_transient(bulk, chunk, e, pacer)
            continue
        for w in chunk:
            answer = answers.get(f"j{w.job.pk}", {})
            if "Invoice" in answer:
                _bulk_created(bulk, w, answer["Invoice"], pacer)
                continue
            error = _fault_error(answer.get("Fault"), f"Invoice #{w.order.number}")
            try:
                doc = _find_by_doc_number("Invoice", w.order.number, pacer) if error.code == "6140" else None
            except QboError as lookup_error:
                error, doc = lookup_error, None
            if doc is None:
                _fail(w.job, error)
                _progress(bulk, pacer, failed=1)
            else:
                _bulk_adopt(bulk, w, doc, pacer)


def _bulk_adopt(bulk: BulkPush, w: _Work, doc: dict, pacer: Pacer) -> None:
    """An invoice with the order's number already exists: ours (adopted) or not (the job fails)."""
    try:
        _adoptable(doc, customer_id=w.customer_id, order=w.order, entity="Invoice")
    except QboError as e:
        _fail(w.job, e)
        _progress(bulk, pacer, failed=1)
    else:
        _bulk_created(bulk, w, doc, pacer)


def _bulk_created(bulk: BulkPush, w: _Work, doc: dict, pacer: Pacer) -> None:
    order = _mark_created(w.job, doc, Order.DocType.INVOICE, w.fingerprint)
    _finish(w.job, {"docId": order.qbo_doc_id, "docNumber": order.qbo_doc_number, "docType": "invoice"})
    _progress(bulk, pacer, succeeded=1)


def _current_documents(work: list[_Work], pacer: Pacer, entities: tuple[str, ...]) -> dict[tuple[str, str], dict]:
    """The documents as QuickBooks has them now, by (entity, Id): one query per entity and 100 documents."""
    current: dict[tuple[str, str], dict] = {}
    for entity in entities:
        group = [w for w in work if entity_of(w.order) == entity]
        for start in range(0, len(group), QUERY_IN_CHUNK):
            ids = ", ".join(repr_q(w.order.qbo_doc_id) for w in group[start:start + QUERY_IN_CHUNK])
            rows = _query(f"select * from {entity} where Id in ({ids}) MAXRESULTS {QUERY_MAX_RESULTS}", pacer).get(entity, [])
            current |= {(entity, str(row["Id"])): row for row in rows}
    return current


def _without_settled(bulk: BulkPush, work: list[_Work], pacer: Pacer, *,
                     entities: tuple[str, ...] = ("Invoice",)) -> tuple[list[_Work], dict[tuple[str, str], dict]]:
    """The single-order update's rules in bulk: the document read must be the order's own (a wrong link gets no
    write) and an invoice paid or voided in QuickBooks is not overwritten; such a job fails with the reason in
    the order's Activity Log. Returns the orders still to update, each with its write target, and the
    documents it read (`entities`)."""
    current = _current_documents(work, pacer, entities)
    ready = []
    for w in work:
        entity = entity_of(w.order)
        doc = current.get((entity, str(w.order.qbo_doc_id)))
        try:
            if doc is None:
                raise client.QboNotFoundError(f"QuickBooks no longer has {entity.lower()} {w.order.qbo_doc_id}; "
                                              "nothing was updated.")
            w.target = _checked_target(w.job, w.order, doc)
            _refuse_if_settled(entity, doc)
        except QboError as e:
            _fail(w.job, e)
            _progress(bulk, pacer, failed=1)
            continue
        ready.append(w)
    return ready, current


def _bulk_updates(bulk: BulkPush, work: list[_Work], pacer: Pacer, *, reapply: bool = False) -> None:
    stale: list[_Work] = []
    if not reapply:
        work, _ = _without_settled(bulk, work, pacer, entities=_entities(work))
    for start in range(0, len(work), BATCH_MAX_ITEMS):
        chunk = work[start:start + BATCH_MAX_ITEMS]
        items = [{"bId": f"j{w.job.pk}", "operation": "update", entity_of(w.order): mapping.sales_document_update(
            w.payload, w.target)} for w in chunk]
        prefix = "bulk-update-reapply:" if reapply else "bulk-update:"
        _heartbeat(bulk, force=True)
        try:
            answers = _batch(items, pacer, request_id=_request_id(prefix + ",".join(w.job.request_id for w in chunk)))
        except (QboTransientError, QboThrottledError) as e:
            _settle_transient(bulk, chunk, e, pacer)
            continue
        for w in chunk:
            answer, entity = answers.get(f"j{w.job.pk}", {}), entity_of(w.order)
            if entity in answer:
                order = _mark_updated(w.job, w.order.pk, answer[entity], w.fingerprint, entity=entity)
                _finish(w.job, {"docId": order.qbo_doc_id, "docNumber": order.qbo_doc_number})
                _progress(bulk, pacer, succeeded=1)
                continue
            error = _fault_error(answer.get("Fault"), f"{entity} #{w.order.qbo_doc_number}")
            if isinstance(error, QboStaleError) and not reapply:
                stale.append(w)
            else:
                _fail(w.job, error)
                _progress(bulk, pacer, failed=1)
    if stale:
        # 5010: someone changed them in QuickBooks. Re-read them (one query per entity and 100 documents); one paid
        # or voided meanwhile is not overwritten (the same check as above); the rest are re-applied once.
        stale, _ = _without_settled(bulk, stale, pacer, entities=_entities(stale))
        _bulk_updates(bulk, stale, pacer, reapply=True)


def _entities(work: list[_Work]) -> tuple[str, ...]:
    return tuple(sorted({entity_of(w.order) for w in work}))
