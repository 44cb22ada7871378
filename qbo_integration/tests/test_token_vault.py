"""The token vault and the client chokepoint against the emulator: refresh, rotation, locking, failures."""

import logging
import threading
import time
from datetime import timedelta

import pytest
import requests
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection as db_connection
from django.db import connections
from django.utils import timezone

from qbo_integration.checks import quickbooks_settings
from qbo_integration.client import errors, http
from qbo_integration.connection import calls, vault
from qbo_integration.models import IntegrationLog, QboConnection
from qbo_integration.tasks import refresh_tokens_proactively
from qbo_integration.testing import REALM_ID, point_settings_at, store_connection

TOKEN_PATH = "/oauth2/v1/tokens/bearer"
HOUR = 3600


def expire_access_token(conn: QboConnection) -> None:
    QboConnection.objects.filter(pk=conn.pk).update(access_expires_at=timezone.now() - timedelta(seconds=1))


def token_calls(emu) -> int:
    return emu.count_requests(method="POST", path=TOKEN_PATH)


@pytest.mark.django_db
def test_it_calls_quickbooks_without_refreshing_a_fresh_token(qbo_connected):
    info = calls.company_info(REALM_ID)

    assert info["CompanyName"] == "Kadouri Demo Produce LLC"
    assert token_calls(qbo_connected) == 0
    assert QboConnection.objects.get().last_success_at is not None


@pytest.mark.django_db
def test_it_refreshes_an_expiring_token_and_stores_the_rotated_one(qbo_connected):
    conn = QboConnection.objects.get()
    old_access, old_refresh = conn.access_token, conn.refresh_token
    QboConnection.objects.filter(pk=conn.pk).update(access_expires_at=timezone.now() + timedelta(minutes=4))

    calls.company_info(REALM_ID)

    conn.refresh_from_db()
    assert token_calls(qbo_connected) == 1
    assert conn.access_token != old_access and conn.refresh_token != old_refresh
    assert conn.access_expires_at > timezone.now() + timedelta(minutes=50)
    assert IntegrationLog.objects.filter(event="refreshed").count() == 1


@pytest.mark.django_db
def test_it_never_uses_the_previous_refresh_token_again(qbo_connected):
    conn = QboConnection.objects.get()
    first_refresh = conn.refresh_token
    expire_access_token(conn)
    calls.company_info(REALM_ID)

    # the previous refresh token is now dead at Intuit (docs/quickbooks/oauth.md#token-lifetimes-and-rotation)
    qbo_connected.advance(25 * HOUR)
    expire_access_token(conn)
    calls.company_info(REALM_ID)

    sent = [r for r in qbo_connected.requests(method="POST", path=TOKEN_PATH)]
    assert len(sent) == 2
    assert QboConnection.objects.get().state == "connected"
    assert first_refresh != QboConnection.objects.get().refresh_token


def concurrent_calls(n: int, expected: tuple[type[Exception], ...] = ()) -> tuple[list, list[str], list[str]]:
    """`n` callers needing QuickBooks at the same instant: the company names they got, the messages of the
    `expected` errors, and any other error."""
    start = threading.Barrier(n)
    results, failures, other_errors = [], [], []

    def call():
        try:
            start.wait(timeout=30)
            results.append(calls.company_info(REALM_ID)["CompanyName"])
        except expected as e:
            failures.append(e.message)
        except Exception as e:  # noqa: BLE001 — collected and asserted by the caller
            other_errors.append(repr(e))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, failures, other_errors


@pytest.mark.django_db(transaction=True)
def test_it_refreshes_once_for_ten_concurrent_callers(qbo_connected):
    conn = QboConnection.objects.get()
    expire_access_token(conn)
    results, _, errors = concurrent_calls(10)

    assert errors == []
    assert len(results) == 10
    assert token_calls(qbo_connected) == 1, db_connection.vendor
    assert QboConnection.objects.get().state == "connected"


