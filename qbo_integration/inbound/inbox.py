"""The inbox: each company's stored events processed in order, by one worker at a time, idempotently, a batch at
a time — what a batch needs from QuickBooks is read at once (inbound/prefetch.py,
docs/quickbooks/limits.md#a-burst-of-webhooks).

Rules that hold for every handler:
- Never move backwards: a QuickBooks version older than the one Kadouri has seen (SyncToken, then
  LastUpdatedTime) is skipped; the same version again (an echo of Kadouri's own write, a duplicate or
  replayed delivery) changes nothing and logs nothing.
- QuickBooks is the source of truth for invoices (spec, Business Rules); Kadouri's own edits to products
  are protected by recording a conflict rather than overwriting them.
- Failures retry with backoff; after the last attempt the event is `failed` and shown to operators.
Facts: docs/quickbooks/entities.md (invoice, estimate, payment), docs/quickbooks/api.md#delete,
docs/quickbooks/api.md#void, docs/quickbooks/webhooks.md#delivery; echo suppression:
docs/quickbooks/lessons.md#echo-suppression.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Subquery
from django.utils import timezone
from django_q.tasks import async_task

from ..client.errors import QboError
from ..models import QboConnection, QboInboxLease, QboWebhookEvent
from ..outbox.retry import next_try, stepped_delay
from .handlers import HANDLERS, Ignored
from .prefetch import Reads, batch_reads

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
# After attempts 1..5; the 6th failure marks the event failed. Both from settings (the soak compresses them).
BACKOFF_SECONDS = tuple(settings.QBO_INBOX_BACKOFF_SECONDS)
LEASE = timedelta(seconds=settings.QBO_INBOX_LEASE_SECONDS)
REPLAY_MARK = "Replay requested"
UNEXPECTED_ERROR = (
    "unexpected error while processing the event; it retries automatically (the worker log has the details)."
)
Status = QboWebhookEvent.Status


def inbox_enqueue(*, realm_id: str) -> None:
    """Hands the company's inbox to the worker (django-q2); in tests Q_SYNC runs it inline."""
    async_task("qbo_integration.tasks.qbo_inbox_process", realm_id, group="qbo-inbox")


def inbox_ring(*, realm_id: str, dedupe_keys: list[str]) -> None:
    """New events are committed: hands the company's inbox to the worker, unless a task already on its way takes
    them too — an older event, not tried yet, is still due. Whoever stored that one queued a task (or counted on an
    older one in turn), and a task looks for due events again after each batch and once more after letting go of
    the lease, so it finds these. A burst then queues one task, not one per delivery (each a write in the request
    and a lease taken in vain by the worker); a task lost with its worker is covered by the minute's sweep
    (`inbox_process_due`)."""
    first = QboWebhookEvent.objects.filter(dedupe_key__in=dedupe_keys).order_by("id").values("id")[:1]
    if not _due(realm_id).filter(attempts=0, id__lt=Subquery(first)).exists():
        inbox_enqueue(realm_id=realm_id)


# --- one event --------------------------------------------------------------------------------------


def _realm_connected(realm_id: str) -> bool:
    return QboConnection.objects.filter(realm_id=realm_id).exclude(state=QboConnection.State.DISCONNECTED).exists()


def _event_finish(event: QboWebhookEvent, status: str, result: str, *, changed: bool = False) -> None:
    event.status, event.result, event.processed_at, event.changed = status, result[:500], timezone.now(), changed
    event.last_error = "" if status in (Status.DONE, Status.IGNORED) else event.last_error
    QboWebhookEvent.objects.filter(pk=event.pk).update(
        status=status,
        result=event.result,
        processed_at=event.processed_at,
        last_error=event.last_error,
        attempts=event.attempts,
        changed=changed,
    )


def _event_retry_or_fail(event: QboWebhookEvent, message: str, error: QboError | None) -> None:
    counted = event.attempts
    step = next_try(
        attempts=counted, max_attempts=MAX_ATTEMPTS, error=error, delay=stepped_delay(counted, steps=BACKOFF_SECONDS)
    )
    event.attempts, event.last_error = step.attempts, message[:500]
    if step.give_up:
        _event_finish(
            event, Status.FAILED, f"Gave up after {event.attempts} attempts; replay it from the inbox when fixed."
        )
        log.error("quickbooks inbox event %s failed for good: %s", event.pk, message)
        return
    event.status, event.not_before = Status.PENDING, step.not_before
    QboWebhookEvent.objects.filter(pk=event.pk).update(
        status=Status.PENDING, not_before=step.not_before, last_error=event.last_error, attempts=event.attempts
    )
    if step.attempts == counted:  # a wait for the company's 429 pause is not a failed attempt: not logged as one
        log.warning(
            "quickbooks inbox event %s attempt %s failed, retry at %s: %s",
            event.pk,
            event.attempts,
            step.not_before.isoformat(),
            message,
        )


