"""The job rows: recorded once per piece of work, leased by one worker at a time, run one attempt at a time,
retried by the rule of `retry.py`, failed with a reason a person can act on, reclaimed when their worker died.

What a job does is not known here: `job_run` takes the function that runs it (`outbound.runners.run_job`).

- The key. A job's `request_id` is uuid5 of a key naming the work (realm, object, operation, version) and a
  generation: a double click, a second person or a browser retry finds the same row (the column is unique, so
  even racing inserts end with one row). A failed job is never re-armed: a new try is the next generation.
- The lease. Running a job is a compare-and-set UPDATE pending → running, so one worker at a time sends it.
- One attempt, never a sleep. A transient failure queues the job again with `not_before` and schedules it on
  django-q2 (the row owns attempts and `not_before`; django-q2 runs each task once); the every-minute drain is
  the safety net. A job whose worker died is reclaimed, in doubt, after STUCK_AFTER.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from kadouri.display import when
from orders.models import OrderActivity

from ..client.errors import QboError, QboPausedError, QboThrottledError, QboTransientError, SyncRefused
from ..client.http import writes_sent
from ..models import BulkPush, QboSyncJob
from .log import job_details, job_log
from .retry import doubling_delay, next_try

log = logging.getLogger(__name__)

REQUEST_NAMESPACE = uuid.UUID("6f1c1f3e-4a57-4d0e-9a51-6b2d8f0c3a11")
# Production values by default; settings (env) may compress them, as the soak does (manage.py soak).
RETRY_BASE = timedelta(seconds=settings.QBO_RETRY_BASE_SECONDS)
RETRY_CAP = timedelta(hours=1)
# A running job whose worker died is reclaimed (in doubt) after this long.
STUCK_AFTER = timedelta(seconds=settings.QBO_JOB_STUCK_AFTER_SECONDS)

State = QboSyncJob.State
ACTIVE = (State.PENDING, State.RUNNING)
RUN_JOB_TASK = "qbo_integration.tasks.qbo_run_job"
DRAIN_TASK = "qbo_integration.tasks.qbo_drain_due_jobs"
BULK_PUSH_TASK = "qbo_integration.tasks.qbo_bulk_push_run"


# --- the row -----------------------------------------------------------------------------------------


def request_id(key: str) -> str:
    return str(uuid.uuid5(REQUEST_NAMESPACE, key))  # 36 characters: fits requestid (50) and batch (36)


def reapply_id(job: QboSyncJob) -> str:
    """The request id of a job's second write after a stale SyncToken (5010): its own, so a replay is recognised."""
    return request_id(f"{job.request_id}:reapply")


def job_for(*, key: str, defaults: dict, lookup: dict) -> tuple[QboSyncJob, bool]:
    """The job for this piece of work. A failed job is never re-armed (QuickBooks would replay its
    answer for the same requestid); a new try gets the next generation's id."""
    existing = {j.request_id: j for j in QboSyncJob.objects.filter(**lookup)}
    for generation in itertools.count():
        rid = request_id(f"{key}:g{generation}")
        job = existing.get(rid)
        if job is None:
            try:
                with transaction.atomic():
                    return QboSyncJob.objects.create(request_id=rid, **lookup, **defaults), True
            except IntegrityError:  # a racing request inserted the same id first: use its row
                return QboSyncJob.objects.get(request_id=rid), False
        if job.state != State.FAILED:
            return job, False
    raise AssertionError("unreachable")


def is_due(job: QboSyncJob) -> bool:
    return job.state == State.PENDING and job.not_before <= timezone.now()


def claim(job_id: int) -> bool:
    """Compare-and-set lease: exactly one worker moves a due pending job to running."""
    now = timezone.now()
    return bool(
        QboSyncJob.objects.filter(pk=job_id, state=State.PENDING, not_before__lte=now).update(
            state=State.RUNNING, claimed_at=now, attempts=F("attempts") + 1
        )
    )


# --- outcomes ----------------------------------------------------------------------------------------


