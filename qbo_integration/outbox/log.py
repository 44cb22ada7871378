"""What a job writes in its order's activity log, and whom it acts for (the person who asked, else the sync)."""

from __future__ import annotations

from orders.models import Order
from orders.services import order_activity_log, user_display_name

from ..client.errors import QboError
from ..documents.store import Actor
from ..models import QboSyncJob

SYNC_USER_NAME = "QuickBooks sync"


def person_or_none(by):
    """The user to record on a job: a logged-in person, else nobody (a command, a worker)."""
    return by if by is not None and getattr(by, "is_authenticated", False) else None


def job_user_name(job: QboSyncJob) -> str:
    return user_display_name(job.created_by) if job.created_by else SYNC_USER_NAME


def job_details(job: QboSyncJob, error: QboError | None = None, **extra) -> dict:
    details = {"requestId": job.request_id, "action": job.action, "attempt": job.attempts, **extra}
    if error is not None:
        details |= {"code": error.code, "kind": error.kind, "detail": error.detail[:300]}
    return details


def job_log(job: QboSyncJob, activity_type: str, description: str, details: dict, order: Order | None = None) -> None:
    """An entry in the job's order's activity log (none for an account's or a product's job)."""
    order = order or (Order.objects.filter(pk=job.order_id).first() if job.order_id else None)
    if order is None:
        return
    user = job.created_by
    order_activity_log(
        order=order,
        activity_type=activity_type,
        description=description,
        user=user,
        user_name=user_display_name(user) if user else SYNC_USER_NAME,
        ip=job.ip_address,
        details=details,
    )


def job_actor(job: QboSyncJob, **details) -> Actor:
    """The job as the actor of a document change (documents.store), with the job's details in its entries."""
    return Actor(
        user_name=job_user_name(job), user=job.created_by, ip=job.ip_address, details=job_details(job, **details)
    )