def _replayed(event: QboWebhookEvent) -> bool:
    return event.result.startswith(REPLAY_MARK)


def event_process(*, event: QboWebhookEvent, reads: Reads | None = None) -> QboWebhookEvent:
    """Runs one inbox event through its handler and records the outcome on the row. `reads`: what its batch read
    from QuickBooks at once; without it the handler reads its object itself."""
    reads = (reads or Reads(realm_id=event.realm_id)).for_event(fresh=_replayed(event))
    # No separate "processing" write: the company's lease already keeps every other worker off this event,
    # and a worker that dies mid-event leaves it pending, to run again.
    event.attempts += 1
    handler = HANDLERS.get(event.entity)
    try:
        if handler is None:
            raise Ignored(f"Kadouri does not act on {event.entity} changes.")
        if not _realm_connected(event.realm_id):
            raise Ignored(f"Company {event.realm_id} is not connected to Kadouri; nothing was changed.")
        outcome = handler(event, reads)
    except Ignored as e:
        _event_finish(event, Status.IGNORED, str(e))
    except QboError as e:
        _event_retry_or_fail(event, f"{e.kind}: {e.message}", e)
    except Exception as e:  # a bug must not stop the company's queue; the row shows it and it retries
        log.exception("quickbooks inbox event %s crashed", event.pk)
        # Only the class goes on the row (operators see it): the exception's text may hold anything.
        _event_retry_or_fail(event, f"{e.__class__.__name__}: {UNEXPECTED_ERROR}", None)
    else:
        _event_finish(event, Status.DONE, outcome.text, changed=outcome.changed)
    return event


# --- the company's queue ------------------------------------------------------------------------------


def _lease_take(realm_id: str) -> str | None:
    QboInboxLease.objects.get_or_create(realm_id=realm_id)
    holder, now = uuid.uuid4().hex, timezone.now()
    # One UPDATE decides the winner on SQLite and PostgreSQL alike (the row lock serialises it).
    taken = (
        QboInboxLease.objects.filter(realm_id=realm_id)
        .filter(Q(holder="") | Q(expires_at__lt=now))
        .update(holder=holder, expires_at=now + LEASE)
    )
    return holder if taken else None


def _lease_renew(realm_id: str, holder: str) -> bool:
    renewed = QboInboxLease.objects.filter(realm_id=realm_id, holder=holder).update(expires_at=timezone.now() + LEASE)
    return bool(renewed)


def _lease_release(realm_id: str, holder: str) -> None:
    QboInboxLease.objects.filter(realm_id=realm_id, holder=holder).update(holder="", expires_at=None)


def _due(realm_id: str):
    return QboWebhookEvent.objects.filter(realm_id=realm_id, status=Status.PENDING, not_before__lte=timezone.now())


def _batch(realm_id: str) -> list[QboWebhookEvent]:
    due = _due(realm_id).order_by(F("occurred_at").asc(nulls_first=True), "id")
    return list(due[: settings.QBO_INBOX_BATCH])


def _batch_reads(realm_id: str, batch: list[QboWebhookEvent]) -> Reads:
    if not _realm_connected(realm_id):
        return Reads(realm_id=realm_id)  # every event is ignored: nothing to read
    try:
        return batch_reads(realm_id, batch, replayed=_replayed)
    except Exception:  # the batch read saves requests; a bug in it leaves every event its own read, as before
        log.exception("quickbooks inbox batch read for %s crashed; its events read one by one", realm_id)
        return Reads(realm_id=realm_id)


class _Lease:
    """The company's lease while this worker holds it, renewed every third of its length (renewing at every event
    would cost a commit each)."""

    def __init__(self, realm_id: str, holder: str) -> None:
        self.realm_id, self.holder = realm_id, holder
        self.renew_at = time.monotonic() + LEASE.total_seconds() / 3

    def still_ours(self) -> bool:
        if time.monotonic() <= self.renew_at:
            return True
        if not _lease_renew(self.realm_id, self.holder):
            return False
        self.renew_at = time.monotonic() + LEASE.total_seconds() / 3
        return True


