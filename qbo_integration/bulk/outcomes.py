"""What a push would send (before the click) and what became of each of its orders (after it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F

from orders.models import Order

from ..models import BulkPush, QboSyncJob
from ..outbox.jobs import ACTIVE

State = QboSyncJob.State


def pending_orders() -> list[int]:
    """Draft orders marked ready, and posted orders changed since their last push (ids, in order)."""
    drafts = Order.objects.filter(
        status=Order.Status.DRAFT, ready_to_push=True, qbo_doc_id__isnull=True, lines__isnull=False
    )
    changed = (
        Order.objects.filter(status=Order.Status.POSTED_TO_QB, qbo_doc_id__isnull=False)
        .exclude(content_fingerprint=F("pushed_fingerprint"))
        .exclude(qbo_doc_type=Order.DocType.SALES_RECEIPT)  # a cash sale is never edited (outbound/rules.py)
    )
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
