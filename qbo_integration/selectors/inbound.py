"""What the inbox, catch-up and reconciliation pages read, and the Settings page's "Changes from QuickBooks"
card (its template tag and its live endpoint show the same thing)."""

from __future__ import annotations

from django.db.models import QuerySet

from ..models import QboCatchUp, QboReconcileRun, QboWebhookCounter, QboWebhookEvent, SyncConflict

# The card's template, rendered by both the template tag (first paint) and the endpoint it polls.
INBOUND_CARD = "qbo_integration/_inbound_card.html"
INBOX_FILTERS = ("status", "entity", "realm", "source")


def catchup_last() -> QboCatchUp | None:
    return QboCatchUp.objects.order_by("-started_at", "-id").first()


def reconcile_latest() -> QboReconcileRun | None:
    return QboReconcileRun.objects.order_by("-started_at", "-id").first()


def open_conflicts() -> QuerySet[SyncConflict]:
    return SyncConflict.objects.filter(state=SyncConflict.State.OPEN)


def inbox_events(*, status: str = "", entity: str = "", realm: str = "", source: str = "") -> QuerySet[QboWebhookEvent]:
    """The inbox newest first, narrowed by whichever filters are given (empty: not filtered)."""
    events = QboWebhookEvent.objects.all().order_by("-received_at", "-id")
    if status:
        events = events.filter(status=status)
    if entity:
        events = events.filter(entity=entity)
    if realm:
        events = events.filter(realm_id=realm)
    if source:
        events = events.filter(source=source)
    return events


def failed_event_ids(*, limit: int) -> list[int]:
    return list(
        QboWebhookEvent.objects.filter(status=QboWebhookEvent.Status.FAILED).values_list("pk", flat=True)[:limit]
    )


def inbox_filter_choices() -> dict:
    """The inbox page's filter lists and the refused-delivery counters shown beside them."""
    return {
        "statuses": QboWebhookEvent.Status.choices,
        "sources": QboWebhookEvent.Source.choices,
        "entities": sorted(set(QboWebhookEvent.objects.values_list("entity", flat=True).distinct())),
        "realms": sorted(set(QboWebhookEvent.objects.values_list("realm_id", flat=True).distinct())),
        "counters": QboWebhookCounter.objects.order_by("name"),
    }


def settings_card_context() -> dict:
    """For the Settings page card (templatetags/qbo_inbound.py) and its live endpoint."""
    events = QboWebhookEvent.objects
    return {
        "last_catchup": catchup_last(),
        "catchups": QboCatchUp.objects.order_by("-started_at", "-id")[:5],
        "failed_events": events.filter(status=QboWebhookEvent.Status.FAILED).count(),
        "pending_events": events.filter(status=QboWebhookEvent.Status.PENDING).count(),
        "last_event": events.order_by("-received_at", "-id").first(),
        "refused": sum(QboWebhookCounter.objects.values_list("count", flat=True)),
        "open_conflicts": open_conflicts().count(),
        "last_reconcile": reconcile_latest(),
    }
