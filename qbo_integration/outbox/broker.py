"""The broker document's job (docs/quickbooks/beyond.md#the-brokers-own-books): recorded when an order's invoice is
created, updated, converted from an estimate or voided (by a click, the API or a bulk push), when QuickBooks cancels
an order whose document is active, and when a person asks again (the order's card, reconciliation).

The job belongs to the order, like its document's jobs: the order is not deleted while it waits, and its panel
shows it. Its key holds the order's version, status and the company's choice, so the same change asked twice is one
job; while one is still pending, a later change joins it (the job syncs the order as it is when it runs). It runs
at once on the worker (django-q2), the every-minute drain being the safety net.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from orders.models import Order

from ..connection.vault import current_connection
from ..documents.broker import out_of_step, sync_wanted
from ..models import BrokerBooks, BrokerDocument, QboSyncJob
from .jobs import RUN_JOB_TASK, job_for
from .log import person_or_none

Action = QboSyncJob.Action


def broker_sync_enqueue(order: Order, *, by=None, ip: str | None = None, again: bool = False) -> QboSyncJob | None:
    """The order's broker-document job, when its change is for the broker document to follow (None otherwise, and
    when QuickBooks is not connected). `again`: a person asks for it whatever was done before (a failed job, a
    document deleted in QuickBooks): a new job that re-creates what is missing."""
    conn = current_connection()
    if conn is None or (not again and conn.broker_books == BrokerBooks.KADOURI_ONLY and not _followed(order)):
        return None  # the common case, asked for every invoice a push writes: one query more, none per line
    order = Order.objects.select_related("buyer", "seller").filter(pk=order.pk).first()
    if order is None or not (again or sync_wanted(order, conn)):
        return None
    pending = order.qbo_jobs.filter(action=Action.SYNC_BROKER_DOCUMENT, state=QboSyncJob.State.PENDING)
    if not again and pending.exists():
        return pending.order_by("pk").first()  # it syncs the order as it is when it runs
    key = f"{conn.realm_id}:order:{order.pk}:broker:v{order.version}:{order.status}:{conn.broker_books}"
    if again:
        key += f":again:{timezone.now().timestamp()}"
    job, created = job_for(
        key=key,
        lookup={"order": order, "action": Action.SYNC_BROKER_DOCUMENT},
        defaults={
            "realm_id": conn.realm_id,
            "created_by": person_or_none(by),
            "ip_address": ip,
            "params": {"again": again},
        },
    )
    if created:
        transaction.on_commit(lambda: async_task(RUN_JOB_TASK, job.pk))
    return job


def _followed(order: Order) -> bool:
    """The order has a broker document whose updates and void follow its invoice."""
    return BrokerDocument.objects.filter(order_id=order.pk, state=BrokerDocument.State.ACTIVE).exists()


def broker_follow(order: Order) -> QboSyncJob | None:
    """After QuickBooks changed the order (inbound): its broker document's job, if the change left it behind."""
    conn = current_connection()
    order = Order.objects.select_related("buyer", "seller").filter(pk=order.pk).first()  # as the change left it
    if conn is None or order is None or not out_of_step(order, conn):
        return None
    return broker_sync_enqueue(order)