@pytest.mark.django_db(transaction=True)
def test_it_tries_a_revoked_refresh_token_once_for_five_concurrent_callers(qbo_connected):
    conn = QboConnection.objects.get()
    qbo_connected.disconnect(REALM_ID)  # the user disconnected the app inside QuickBooks
    expire_access_token(conn)
    # The refused refresh answers slowly, so every other caller is already waiting for the row when it fails.
    qbo_connected.add_fault("slow", method="POST", path=TOKEN_PATH, count=1, delay=0.5)
    _, failures, other_errors = concurrent_calls(5, (errors.QboAuthError,))

    assert other_errors == []
    assert len(failures) == 5 and all("reconnect" in message.lower() for message in failures)
    assert token_calls(qbo_connected) == 1, db_connection.vendor
    assert QboConnection.objects.get().state == "needs_reconnect"
    assert IntegrationLog.objects.filter(event="reconnect_needed").count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_tries_an_unreachable_sign_in_service_once_for_five_concurrent_callers(qbo_emulator_server, settings):
    emu = qbo_emulator_server
    point_settings_at(emu, settings)
    expire_access_token(store_connection(emu))
    # The first refresh times out; had anyone tried again, the emulator would have answered at once.
    settings.QBO_HTTP_TIMEOUT = 0.4
    emu.add_fault("slow", method="POST", path=TOKEN_PATH, count=1, delay=1.5)
    _, failures, other_errors = concurrent_calls(5, (errors.QboTransientError,))

    deadline = time.monotonic() + 10
    while token_calls(emu) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)  # the emulator logs the timed-out request only once its slow answer is written

    assert other_errors == []
    assert len(failures) == 5 and all("try again shortly" in message for message in failures)
    assert token_calls(emu) == 1, db_connection.vendor
    assert QboConnection.objects.get().state == "connected"  # a network failure never forces a reconnect
    assert IntegrationLog.objects.filter(event="refresh_failed").count() == 1


@pytest.mark.django_db
def test_it_needs_reconnect_when_the_refresh_token_is_revoked(qbo_connected, staff_client, admin_client):
    conn = QboConnection.objects.get()
    qbo_connected.disconnect(REALM_ID)  # the user disconnected the app inside QuickBooks
    expire_access_token(conn)

    with pytest.raises(errors.QboAuthError) as refused:
        calls.company_info(REALM_ID)
    with pytest.raises(errors.QboAuthError) as again:
        calls.company_info(REALM_ID)

    assert QboConnection.objects.get().state == "needs_reconnect"
    assert "Reconnect" in str(refused.value) and "Reconnect" in str(again.value)
    assert token_calls(qbo_connected) == 1  # the second attempt did not even try
    assert "Reconnect QuickBooks" in admin_client.get("/").content.decode()
    assert "Ask an admin to reconnect" in staff_client.get("/accounts/").content.decode()
    assert IntegrationLog.objects.filter(event="reconnect_needed").exists()


@pytest.mark.django_db
def test_it_refreshes_once_and_replays_after_a_401(qbo_connected):
    qbo_connected.add_fault("401", method="GET", path=r"/companyinfo/", count=1)

    info = calls.company_info(REALM_ID)

    assert info["CompanyName"] == "Kadouri Demo Produce LLC"
    assert token_calls(qbo_connected) == 1
    assert qbo_connected.count_requests(method="GET", path=f"/v3/company/{REALM_ID}/companyinfo/{REALM_ID}") == 2


@pytest.mark.django_db
def test_it_pauses_the_whole_company_after_a_429(qbo_connected):
    qbo_connected.add_fault("429", method="GET", path=r"/companyinfo/", count=1)

    with pytest.raises(errors.QboThrottledError) as throttled:
        calls.company_info(REALM_ID)
    sent_before = qbo_connected.count_requests(path=f"/v3/company/{REALM_ID}/")
    with pytest.raises(errors.QboThrottledError):
        calls.read("Customer", "1", realm_id=REALM_ID)

    conn = QboConnection.objects.get()
    assert conn.paused_until > timezone.now() + timedelta(seconds=30)
    assert throttled.value.code == "3001" and throttled.value.retry_at == conn.paused_until
    assert qbo_connected.count_requests(path=f"/v3/company/{REALM_ID}/") == sent_before
    assert IntegrationLog.objects.filter(event="throttled").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("retry_after, pause_seconds", [("120", 120), ("²", None), ("١٢٠", None), ("", None)])
