"""How the installation is doing, as `/healthz` and `manage.py qbo_doctor` report it: the database, the worker's
heartbeat, the webhook inbox's backlog and the QuickBooks connection. A handful of indexed queries; never a call to
QuickBooks (the doctor makes that one itself).

The worker's heartbeat is a django-q2 task scheduled every minute (and sent once when `manage.py qbo_worker`
starts): the time its last run finished, as django-q2 records every successful task, proves that the scheduler,
the queue and a worker process all work. Each beat deletes the older beats' records, so they never crowd the
task history.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Count, Min
from django.utils import timezone
from django_q.models import Schedule, Success
from django_q.tasks import async_task

from .models import QboConnection, QboWebhookEvent

HEARTBEAT_TASK = "qbo_integration.tasks.worker_heartbeat"
# The beats' django-q2 group (the schedule's name, as django-q2 groups a schedule's runs): their look-up then uses
# django-q2's index on successful tasks (group, name, func).
HEARTBEAT_GROUP = "kadouri-worker-heartbeat"
HEARTBEATS_KEPT = 3
READERS = ("worker", "inbox", "quickbooks")  # the checks after the database's, which all read it


# --- the worker's heartbeat ------------------------------------------------------------------------------


def _beats():
    return Success.objects.filter(group=HEARTBEAT_GROUP, func=HEARTBEAT_TASK)


def heartbeat_beat() -> None:
    """Run by the worker: keeps the newest beats' records (this beat's is saved once it returns)."""
    keep = list(_beats().order_by("-stopped").values_list("pk", flat=True)[: HEARTBEATS_KEPT - 1])
    _beats().exclude(pk__in=keep).delete()


def heartbeat_schedule_ensure() -> None:
    """Idempotent; `manage.py qbo_worker` calls it at start, so every installation that runs a worker beats. (Two
    workers starting at the same instant could both create it: two beats a minute, which harms nothing.)"""
    Schedule.objects.get_or_create(
        func=HEARTBEAT_TASK,
        defaults={"name": HEARTBEAT_GROUP, "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1},
    )


def heartbeat_send_now() -> None:
    """One beat at once: /healthz turns healthy seconds after the worker starts, not after its first schedule."""
    async_task(HEARTBEAT_TASK, group=HEARTBEAT_GROUP)


def heartbeat_age() -> float | None:
    """Seconds since a worker last finished a beat; None when none ever did."""
    last = _beats().order_by("-stopped").values_list("stopped", flat=True).first()
    return None if last is None else max((timezone.now() - last).total_seconds(), 0.0)


# --- the checks ----------------------------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    ok: bool | None  # None: not checked
    problem: str = ""  # plain words, for a person; empty when ok
    figures: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"ok": self.ok, **({"problem": self.problem} if self.problem else {}), **self.figures}


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as e:
        return Check("database", False, f"the database cannot be reached ({type(e).__name__})")
    return Check("database", True)


def check_worker() -> Check:
    limit = settings.HEALTHZ_WORKER_MAX_AGE_SECONDS
    age = heartbeat_age()
    figures = {"heartbeat_age_seconds": None if age is None else round(age), "max_age_seconds": limit}
    if age is None:
        return Check("worker", False, "no worker has ever reported: is `manage.py qbo_worker` running?", figures)
    if age > limit:
        return Check("worker", False, f"the worker's last heartbeat is {round(age)} s old (limit {limit} s)", figures)
    return Check("worker", True, figures=figures)


def check_inbox() -> Check:
    """Webhook events waiting (pending, or being processed) and how long the oldest has waited since it arrived."""
    max_pending, max_age = settings.HEALTHZ_INBOX_MAX_PENDING, settings.HEALTHZ_INBOX_MAX_AGE_SECONDS
    waiting = QboWebhookEvent.objects.filter(
        status__in=(QboWebhookEvent.Status.PENDING, QboWebhookEvent.Status.PROCESSING)
    ).aggregate(count=Count("id"), oldest=Min("received_at"))
    age = None if waiting["oldest"] is None else round((timezone.now() - waiting["oldest"]).total_seconds())
    figures = {
        "pending": waiting["count"],
        "oldest_pending_age_seconds": age,
        "max_pending": max_pending,
        "max_age_seconds": max_age,
    }
    problems = []
    if waiting["count"] > max_pending:
        problems.append(f"{waiting['count']} webhook events are waiting (limit {max_pending})")
    if age is not None and age > max_age:
        problems.append(f"the oldest waiting webhook event arrived {age} s ago (limit {max_age} s)")
    return Check("inbox", not problems, "; ".join(problems), figures)


def live_connection() -> QboConnection | None:
    """The connection in use (as connection/vault.py picks it) without its tokens: a health check must answer even
    when QBO_TOKEN_KEYS cannot decrypt them (the doctor says so)."""
    live = QboConnection.objects.exclude(state=QboConnection.State.DISCONNECTED).order_by("-connected_at")
    return live.defer("access_token", "refresh_token").first()


def quickbooks_state(conn: QboConnection | None) -> str:
    """connected / needs_reconnect / none."""
    if conn is None:
        return "none"
    expired = conn.refresh_expires_at is not None and conn.refresh_expires_at <= timezone.now()
    if conn.state == QboConnection.State.NEEDS_RECONNECT or expired:
        return "needs_reconnect"
    return "connected"


def check_quickbooks() -> Check:
    """No connection yet is not a failure (an admin connects when ready); one that needs reconnecting is: nothing
    reaches QuickBooks until an admin signs in again."""
    state = quickbooks_state(live_connection())
    if state == "needs_reconnect":
        return Check(
            "quickbooks",
            False,
            "QuickBooks needs reconnecting: an admin signs in again under Settings",
            {"state": state},
        )
    return Check("quickbooks", True, figures={"state": state})


def health_checks() -> list[Check]:
    """Every check; when the database cannot be reached the others, which all read it, are not run (ok: None)."""
    database = check_database()
    if not database.ok:
        return [database, *(Check(name, None, "not checked: the database cannot be reached") for name in READERS)]
    return [database, check_worker(), check_inbox(), check_quickbooks()]


def health_report() -> tuple[bool, dict]:
    """/healthz's answer: healthy or not, and every check's figures with the failing ones named."""
    checks = health_checks()
    failing = [check.name for check in checks if check.ok is False]
    body = {"status": "failing" if failing else "ok", "failing": failing}
    if failing:  # the project's JSON refusals carry "error"
        body["error"] = "Failing: " + "; ".join(f"{c.name} ({c.problem})" for c in checks if c.ok is False)
    body["checks"] = {check.name: check.as_json() for check in checks}
    return not failing, body