def _batch_process(lease: _Lease, batch: list[QboWebhookEvent]) -> tuple[int, bool]:
    """Processes one batch in order: what it needs from QuickBooks is read first, at once (`batch_reads`), so
    it sees every change its events announce. Returns how many events it settled and whether the lease held."""
    reads = _batch_reads(lease.realm_id, batch)
    waiting = _mergeable_by_entity(batch)
    covered: set[int] = set()
    processed = 0
    for event in batch:
        if event.pk in covered:
            continue
        if not lease.still_ours():
            return processed, False
        twins = _twins(event, waiting, covered)
        event_process(event=event, reads=reads)
        _cover(event, twins)
        processed += 1 + len(twins)
    return processed, True


def inbox_process_realm(*, realm_id: str, limit: int = 5000) -> int:
    """Processes a company's due events in order of occurrence, one worker per company (a lease), a batch at a
    time. Returns how many it processed. Another worker already on it → 0; it will see the new events."""
    processed = 0
    while processed < limit:
        holder = _lease_take(realm_id)
        if holder is None:
            return processed
        try:
            # We hold the lease, so nothing else is processing this company: rows left `processing`
            # belong to a worker that died mid-event.
            QboWebhookEvent.objects.filter(realm_id=realm_id, status=Status.PROCESSING).update(status=Status.PENDING)
            lease = _Lease(realm_id, holder)
            while processed < limit and (batch := _batch(realm_id)):
                settled, held = _batch_process(lease, batch)
                processed += settled
                if not held:
                    return processed
        finally:
            _lease_release(realm_id, holder)
        # Events stored while we were finishing enqueued a task that found the lease taken: look again.
        if not _due(realm_id).exists():
            return processed
    inbox_enqueue(realm_id=realm_id)  # the limit is reached with events left: a new task takes the rest
    return processed


Group = dict[tuple[str, str], list[QboWebhookEvent]]


def _mergeable(event: QboWebhookEvent) -> bool:
    # Merges carry their own data (deletedId) and CDC events their own snapshot, so they never merge.
    return event.source != QboWebhookEvent.Source.CDC and event.operation != "Merge"


def _mergeable_by_entity(batch: list[QboWebhookEvent]) -> Group:
    groups: Group = {}
    for event in batch:
        if _mergeable(event):
            groups.setdefault((event.entity, event.entity_id), []).append(event)
    return groups


def _twins(event: QboWebhookEvent, waiting: Group, covered: set[int]) -> list[QboWebhookEvent]:
    """Doorbells for the same entity waiting together: one read answers them all (it sees every change made
    before it)."""
    if not _mergeable(event):
        return []
    twins = [e for e in waiting[(event.entity, event.entity_id)] if e.pk != event.pk and e.pk not in covered]
    covered.update(e.pk for e in twins)
    if any(e.operation == "Void" for e in twins):
        event.operation = "Void"  # keeps the void hint; the row itself is not saved with it
    return twins


def _cover(event: QboWebhookEvent, twins: list[QboWebhookEvent]) -> None:
    if not twins:
        return
    event.refresh_from_db(fields=["status", "result"])
    if event.status in (Status.DONE, Status.IGNORED):
        QboWebhookEvent.objects.filter(pk__in=[t.pk for t in twins]).update(
            status=event.status,
            processed_at=timezone.now(),
            result=f"Covered by event {event.pk}, which read {event.entity} {event.entity_id} after this change.",
        )
    # If the read failed, the twins simply stay pending and run (or are covered) on the next pass.


def inbox_process_due() -> int:
    """The scheduled sweep: retries whose backoff has passed, and anything a lost task left behind."""
    realms = _due_realms()
    return sum(inbox_process_realm(realm_id=realm_id) for realm_id in realms)


def _due_realms() -> list[str]:
    return list(
        QboWebhookEvent.objects.filter(status=Status.PENDING, not_before__lte=timezone.now())
        .values_list("realm_id", flat=True)
        .distinct()
        .order_by("realm_id")
    )


def inbox_replay(*, event_ids: list[int], by=None) -> int:
    """Operators replay events (failed, ignored or done): they run again with a fresh read from QuickBooks."""
    who = getattr(by, "username", "") or "an operator"
    events = QboWebhookEvent.objects.filter(pk__in=event_ids).exclude(status=Status.PROCESSING)
    realms = sorted(set(events.values_list("realm_id", flat=True)))
    count = events.update(
        status=Status.PENDING,
        attempts=0,
        not_before=timezone.now(),
        last_error="",
        result=f"{REPLAY_MARK} by {who} at {timezone.now():%Y-%m-%d %H:%M:%S}.",
        processed_at=None,
    )
    for realm_id in realms:
        transaction.on_commit(lambda realm_id=realm_id: inbox_enqueue(realm_id=realm_id))
    return count
