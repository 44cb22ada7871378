"""A push's lease and heartbeat (one worker at a time; a dead worker's push is resumed), its counters, and the
work it holds: one order and its claimed job each."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from django.db.models import F
from django.utils import timezone

from orders.models import Order

from ..adapt.closing import is_period_closed, period_closed_error
from ..client.errors import QboError
from ..documents.store import WriteTarget
from ..models import BulkPush, QboSyncJob
from ..outbox.jobs import STUCK_AFTER, SyncRefused, dead_pushes, job_fail, queue_retry
from ..refs.pacing import Pacer

State = QboSyncJob.State

# Seconds between heartbeats of a live push (its row and its jobs' claims): well inside STUCK_AFTER, so a push
# that paces itself or waits out a pause never looks dead.
HEARTBEAT_EVERY = min(30.0, STUCK_AFTER.total_seconds() / 4)
BULK_MAX_RESUMES = 3  # a push that keeps killing its worker stops taking it down again


@dataclass
class Work:
    job: QboSyncJob
    order: Order
    fingerprint: str = ""
    payload: dict = field(default_factory=dict)
    customer_id: str = ""
    currency: dict = field(default_factory=dict)  # the document's CurrencyRef and rate (adapt/currency.py)
    target: WriteTarget | None = None  # for updates: the order's own document, checked (documents.write_target)


class LeaseLost(Exception):
    """Another worker took this push over (this one stalled longer than STUCK_AFTER): stop, touch nothing."""


def progress(bulk: BulkPush, pacer: Pacer, **changes) -> None:
    for name, delta in changes.items():
        setattr(bulk, name, getattr(bulk, name) + delta)
    bulk.requests_used = pacer.used
    BulkPush.objects.filter(pk=bulk.pk).update(
        succeeded=bulk.succeeded, failed=bulk.failed, retrying=bulk.retrying, requests_used=bulk.requests_used
    )
    heartbeat(bulk)


def fail_work(bulk: BulkPush, w: Work, error: QboError | SyncRefused, pacer: Pacer) -> None:
    if isinstance(error, QboError) and is_period_closed(error):  # the closing date moved since the profile was read
        void = w.job.action == QboSyncJob.Action.VOID_DOCUMENT
        error = period_closed_error(w.order, error, realm_id=w.job.realm_id, void=void)
    job_fail(w.job, error)
    progress(bulk, pacer, failed=1)


def settle_transient(bulk: BulkPush, chunk: list[Work], error: QboError, pacer: Pacer) -> None:
    """After every resend of their batch failed: each job goes back to its own queue, in doubt (its retry looks
    up the DocNumber first)."""
    for w in chunk:
        w.job.in_doubt = True
        queue_retry(w.job, error)
        progress(bulk, pacer, retrying=1)


def heartbeat(bulk: BulkPush, *, force: bool = False) -> None:
    """A live push renews its heartbeat and its jobs' claims, so however long it paces itself they are never taken
    for a dead worker's. Finding its lease taken means another worker resumed it: this one stops."""
    now = time.monotonic()
    if not force and now - getattr(bulk, "_heartbeat_at", 0.0) < HEARTBEAT_EVERY:
        return
    bulk._heartbeat_at = now
    stamp = timezone.now()
    mine = BulkPush.objects.filter(pk=bulk.pk, state=BulkPush.State.RUNNING, lease=bulk.lease)
    if not mine.update(heartbeat_at=stamp):
        raise LeaseLost()
    QboSyncJob.objects.filter(bulk_push=bulk, state=State.RUNNING).update(claimed_at=stamp)


def sleeping_alive(bulk: BulkPush, sleep):
    """`sleep` in slices, with a heartbeat after each, for the pacer's waits and QuickBooks' pauses."""

    def wait(seconds: float) -> None:
        while seconds > 0:
            step = min(seconds, HEARTBEAT_EVERY)
            sleep(step)
            seconds -= step
            heartbeat(bulk)

    return wait


def take_lease(bulk: BulkPush) -> bool | None:
    """Takes the push for this worker: a queued one (→ False), or a running one whose worker died (→ True:
    resumed). None: it ended, or a live worker has it."""
    lease, now = uuid.uuid4().hex, timezone.now()
    pushes = BulkPush.objects.filter(pk=bulk.pk)
    if pushes.filter(state=BulkPush.State.QUEUED).update(
        state=BulkPush.State.RUNNING, started_at=now, heartbeat_at=now, lease=lease
    ):
        resumed = False
    elif (
        dead_pushes(now - STUCK_AFTER)
        .filter(pk=bulk.pk, state=BulkPush.State.RUNNING)
        .update(heartbeat_at=now, lease=lease, resumes=F("resumes") + 1)
    ):
        resumed = True
    else:
        return None
    bulk.refresh_from_db()
    bulk._heartbeat_at = time.monotonic()
    return resumed
