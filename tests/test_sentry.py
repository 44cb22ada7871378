"""Errors reach Sentry only with SENTRY_DSN, and no event carries a secret: not in an exception's message, not in
a local variable, not in a log line, not in the crashed request's query string. Events are caught by a transport
stub; nothing leaves the machine."""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import sentry_sdk
from django.conf import settings
from django.http import HttpResponse
from django.test import Client
from django.urls import path
from sentry_sdk.transport import Transport

from kadouri.logging import remember_secret
from kadouri.sentry import init_sentry
from qbo_integration.models import QboConnection

REPO = Path(__file__).resolve().parents[1]
# A DSN on the loopback discard port: were anything ever sent, it would go nowhere.
LOOPBACK_DSN = "http://public@127.0.0.1:9/1"


class CapturingTransport(Transport):
    def __init__(self) -> None:
        super().__init__({"dsn": LOOPBACK_DSN})
        self.envelopes = []

    def capture_envelope(self, envelope) -> None:
        self.envelopes.append(envelope)

    @property
    def events(self) -> list[dict]:
        return [e.get_event() for e in self.envelopes if e.get_event() is not None]

    def sent_text(self) -> str:
        return "\n".join(envelope.serialize().decode("utf-8", "replace") for envelope in self.envelopes)


@pytest.fixture
def sentry_events():
    transport = CapturingTransport()
    init_sentry(LOOPBACK_DSN, environment="test", transport=transport)
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: the SDK is inert again for the rest of the suite


def _refresh(access_token: str, refresh_token: str) -> None:
    tokens = {"access": access_token, "refresh": refresh_token}  # noqa: F841  (a local variable the event shows)
    header = f"Authorization: Bearer {access_token}"  # noqa: F841
    raise RuntimeError(f"QuickBooks refused refresh_token {refresh_token}")


def boom(request):
    refresh_token = request.GET.get("refresh_token", "")  # noqa: F841
    raise ValueError("the callback fell over")


urlpatterns = [path("boom/", boom), path("fine/", lambda request: HttpResponse("ok"))]


@pytest.mark.django_db
def test_a_token_in_an_exception_message_or_a_local_variable_never_reaches_the_event(qbo_connected, sentry_events):
    conn = QboConnection.objects.get()
    access, refresh = conn.access_token, conn.refresh_token
    try:
        _refresh(access, refresh)
    except RuntimeError:
        sentry_sdk.capture_exception()
    sentry_sdk.flush()

    (event,) = sentry_events.events
    exception = event["exception"]["values"][-1]
    assert exception["type"] == "RuntimeError"
    assert exception["value"] == "QuickBooks refused refresh_token [redacted]"
    frame = exception["stacktrace"]["frames"][-1]
    assert frame["function"] == "_refresh" and set(frame["vars"]) >= {"tokens", "header"}
    sent = sentry_events.sent_text()
    assert access not in sent and refresh not in sent
    assert settings.SECRET_KEY not in sent and settings.QBO_CLIENT_SECRET not in sent


def _proxy_refusal() -> None:
    header = f"Authorization: Bearer {secrets.token_urlsafe(32)}"  # a credential no part of Kadouri ever handled
    raise ConnectionError(f"proxy answered 407 for {header}")


def test_a_credential_kadouri_never_saw_is_hidden_after_bearer(sentry_events):
    try:
        _proxy_refusal()
    except ConnectionError as refusal:
        sentry_sdk.capture_exception()
        credential = str(refusal).rsplit(" ", 1)[1]  # read after the capture: no local variable of ours holds it
    sentry_sdk.flush()

    assert credential not in sentry_events.sent_text()
    assert "Bearer [redacted]" in sentry_events.events[0]["exception"]["values"][-1]["value"]


def test_an_error_log_line_reaches_sentry_redacted(sentry_events):
    code = "AB11-authorization-code-xyz"
    remember_secret(code)
    logging.getLogger("qbo_integration.connection").error(
        "callback failed for /api/quickbooks/callback?code=%s&state=%s", code, "st8-value-1234"
    )
    sentry_sdk.flush()

    (event,) = sentry_events.events
    assert event["logentry"]["formatted"].startswith("callback failed")
    sent = sentry_events.sent_text()
    assert code not in sent and "st8-value-1234" not in sent


@pytest.mark.urls("tests.test_sentry")
@pytest.mark.django_db
def test_a_crashed_request_is_reported_without_its_oauth_parameters(sentry_events):
    code, state, token = "CODE-secret-98765", "STATE-secret-4321", "rt-never-logged-5555"
    answer = Client(raise_request_exception=False).get(
        "/boom/", {"code": code, "state": state, "refresh_token": token, "realmId": "9130350000000001"}
    )
    sentry_sdk.flush()

    assert answer.status_code == 500
    (event,) = sentry_events.events
    assert event["exception"]["values"][-1]["type"] == "ValueError"
    assert "/boom/" in json.dumps(event)  # the event says which page crashed
    sent = sentry_events.sent_text()
    for secret in (code, state, token):
        assert secret not in sent


def _sentry_active(**env) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "SENTRY_DSN"} | env
    environment["DJANGO_SETTINGS_MODULE"] = "kadouri.test_settings"
    done = subprocess.run(
        [sys.executable, "-c", "import django, sentry_sdk; django.setup(); print(sentry_sdk.get_client().is_active())"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_sentry_starts_only_with_a_dsn():
    assert _sentry_active() == "False"
    assert _sentry_active(SENTRY_DSN=LOOPBACK_DSN) == "True"


def test_the_json_of_an_event_is_what_the_stub_saw(sentry_events):
    """The stub reads the envelope Sentry would send: the checks above look at the bytes, not at a copy."""
    sentry_sdk.capture_message("hello from the test")
    sentry_sdk.flush()
    assert json.loads(sentry_events.envelopes[0].items[0].get_bytes())["message"] == "hello from the test"
