"""Template helpers for the QuickBooks panel: the status table and the latest sync job of an order."""

from django import template

from ..models import QboSyncJob
from ..sync import allowed_actions

register = template.Library()


@register.filter
def qbo_actions(order) -> set[str]:
    return {str(a) for a in allowed_actions(order)}


@register.filter
def qbo_latest_job(order) -> QboSyncJob | None:
    return order.qbo_jobs.order_by("-created_at", "-id").first() if order.pk else None
