"""GET /healthz: no log-in, no secrets; 200 when the database, the worker's heartbeat, the webhook inbox and the
QuickBooks connection are fine, 503 naming each failing check. Thresholds come from settings (env)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone
from django_q.models import Schedule, Success

from qbo_integration.health import (
    HEARTBEAT_GROUP,
    HEARTBEAT_TASK,
    HEARTBEATS_KEPT,
    heartbeat_schedule_ensure,
    heartbeat_send_now,
)
from qbo_integration.models import QboConnection, QboWebhookEvent
from qbo_integration.testing import REALM_ID

pytestmark = pytest.mark.django_db


def _get(client=None):
    answer = (client or Client()).get("/healthz")
    return answer, answer.json()


def _beat(seconds_ago: float = 0) -> None:
    heartbeat_send_now()  # django-q2 runs it inline in tests, and records it as the worker does
    Success.objects.filter(func=HEARTBEAT_TASK).update(stopped=timezone.now() - timedelta(seconds=seconds_ago))


def _event(n: int, *, received_ago: float = 0, status=QboWebhookEvent.Status.PENDING) -> QboWebhookEvent:
    event = QboWebhookEvent.objects.create(
        dedupe_key=f"test-{n}", source="legacy", realm_id=REALM_ID, entity="Invoice", entity_id=str(n),
        operation="Update", status=status,
    )  # fmt: skip
    QboWebhookEvent.objects.filter(pk=event.pk).update(received_at=timezone.now() - timedelta(seconds=received_ago))
    return event


@pytest.fixture
def healthy(qbo_connected):
    _beat(seconds_ago=20)
    return qbo_connected


def test_a_healthy_installation_answers_200_with_every_figure_and_no_secret(healthy):
    _event(1, received_ago=30)
    _event(2, status=QboWebhookEvent.Status.DONE, received_ago=9999)
    conn = QboConnection.objects.get()

    answer, body = _get()

    assert answer.status_code == 200 and answer["Content-Type"] == "application/json"
    assert "no-store" in answer["Cache-Control"]
    assert body["status"] == "ok" and body["failing"] == [] and "error" not in body
    checks = body["checks"]
    assert checks["database"] == {"ok": True}
    assert checks["worker"]["ok"] and 15 <= checks["worker"]["heartbeat_age_seconds"] <= 60
    assert checks["inbox"] == {
        "ok": True, "pending": 1, "oldest_pending_age_seconds": checks["inbox"]["oldest_pending_age_seconds"],
        "max_pending": 500, "max_age_seconds": 3600,
    }  # fmt: skip
    assert 30 <= checks["inbox"]["oldest_pending_age_seconds"] < 90
    assert checks["quickbooks"] == {"ok": True, "state": "connected"}
    text = answer.content.decode()
    for secret in (conn.access_token, conn.refresh_token, conn.realm_id, conn.company_name):
        assert secret not in text


def test_no_worker_heartbeat_ever_is_a_failing_worker(qbo_connected):
    answer, body = _get()

    assert answer.status_code == 503
    assert body["failing"] == ["worker"]
    assert body["checks"]["worker"]["heartbeat_age_seconds"] is None
    assert "qbo_worker" in body["checks"]["worker"]["problem"] and "worker" in body["error"]


def test_a_stale_heartbeat_fails_past_the_threshold_from_settings(healthy, settings):
    _beat(seconds_ago=400)
    answer, body = _get()
    assert answer.status_code == 503 and body["failing"] == ["worker"]
    assert body["checks"]["worker"]["problem"].startswith("the worker's last heartbeat is 400 s old (limit 300 s)")

    settings.HEALTHZ_WORKER_MAX_AGE_SECONDS = 600
    answer, body = _get()
    assert answer.status_code == 200 and body["checks"]["worker"]["max_age_seconds"] == 600


def test_an_inbox_backlog_over_the_limit_fails(healthy, settings):
    settings.HEALTHZ_INBOX_MAX_PENDING = 3
    for n in range(4):
        _event(n)

    answer, body = _get()

    assert answer.status_code == 503 and body["failing"] == ["inbox"]
    assert body["checks"]["inbox"]["pending"] == 4
    assert body["checks"]["inbox"]["problem"] == "4 webhook events are waiting (limit 3)"


def test_an_event_waiting_too_long_fails_the_inbox(healthy, settings):
    settings.HEALTHZ_INBOX_MAX_AGE_SECONDS = 600
    _event(1, received_ago=601, status=QboWebhookEvent.Status.PROCESSING)

    answer, body = _get()

    assert answer.status_code == 503 and body["failing"] == ["inbox"]
    assert body["checks"]["inbox"]["problem"].startswith("the oldest waiting webhook event arrived 60")


def test_a_connection_that_needs_reconnecting_fails(healthy):
    QboConnection.objects.update(state=QboConnection.State.NEEDS_RECONNECT)

    answer, body = _get()

    assert answer.status_code == 503 and body["failing"] == ["quickbooks"]
    assert body["checks"]["quickbooks"]["state"] == "needs_reconnect"


def test_an_expired_refresh_token_is_a_connection_that_needs_reconnecting(healthy):
    QboConnection.objects.update(refresh_expires_at=timezone.now() - timedelta(minutes=1))

    answer, body = _get()

    assert answer.status_code == 503 and body["checks"]["quickbooks"]["state"] == "needs_reconnect"


def test_no_connection_yet_is_no_failure(db):
    _beat()
    answer, body = _get()
    assert answer.status_code == 200 and body["checks"]["quickbooks"] == {"ok": True, "state": "none"}

    QboConnection.objects.create(realm_id=REALM_ID, environment="emulator", state=QboConnection.State.DISCONNECTED)
    assert _get()[1]["checks"]["quickbooks"]["state"] == "none"


def test_an_unreachable_database_fails_and_the_checks_reading_it_are_not_run(db, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    answer, body = _get()

    assert answer.status_code == 503 and body["failing"] == ["database"]
    assert body["checks"]["database"] == {"ok": False, "problem": "the database cannot be reached (OperationalError)"}
    assert body["checks"]["worker"] == {"ok": None, "problem": "not checked: the database cannot be reached"}


def test_it_needs_no_log_in_is_not_redirected_to_https_and_takes_only_get(healthy, settings, staff_client):
    settings.SECURE_SSL_REDIRECT = True
    assert Client().get("/healthz").status_code == 200  # plain HTTP, as a load balancer probes
    assert Client().get("/login/").status_code == 301  # everything else still goes to https
    assert staff_client.get("/healthz").status_code == 200
    assert Client().post("/healthz").status_code == 405


def test_the_heartbeat_keeps_only_its_newest_records_and_is_scheduled_once(db):
    for _ in range(6):
        heartbeat_send_now()
    heartbeat_schedule_ensure()
    heartbeat_schedule_ensure()

    assert Success.objects.filter(func=HEARTBEAT_TASK, group=HEARTBEAT_GROUP).count() == HEARTBEATS_KEPT
    (schedule,) = Schedule.objects.filter(func=HEARTBEAT_TASK)
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (Schedule.MINUTES, 1, -1)
