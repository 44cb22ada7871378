"""Template helpers for the QuickBooks panel: the status table and the sync job the panel reports on."""

from django import template

from orders.models import OrderActivity

from ..models import QboSyncJob
from ..outbound.cash_sales import cash_sale_details
from ..outbound.rules import allowed_actions

register = template.Library()

# Entries that report no progress: a failure, a retry, a conflict. Anything else written after a failed job
# (an edit, an update, a payment, a status change) means the order moved on and the failure is old news.
NO_PROGRESS = [OrderActivity.Type.SYNC_FAILED, OrderActivity.Type.SYNC_QUEUED, OrderActivity.Type.CONFLICT]


@register.filter
def qbo_actions(order) -> set[str]:
    return {str(a) for a in allowed_actions(order)}


@register.filter
def qbo_panel_job(order) -> QboSyncJob | None:
    """The order's latest sync job, unless it is a failure that something successful has superseded since. The broker
    document's jobs are its own card's (templates/orders/_broker_document.html), not the buyer's document's."""
    jobs = order.qbo_jobs.exclude(action=QboSyncJob.Action.SYNC_BROKER_DOCUMENT) if order.pk else None
    job = jobs.order_by("-created_at", "-id").first() if jobs is not None else None
    if job is None or job.state != QboSyncJob.State.FAILED or job.finished_at is None:
        return job
    moved_on = order.activities.filter(created_at__gt=job.finished_at).exclude(activity_type__in=NO_PROGRESS).exists()
    return None if moved_on else job


@register.filter
def qbo_cash_sale(order) -> dict:
    """How the order's cash sale was paid (method, reference, deposit account); {} for any other order."""
    return cash_sale_details(order)
