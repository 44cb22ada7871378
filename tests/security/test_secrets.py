"""No token, authorization code, client secret or verifier token in plaintext: not in any table's raw
columns, not in the logs, not in the admin, not in any page or JSON answer — after a real connect flow
through the emulator, a refresh, failures and a disconnect."""

from __future__ import annotations

import base64
import logging
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib import admin
from django.db import connection as db
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from qbo_integration.client.errors import QboError
from qbo_integration.connection import calls
from qbo_integration.models import QboConnection
from qbo_integration.testing import REALM_ID

from .conftest import add_integration_rows, build_world, response_text
from .test_bad_input import _start
from .test_url_crawler import ALL_PATTERNS, fill

pytestmark = pytest.mark.django_db


class Vault:
    """Every secret value seen during the run (tokens rotate, so old ones count too)."""

    def __init__(self, emu) -> None:
        self.emu = emu
        self.values: dict[str, str] = {
            "client secret": settings.QBO_CLIENT_SECRET,
            "client secret (Basic auth)": base64.b64encode(
                f"{settings.QBO_CLIENT_ID}:{settings.QBO_CLIENT_SECRET}".encode()
            ).decode(),
            "verifier token": settings.QBO_WEBHOOK_VERIFIER_TOKEN,
            "SECRET_KEY": settings.SECRET_KEY,
        }

    def note(self, name: str, value: str | None) -> None:
        if value and len(value) >= 8 and value not in self.values.values():
            self.values[f"{name} #{len(self.values)}"] = value

    def note_connection(self) -> None:
        for conn in QboConnection.objects.all():
            self.note("access token", conn.access_token)
            self.note("refresh token", conn.refresh_token)
        oauth = getattr(self.emu, "oauth", None)
        for store, name in (
            (getattr(oauth, "_access", {}), "access token"),
            (getattr(oauth, "_refresh", {}), "refresh token"),
            (getattr(oauth, "_codes", {}), "authorization code"),
        ):
            for token in list(store):
                self.note(name, token)

    def found_in(self, text: str) -> list[str]:
        return [name for name, value in self.values.items() if value in text]


@pytest.fixture
def run(qbo, admin_user, staff_user, caplog):
    """Connect through the consent page, refresh, fail a refresh, reconnect, call the API, and keep the logs."""
    caplog.set_level(logging.DEBUG)
    vault = Vault(qbo)
    admin = Client()
    admin.force_login(admin_user)

    params = _start(admin)  # the real consent page of the emulator
    vault.note("authorization code", params["code"])
    assert admin.get("/api/quickbooks/callback", params).status_code == 302
    conn = QboConnection.objects.get(realm_id=REALM_ID)
    assert conn.state == QboConnection.State.CONNECTED
    vault.note_connection()

    QboConnection.objects.update(access_expires_at=timezone.now() - timedelta(seconds=1))
    calls.company_info(REALM_ID)  # refresh with rotation
    vault.note_connection()

    qbo.disconnect(REALM_ID)  # the company revoked us at Intuit: the next refresh gets invalid_grant
    QboConnection.objects.update(access_expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(QboError):
        calls.company_info(REALM_ID)
    assert QboConnection.objects.get().state == QboConnection.State.NEEDS_RECONNECT

    params = _start(admin)  # reconnect, then a refused code
    vault.note("authorization code", params["code"])
    admin.get("/api/quickbooks/callback", params)
    vault.note_connection()
    bad = _start(admin)
    vault.note("authorization code", bad["code"])
    admin.get("/api/quickbooks/callback", bad | {"code": bad["code"][::-1]})  # a wrong code: connect_failed
    vault.note("authorization code", bad["code"][::-1])
    world = build_world(staff_user)
    add_integration_rows(world)
    vault.note_connection()
    return vault, admin, world, caplog


def test_it_encrypts_tokens_and_stores_no_secret_in_any_table(run):
    vault, *_ = run
    assert sum(name.startswith(("access token", "refresh token")) for name in vault.values) >= 6
    assert sum(name.startswith("authorization code") for name in vault.values) >= 3
    leaks = []
    with db.cursor() as cursor:
        for table in db.introspection.table_names():
            cursor.execute(f"SELECT * FROM {db.ops.quote_name(table)}")
            for row in cursor.fetchall():
                text = " ".join(str(v) for v in row)
                leaks += [f"{table}: {name}" for name in vault.found_in(text)]
    assert not leaks, leaks
    with db.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM quickbooks_tokens")
        for access, refresh in cursor.fetchall():
            assert access.startswith("gAAAA") and refresh.startswith("gAAAA")  # Fernet tokens


def test_it_logs_no_secret(run):
    vault, _, _, caplog = run
    records = caplog.get_records("setup") + caplog.records
    assert len(records) > 3  # the flow did log (connected, refreshed, reconnect needed, …)
    leaks = []
    for record in records:
        if record.name.startswith("qbo_integration.emulator"):
            continue  # the fake Intuit, not Kadouri
        text = f"{record.getMessage()} {record.exc_text or ''} {record.args!r}"
        leaks += [f"{record.name}: {name}" for name in vault.found_in(text)]
    assert not leaks, leaks


def test_it_shows_no_secret_in_the_admin(run):
    vault, browser, world, _ = run
    leaks, visited = [], 0
    for model in admin.site._registry:
        opts = model._meta
        urls = [reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")]
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        for url in urls:
            response = browser.get(url)
            assert response.status_code in (200, 302, 403), url
            visited += 1
            leaks += [f"{url}: {name}" for name in vault.found_in(response_text(response))]
    assert not leaks, leaks
    assert visited >= len(admin.site._registry) + 10


def test_it_shows_no_secret_in_any_page_or_json_answer(run):
    vault, admin, world, _ = run
    leaks = []
    for pattern in ALL_PATTERNS:
        path = fill(pattern)
        if pattern.name in ("logout", "admin:logout") or pattern.is_admin:
            continue  # logout is POST-only; the admin has its own test above
        response = admin.get(path)
        leaks += [f"GET {path}: {name}" for name in vault.found_in(response_text(response))]
    status = admin.get("/api/quickbooks/status").json()
    assert status["realmId"] == REALM_ID
    assert not leaks, leaks