def job_done(job: QboSyncJob, result: dict) -> None:
    job.state, job.result, job.finished_at = State.DONE, result, timezone.now()
    job.error_kind = job.error_code = job.last_error = ""
    job.save(update_fields=["state", "result", "finished_at", "error_kind", "error_code", "last_error", "updated_at"])


def job_fail(job: QboSyncJob, error: QboError | SyncRefused, note: str = "") -> None:
    message = error.message
    job.state, job.finished_at, job.claimed_at = State.FAILED, timezone.now(), None
    job.error_kind = getattr(error, "kind", "refused")
    job.error_code = getattr(error, "code", "")
    job.last_error = (message + note)[:500]
    job.save()
    code = f" (QuickBooks error {job.error_code})" if job.error_code and job.error_code not in message else ""
    qbo_error = error if isinstance(error, QboError) else None
    job_log(
        job,
        OrderActivity.Type.SYNC_FAILED,
        f"{job.get_action_display()} failed{code}: {message}{note}",
        job_details(job, qbo_error) | ({} if qbo_error else {"kind": "refused", "code": ""}),
    )


def queue_retry(job: QboSyncJob, error: QboError) -> None:
    """The job waits for the worker's next attempt (retry.next_try decides when, or that it gives up)."""
    paused = isinstance(error, QboPausedError)
    step = next_try(
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        error=error,
        delay=doubling_delay(job.attempts, base=RETRY_BASE, cap=RETRY_CAP),
    )
    job.attempts = step.attempts
    if step.give_up:
        job_fail(job, error, note=f" Gave up after {job.attempts} attempts.")
        return
    retry_at = step.not_before
    job.state, job.not_before, job.claimed_at = State.PENDING, retry_at, None
    job.in_doubt = job.in_doubt or error.in_doubt
    job.error_kind, job.error_code, job.last_error = error.kind, error.code, error.message[:500]
    job.save()
    job_log(
        job,
        OrderActivity.Type.SYNC_QUEUED,
        f"{job.get_action_display()} queued — retrying at {when(retry_at)} "
        f"({'QuickBooks paused this company' if paused else f'attempt {job.attempts} of {job.max_attempts}'}): "
        f"{error.message}",
        job_details(job, error, retryAt=retry_at.isoformat()),
    )
    schedule(job)


def schedule(job: QboSyncJob) -> None:
    """One django-q2 task at `not_before`; the every-minute drain is the safety net (tasks.py)."""
    Schedule.objects.create(
        name=f"qbo-job-{job.pk}-{job.attempts}",
        func=RUN_JOB_TASK,
        args=str(job.pk),
        schedule_type=Schedule.ONCE,
        repeats=1,
        next_run=job.not_before,
    )
    # Not get_or_create: the name is not unique, so two requests racing here both create it and every later
    # get_or_create raised MultipleObjectsReturned (a 500 from the API; found by the soak). A duplicate drain
    # is harmless (jobs are leased by compare-and-set); an exception here is not.
    if not Schedule.objects.filter(func=DRAIN_TASK).exists():
        Schedule.objects.create(
            name="qbo-drain", func=DRAIN_TASK, schedule_type=Schedule.MINUTES, minutes=1, repeats=-1
        )


def crashed(job: QboSyncJob, error: Exception, *, wrote: bool = True) -> None:
    """The last resort for an exception nobody classified. If the job's write left (`wrote`), it may have
    reached QuickBooks: the job is queued again in doubt (its retry looks the document up first). If nothing
    left, the error happened while preparing the request and would happen again on every retry: the job fails
    at once, and nothing is in doubt. Only the exception's class goes on the row and the activity entry: its
    text may hold anything."""
    if not QboSyncJob.objects.filter(pk=job.pk).exists():
        return  # the order, and with it the job, is gone: nothing left to record
    if isinstance(error, ObjectDoesNotExist):
        what = "order" if job.order_id else ("account" if job.account_id else "product")
        job_fail(
            job,
            SyncRefused(
                f"The {what} no longer exists in Kadouri, so nothing more is sent to QuickBooks "
                f"for it ({error.__class__.__name__}).",
                status=409,
            ),
        )
        return
    if not wrote:
        job_fail(
            job,
            SyncRefused(
                f"Kadouri could not prepare the request for QuickBooks ({error.__class__.__name__}); nothing was sent, "
                "and retrying would fail the same way. Check the order's dates and amounts; if they look right, an "
                "operator should look at the worker logs.",
                status=422,
            ),
        )
        return
    queue_retry(
        job,
        QboTransientError(
            f"Kadouri hit an unexpected error ({error.__class__.__name__}) while talking to QuickBooks; it retries "
            "automatically. If this keeps happening, an operator should look at the worker logs.",
            in_doubt=True,
        ),
    )