def test_it_reads_only_ascii_digits_in_retry_after(qbo_connected, retry_after, pause_seconds):
    conn = QboConnection.objects.get()
    answer = requests.Response()  # what QuickBooks' gateway sent with its 429
    answer.status_code, answer.headers["Retry-After"] = 429, retry_after

    until = vault.pause_company(conn, http.throttle_until(answer))

    expected = pause_seconds or http.DEFAULT_THROTTLE_PAUSE.total_seconds()  # unreadable: the default pause
    assert abs((until - timezone.now()).total_seconds() - expected) < 5
    assert QboConnection.objects.get().paused_until == until


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fault, error_class",
    [
        ("500", errors.QboTransientError),
        ("503", errors.QboTransientError),
        ("xml", errors.QboThrottledError),
        ("drop", errors.QboTransientError),
    ],
)
def test_it_classifies_faults_by_code_not_by_exception_class(qbo_connected, fault, error_class):
    qbo_connected.add_fault(fault, method="GET", path=r"/companyinfo/", count=1)

    with pytest.raises(error_class) as failure:
        calls.company_info(REALM_ID)

    assert failure.value.message and "Traceback" not in failure.value.message
    assert QboConnection.objects.get().last_error == failure.value.message


@pytest.mark.django_db
def test_it_classifies_quickbooks_business_faults(qbo_connected):
    with pytest.raises(errors.QboNotFoundError) as missing:
        calls.read("Customer", "999999", realm_id=REALM_ID)
    created = calls.create("Customer", {"DisplayName": "Acme"}, request_id="r-1")
    with pytest.raises(errors.QboDuplicateError) as duplicate:
        calls.create("Customer", {"DisplayName": "acme"}, request_id="r-2")
    calls.update(
        "Customer",
        {"Id": created["Id"], "SyncToken": created["SyncToken"], "sparse": True, "Notes": "x"},
        request_id="r-3",
    )
    with pytest.raises(errors.QboStaleError) as stale:
        calls.update(
            "Customer",
            {"Id": created["Id"], "SyncToken": created["SyncToken"], "sparse": True, "Notes": "y"},
            request_id="r-4",
        )

    assert (missing.value.code, duplicate.value.code, stale.value.code) == ("610", "6240", "5010")
    assert "already has a record" in duplicate.value.message


@pytest.mark.django_db
def test_it_refuses_calls_when_not_connected(qbo):
    with pytest.raises(errors.QboNotConnected) as refused:
        calls.company_info(REALM_ID)

    assert "not connected" in str(refused.value)
    assert qbo.count_requests() == 0


@pytest.mark.django_db
def test_it_stores_tokens_encrypted_at_rest(qbo_connected):
    conn = QboConnection.objects.get()

    with db_connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM quickbooks_tokens")
        raw_access, raw_refresh = cursor.fetchone()

    assert conn.access_token not in raw_access and conn.refresh_token not in raw_refresh
    assert raw_access.startswith("gAAAA")  # Fernet ciphertext


@pytest.mark.django_db
def test_it_rotates_encryption_keys(qbo_connected, settings):
    conn = QboConnection.objects.get()
    old_key, new_key = settings.QBO_TOKEN_KEYS[0], Fernet.generate_key().decode()
    settings.QBO_TOKEN_KEYS = [new_key, old_key]
    assert QboConnection.objects.get().refresh_token == conn.refresh_token  # old key still decrypts

    call_command("rotate_qbo_token_keys")
    settings.QBO_TOKEN_KEYS = [new_key]

    assert QboConnection.objects.get().refresh_token == conn.refresh_token
    assert QboConnection.objects.get().access_token == conn.access_token


