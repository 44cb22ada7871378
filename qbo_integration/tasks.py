"""django-q2 entry points: thin wrappers that call services. django-q2 runs each task once; the job rows, the
pushes and the inbox rows own their retries."""

import logging
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from . import health, reconcile
from .bulk.push import bulk_push_run
from .client.errors import QboError
from .connection.vault import needs_refresh, refresh_connection
from .inbound import catchup, inbox
from .models import QboConnection
from .outbound.runners import qbo_job_run, qbo_jobs_process_due

log = logging.getLogger(__name__)

# Refreshing daily keeps the 100-day rolling refresh token alive on a quiet installation
# (docs/quickbooks/oauth.md#token-lifetimes-and-rotation).
PROACTIVE_REFRESH_AFTER = timedelta(hours=20)


def refresh_tokens_proactively() -> int:
    refreshed = 0
    cutoff = timezone.now() - PROACTIVE_REFRESH_AFTER
    for conn in QboConnection.objects.filter(state=QboConnection.State.CONNECTED):
        last = conn.last_refreshed_at or conn.connected_at
        if last and last > cutoff and not needs_refresh(conn):
            continue
        try:
            refresh_connection(conn.pk, force=True)
            refreshed += 1
        except QboError as e:
            log.warning("proactive refresh failed for realm %s: %s", conn.realm_id, e.kind)
    return refreshed


def worker_heartbeat() -> None:
    """Scheduled every minute: /healthz and the doctor read when a worker last ran it."""
    health.heartbeat_beat()


# --- outbound: order documents, accounts and products, the bulk push ------------------------------------


def qbo_run_job(job_id) -> str:
    return qbo_job_run(job_id=int(job_id)).state


def qbo_drain_due_jobs() -> int:
    return qbo_jobs_process_due(limit=100)


def qbo_bulk_push_run(bulk_id) -> str:
    return bulk_push_run(bulk_id=int(bulk_id)).state


# --- inbound (webhooks, CDC catch-up, reconciliation) ---------------------------------------------------


def qbo_inbox_process(realm_id) -> int:
    return inbox.inbox_process_realm(realm_id=str(realm_id))


def qbo_inbox_process_due() -> int:
    return inbox.inbox_process_due()


def qbo_catchup_all() -> list[int]:
    return [run.pk for run in catchup.catchup_all()]


def qbo_catchup_realm(realm_id, full=False) -> int:
    return catchup.catchup_run(realm_id=str(realm_id), full=bool(full)).pk


def _user(user_id):
    return get_user_model().objects.filter(pk=user_id).first() if user_id else None


def qbo_reconcile_run(user_id=None) -> int:
    return reconcile.reconcile_run(by=_user(user_id)).pk


def qbo_reconcile_fix(order_id, action, run_id=None, user_id=None) -> str:
    if action == "take_quickbooks":
        return reconcile.reconcile_take_quickbooks(order_id=int(order_id), run_id=run_id)
    if action == "push_broker":  # the order's broker document (docs/quickbooks/beyond.md#the-brokers-own-books)
        return reconcile.reconcile_push_broker(order_id=int(order_id), by=_user(user_id), run_id=run_id)
    return reconcile.reconcile_push_kadouri(order_id=int(order_id), by=_user(user_id), run_id=run_id)