# --- one attempt ---------------------------------------------------------------------------------------


def own_write_left(job: QboSyncJob, sent: list[str]) -> bool:
    """Whether this job's own write went out: an order job's document carries the job's requestid (or the
    re-apply id after a stale SyncToken); the customers and items created on the way have their own markers."""
    if not job.order_id:
        return bool(sent)
    return bool({job.request_id, reapply_id(job)} & set(sent))


def job_run(*, job_id: int, run: Callable[[QboSyncJob], dict]) -> QboSyncJob:
    """One attempt of a due job, by whoever claims it first (the person's click or a worker). It never sleeps
    and never retries by itself: a transient failure leaves the job pending for the worker's next attempt."""
    if not claim(job_id):
        return QboSyncJob.objects.get(pk=job_id)
    job = QboSyncJob.objects.get(pk=job_id)
    with writes_sent() as sent:
        try:
            result = run(job)
        except QboThrottledError as e:  # the company is paused: its own time decides the retry
            queue_retry(job, e)
        except QboTransientError as e:
            if e.in_doubt or own_write_left(job, sent):
                job.in_doubt = True  # the next try looks for the document before creating it
            queue_retry(job, e)
        except (QboError, SyncRefused) as e:
            job_fail(job, e)
        except Exception as e:  # a bug or an unexpected answer must not leave the job `running` (and answer 500)
            log.exception("quickbooks job %s (%s) crashed", job.pk, job.action)
            crashed(job, e, wrote=own_write_left(job, sent))
        else:
            job_done(job, result)
    return QboSyncJob.objects.filter(pk=job.pk).first() or job


# --- the drain: reclaim, resume, run what is due ----------------------------------------------------------


def dead_pushes(stuck: datetime):
    """Pushes whose worker stopped: running without a heartbeat since `stuck`, or queued and never started."""
    silent = Q(heartbeat_at__lt=stuck) | Q(heartbeat_at__isnull=True, started_at__lt=stuck)
    return BulkPush.objects.filter(
        (Q(state=BulkPush.State.RUNNING) & silent) | Q(state=BulkPush.State.QUEUED, created_at__lt=stuck)
    )


def enqueue_bulk_push(bulk_id: int) -> None:
    async_task(BULK_PUSH_TASK, bulk_id)


def reclaim_stuck() -> None:
    """Jobs whose worker died go back to pending, in doubt; pushes whose worker died are handed to a worker
    again (the run takes its lease only if the heartbeat is still stale, so never by two workers at once)."""
    stuck = timezone.now() - STUCK_AFTER
    # A running push's jobs are its own: its heartbeat tells whether it lives, and a dead push is resumed below
    # (taking them back) instead of scattering them into one-by-one retries.
    QboSyncJob.objects.filter(state=State.RUNNING, claimed_at__lt=stuck).exclude(
        bulk_push__state=BulkPush.State.RUNNING
    ).update(state=State.PENDING, in_doubt=True, claimed_at=None)
    for bulk_id in dead_pushes(stuck).values_list("pk", flat=True):
        log.warning("bulk push %s: its worker stopped; resuming it", bulk_id)
        enqueue_bulk_push(bulk_id)


def process_due(*, run: Callable[[QboSyncJob], dict], limit: int) -> int:
    """The drain (scheduled every minute): reclaim stuck work, then one attempt of each due job."""
    reclaim_stuck()
    due = list(
        QboSyncJob.objects.filter(state=State.PENDING, not_before__lte=timezone.now())
        .order_by("not_before")
        .values_list("pk", flat=True)[:limit]
    )
    for job_id in due:
        job_run(job_id=job_id, run=run)
    return len(due)