@pytest.mark.django_db
def test_it_keeps_tokens_and_secrets_out_of_logs(qbo_connected, caplog, settings):
    caplog.set_level(logging.DEBUG)
    conn = QboConnection.objects.get()
    secrets = [conn.access_token, conn.refresh_token, settings.QBO_CLIENT_SECRET]
    expire_access_token(conn)
    calls.company_info(REALM_ID)
    conn.refresh_from_db()
    qbo_connected.add_fault("500", method="GET", path=r"/companyinfo/", count=1)
    with pytest.raises(errors.QboTransientError):
        calls.company_info(REALM_ID)

    logged = caplog.text + " ".join(IntegrationLog.objects.values_list("message", flat=True))
    for secret in secrets + [conn.access_token, conn.refresh_token]:
        assert secret not in logged


@pytest.mark.django_db
def test_it_refreshes_proactively_so_a_quiet_install_keeps_its_token(qbo_connected):
    QboConnection.objects.update(connected_at=timezone.now() - timedelta(days=2))

    assert refresh_tokens_proactively() == 1
    assert refresh_tokens_proactively() == 0
    assert token_calls(qbo_connected) == 1


def test_it_fails_the_system_check_when_settings_are_missing(settings):
    settings.QBO_CLIENT_ID = ""
    settings.QBO_TOKEN_KEYS = ["not-a-key"]
    settings.QBO_ENVIRONMENT = "staging"

    ids = {problem.id for problem in quickbooks_settings(None)}

    assert {"qbo.E001", "qbo.E002", "qbo.E005"} <= ids


def test_it_points_every_url_at_intuit_outside_the_emulator(settings):
    settings.QBO_ENVIRONMENT = "production"

    urls = http.endpoints()

    assert urls.api_base == "https://quickbooks.api.intuit.com/v3"
    assert urls.token == "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
    assert urls.authorization == "https://appcenter.intuit.com/connect/oauth2"


@pytest.mark.django_db
def test_it_reports_an_unreachable_sign_in_service_as_transient(qbo_connected, settings):
    conn = QboConnection.objects.get()
    expire_access_token(conn)
    settings.QBO_EMULATOR_URL = "http://127.0.0.1:9"  # nothing listens on the discard port

    with pytest.raises(errors.QboTransientError) as failure:
        calls.company_info(REALM_ID)

    assert "could not be reached" in failure.value.message
    assert QboConnection.objects.get().state == "connected"  # a network error never forces a reconnect
    assert IntegrationLog.objects.filter(event="refresh_failed").exists()


@pytest.mark.django_db
def test_it_shows_an_unreachable_sign_in_service_on_the_callback(admin_client, qbo, settings):
    settings.QBO_EMULATOR_URL = "http://127.0.0.1:9"

    page = admin_client.get("/api/quickbooks/connect", follow=True)

    assert page.status_code == 200
    assert "could not be reached" in " ".join(str(m) for m in page.context["messages"])


@pytest.mark.django_db
def test_it_warns_admins_30_days_before_the_hard_expiry(qbo_connected, admin_client, staff_client):
    QboConnection.objects.update(hard_expires_at=timezone.now() + timedelta(days=29))

    home = admin_client.get("/").content.decode()
    settings_page = admin_client.get("/settings/quickbooks/").content.decode()

    assert "reaches its 5-year limit" in home and "Reconnect QuickBooks" in home
    assert "Reconnect within 30 days" in settings_page
    assert "5-year limit" not in staff_client.get("/").content.decode()


@pytest.mark.django_db
def test_it_does_not_warn_while_the_hard_expiry_is_far(qbo_connected, admin_client):
    QboConnection.objects.update(hard_expires_at=timezone.now() + timedelta(days=31))

    assert "5-year limit" not in admin_client.get("/").content.decode()
    assert "Reconnect within 30 days" not in admin_client.get("/settings/quickbooks/").content.decode()


def test_it_warns_when_dead_job_reclaim_is_not_above_the_task_timeout(settings):
    from qbo_integration.checks import quickbooks_job_timing

    settings.QBO_JOB_STUCK_AFTER_SECONDS = 600

    assert [p.id for p in quickbooks_job_timing(None)] == ["qbo.W004"]
    settings.QBO_JOB_STUCK_AFTER_SECONDS = 1200
    assert quickbooks_job_timing(None) == []
